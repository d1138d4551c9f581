import { createDataSource, runMigrations } from './data-source';
import { Database } from './database';

/** Connects to a migrated database: applies pending migrations first, under a lock. */
export async function connectDatabase(options: {
  readonly url: string;
  readonly poolSize: number;
  readonly applicationName: string;
  readonly migrate: boolean;
}): Promise<Database> {
  if (options.migrate) await runMigrations(options.url);
  const dataSource = createDataSource({ url: options.url, poolSize: options.poolSize, applicationName: options.applicationName });
  await dataSource.initialize();
  return new Database(dataSource);
}
