import { DataSource, type DataSourceOptions } from 'typeorm';
import { migrations } from '../../../migrations';
import { entities } from './entities';

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

/** Applies every pending migration under an advisory lock; returns the names applied. */
export async function runMigrations(url: string): Promise<string[]> {
  const dataSource = createDataSource({ url, poolSize: 2, applicationName: 'synthgate-migrate' });
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
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
