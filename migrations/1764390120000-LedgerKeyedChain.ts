import { createHash } from 'node:crypto';
import { type MigrationInterface, type QueryRunner } from 'typeorm';
import { GENESIS_HASH, type HashedLedgerFields, ledgerEntryEncoding, ledgerEntryHash, ledgerHeadMac } from '../libs/persistence/src/ledger/ledger-hash';
import { migrationLedgerKey } from '../libs/persistence/src/migration-context';

interface StoredEntry extends HashedLedgerFields {
  readonly id: string;
  readonly hash: string;
}

const sha256 = (entry: HashedLedgerFields) => createHash('sha256').update(ledgerEntryEncoding(entry, 1), 'utf8').digest('hex');

async function entriesByDataset(queryRunner: QueryRunner): Promise<Map<string, StoredEntry[]>> {
  const rows = (await queryRunner.query(
    `SELECT id::text AS id, dataset_id AS "datasetId", sequence, release_id AS "releaseId", kind, rho, total_rho AS "totalRho",
            epsilon_after AS "epsilonAfter", delta, conversion, parameters, actor_user_id AS "actorUserId", created_at AS "createdAt",
            previous_hash AS "previousHash", hash
       FROM budget_ledger_entry ORDER BY dataset_id, sequence`,
  )) as StoredEntry[];
  const byDataset = new Map<string, StoredEntry[]>();
  for (const row of rows) byDataset.set(row.datasetId, [...(byDataset.get(row.datasetId) ?? []), row]);
  return byDataset;
}

/** True when a dataset's entries form an intact chain under `hash` (numbered 1.., linked, each hash recomputed). */
function intact(entries: readonly StoredEntry[], hash: (entry: HashedLedgerFields) => string): boolean {
  let previousHash = GENESIS_HASH;
  return entries.every((entry, index) => {
    const ok = entry.sequence === index + 1 && entry.previousHash === previousHash && hash(entry) === entry.hash;
    previousHash = entry.hash;
    return ok;
  });
}

/** Rewrites a dataset's chain with `hash`, in sequence order; returns the new head hash. */
async function rechain(queryRunner: QueryRunner, entries: readonly StoredEntry[], hash: (entry: HashedLedgerFields) => string): Promise<string> {
  let previousHash = GENESIS_HASH;
  for (const entry of entries) {
    const rewritten = hash({ ...entry, previousHash });
    await queryRunner.query(`UPDATE budget_ledger_entry SET previous_hash = $1, hash = $2 WHERE id = $3`, [previousHash, rewritten, entry.id]);
    previousHash = rewritten;
  }
  return previousHash;
}

/**
 * The budget ledger's chain becomes keyed, and its head is anchored outside the ledger table:
 * - Each entry's hash becomes HMAC-SHA256 under the ledger key (kept outside the database:
 *   LEDGER_KEY or `<dataDir>/ledger-key`) over the version-2 encoding. Existing entries are
 *   re-keyed here, dataset by dataset, but only where their plain SHA-256 chain still verifies:
 *   a chain already broken is left as it is, so it keeps failing verification (LEDGER_INVALID)
 *   instead of being laundered into a valid keyed one.
 * - `budget_ledger_head` holds each dataset's head (sequence, hash, total rho) under a keyed MAC,
 *   written in the same transaction as every entry.
 * - `ledger_key_check` holds an HMAC of a fixed label under the key (it reveals nothing of the
 *   key), so a process started with another key is refused before it writes anything.
 * The append-only trigger is switched off only inside this migration's transaction, by the owner.
 */
export class LedgerKeyedChain1764390120000 implements MigrationInterface {
  name = 'LedgerKeyedChain1764390120000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE budget_ledger_head (
        dataset_id uuid PRIMARY KEY REFERENCES dataset(id),
        sequence integer NOT NULL CHECK (sequence >= 1),
        hash text NOT NULL,
        total_rho double precision NOT NULL CHECK (total_rho >= 0),
        mac text NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE TABLE ledger_key_check (id smallint PRIMARY KEY CHECK (id = 1), mac text NOT NULL)`);
    const byDataset = await entriesByDataset(queryRunner);
    if (byDataset.size === 0) return;
    const key = migrationLedgerKey();
    await queryRunner.query(`ALTER TABLE budget_ledger_entry DISABLE TRIGGER budget_ledger_entry_append_only`);
    for (const [datasetId, entries] of byDataset) {
      if (!intact(entries, sha256)) continue;
      const hash = await rechain(queryRunner, entries, (entry) => ledgerEntryHash(entry, key));
      const head = { datasetId, sequence: entries.at(-1)!.sequence, hash, totalRho: entries.at(-1)!.totalRho };
      await queryRunner.query(`INSERT INTO budget_ledger_head (dataset_id, sequence, hash, total_rho, mac, updated_at) VALUES ($1, $2, $3, $4, $5, now())`, [
        datasetId,
        head.sequence,
        head.hash,
        head.totalRho,
        ledgerHeadMac(head, key),
      ]);
    }
    await queryRunner.query(`ALTER TABLE budget_ledger_entry ENABLE TRIGGER budget_ledger_entry_append_only`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const byDataset = await entriesByDataset(queryRunner);
    await queryRunner.query(`ALTER TABLE budget_ledger_entry DISABLE TRIGGER budget_ledger_entry_append_only`);
    // Back to plain SHA-256, only where the keyed chain verifies (a key is needed to tell).
    for (const entries of byDataset.values()) {
      if (intact(entries, (entry) => ledgerEntryHash(entry, migrationLedgerKey()))) await rechain(queryRunner, entries, sha256);
    }
    await queryRunner.query(`ALTER TABLE budget_ledger_entry ENABLE TRIGGER budget_ledger_entry_append_only`);
    await queryRunner.query(`DROP TABLE budget_ledger_head`);
    await queryRunner.query(`DROP TABLE ledger_key_check`);
  }
}
