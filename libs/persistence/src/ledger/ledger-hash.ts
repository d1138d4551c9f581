import { createHmac } from 'node:crypto';

/** The previous hash of a dataset's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an entry's hash covers: everything but its database id and its own hash. */
export interface HashedLedgerFields {
  readonly datasetId: string;
  readonly sequence: number;
  readonly releaseId: string | null;
  readonly kind: string;
  readonly rho: number;
  readonly totalRho: number;
  readonly epsilonAfter: number;
  readonly delta: number;
  readonly conversion: string;
  readonly parameters: unknown;
  readonly actorUserId: string | null;
  readonly createdAt: Date;
  readonly previousHash: string;
}

/** What the head anchor of a dataset's ledger records (see LedgerHeadEntity). */
export interface LedgerHeadFields {
  readonly datasetId: string;
  readonly sequence: number;
  readonly hash: string;
  readonly totalRho: number;
}

/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, numbers in JavaScript's
 * shortest round-trip form (which PostgreSQL's float8 output reproduces exactly since version 12),
 * so the same entry always encodes to the same bytes, whoever reads it back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The canonical encoding of an entry (version 1 was hashed with plain SHA-256; see the 1764390000000 migration). */
export function ledgerEntryEncoding(entry: HashedLedgerFields, version: 1 | 2): string {
  return canonicalJson({
    version,
    datasetId: entry.datasetId,
    sequence: entry.sequence,
    releaseId: entry.releaseId,
    kind: entry.kind,
    rho: entry.rho,
    totalRho: entry.totalRho,
    epsilonAfter: entry.epsilonAfter,
    delta: entry.delta,
    conversion: entry.conversion,
    parameters: entry.parameters,
    actorUserId: entry.actorUserId,
    createdAt: entry.createdAt.toISOString(),
    previousHash: entry.previousHash,
  });
}

/**
 * HMAC-SHA256 (hex) under the ledger key over the canonical encoding of an entry, previous hash
 * included. Without the key (kept outside the database, see ledger-key.ts) nobody can write an
 * entry, or recompute a chain, that verifies.
 */
export function ledgerEntryHash(entry: HashedLedgerFields, key: Buffer): string {
  return createHmac('sha256', key).update(ledgerEntryEncoding(entry, 2), 'utf8').digest('hex');
}

/** HMAC-SHA256 (hex) under the ledger key over a head anchor, so the anchor cannot be forged either. */
export function ledgerHeadMac(head: LedgerHeadFields, key: Buffer): string {
  const encoded = canonicalJson({ anchor: 1, datasetId: head.datasetId, sequence: head.sequence, hash: head.hash, totalRho: head.totalRho });
  return createHmac('sha256', key).update(encoded, 'utf8').digest('hex');
}
