import { DataSource, type DataSourceOptions, type QueryRunner } from 'typeorm';
import { migrations } from '../../../migrations';
import { type ApplicationRole, provisionApplicationRole } from './database-roles';
import { entities } from './entities';
import { JobQueue } from './jobs/job-queue';
import { LedgerKeyError, ledgerKeyCheck } from './ledger/ledger-key';
import { withMigrationLedgerKey } from './migration-context';

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize?: number;
  readonly applicationName?: string;
}

/** TypeORM options: the schema is the migrations, never `synchronize`. */
export function dataSourceOptions(options: DatabaseOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: options.url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    logging: false,
    extra: { max: options.poolSize ?? 10, application_name: options.applicationName ?? 'synthgate' },
  };
}

export function createDataSource(options: DatabaseOptions): DataSource {
  return new DataSource(dataSourceOptions(options));
}

/** Advisory lock key that serialises migrations across processes (gateway and workers start together). */
const MIGRATION_LOCK = 7_201_001;

/**
 * Refuses a ledger key other than the one this database's ledger is written with (recorded by the
 * first process that migrated it): a gateway or worker with another key would write entries
 * nobody can verify, and reset the application role's password under the others.
 */
async function checkLedgerKey(runner: QueryRunner, key: Buffer): Promise<void> {
  const check = ledgerKeyCheck(key);
  await runner.query(`INSERT INTO ledger_key_check (id, mac) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, [check]);
  const [recorded] = (await runner.query(`SELECT mac FROM ledger_key_check WHERE id = 1`)) as { mac: string }[];
  if (recorded?.mac !== check) {
    throw new LedgerKeyError(
      "this database's budget ledger is keyed with another ledger key: give every gateway and worker the same LEDGER_KEY (or the same SYNTHGATE_DATA_DIR/ledger-key file)",
    );
  }
}

export interface MigrationOptions {
  /** The ledger key, for migrations that re-key the ledger (null: only where no entry needs it). */
  readonly ledgerKey: Buffer | null;
  /** The role the application connects as, created or reset and granted after the migrations. */
  readonly applicationRole?: ApplicationRole | null;
}

/**
 * As the owner (`url`), under an advisory lock: applies every pending migration, installs
 * pg-boss's schema and the batch queue, and provisions the application role. Returns the names
 * of the migrations applied.
 */
export async function runMigrations(url: string, options: MigrationOptions = { ledgerKey: null }): Promise<string[]> {
  const dataSource = createDataSource({ url, poolSize: 2, applicationName: 'synthgate-migrate' });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await withMigrationLedgerKey(options.ledgerKey, () => dataSource.runMigrations({ transaction: 'each' }));
    if (options.ledgerKey) await checkLedgerKey(runner, options.ledgerKey);
    const queue = await JobQueue.start({ url, supervise: false, applicationName: 'synthgate-migrate-queue', install: true });
    await queue.stop();
    if (options.applicationRole) await provisionApplicationRole(runner, options.applicationRole);
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
  }
}

/** True when every known migration has been applied to the connected database. */
export async function migrationsAreCurrent(dataSource: DataSource): Promise<boolean> {
  return !(await dataSource.showMigrations());
}
