import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The ledger key's file in the data folder (created on first start, mode 0600). */
export const LEDGER_KEY_FILE = 'ledger-key';

/** Raised when the ledger key is missing, malformed, or readable by others. */
export class LedgerKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerKeyError';
  }
}

function parseKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0 ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length < 32) throw new LedgerKeyError(`${origin}: the ledger key must hold at least 32 bytes (64 hex digits or 44 base64 characters)`);
  return key;
}

/**
 * The secret that keys the budget ledger's hash chain and its head anchor (HMAC-SHA256). It lives
 * outside the database, so a database superuser who rewrites the ledger cannot recompute it:
 * `LEDGER_KEY` (hex or base64, at least 32 bytes; production deployments set it from a secret
 * store), or else `<dataDir>/ledger-key`, created on first start with mode 0600. A key file that
 * others can read is refused. Every process that writes the ledger (gateway, workers) must use
 * the same key: with a different one, every entry fails verification and admission stops.
 */
export function loadLedgerKey(options: { readonly ledgerKey: string | undefined; readonly dataDir: string }): Buffer {
  if (options.ledgerKey) return parseKey(options.ledgerKey, 'LEDGER_KEY');
  const dataDir = resolve(options.dataDir);
  const file = join(dataDir, LEDGER_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      // 'wx': two processes starting together never both write a key; the loser reads the winner's.
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  if ((statSync(file).mode & 0o077) !== 0) throw new LedgerKeyError(`${file}: the ledger key file must be readable by its owner only (chmod 600)`);
  return parseKey(readFileSync(file, 'utf8'), file);
}

/** What `ledger_key_check` stores: an HMAC of a fixed label, which tells keys apart and reveals neither. */
export function ledgerKeyCheck(key: Buffer): string {
  return createHmac('sha256', key).update('synthgate ledger key check v1').digest('hex');
}
