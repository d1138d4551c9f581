/**
 * What a migration may need from the process that runs it and that the database must not hold:
 * the ledger key (re-keying the ledger's chain). Set by `runMigrations` for the length of a run.
 */
let ledgerKey: Buffer | null = null;

export async function withMigrationLedgerKey<T>(key: Buffer | null, run: () => Promise<T>): Promise<T> {
  ledgerKey = key;
  try {
    return await run();
  } finally {
    ledgerKey = null;
  }
}

/** The ledger key of the current migration run; throws when migrations were run without one. */
export function migrationLedgerKey(): Buffer {
  if (!ledgerKey) throw new Error('this migration re-keys the budget ledger and needs the ledger key: run it through Synthgate (runMigrations with a ledger key), not the TypeORM command line');
  return ledgerKey;
}
