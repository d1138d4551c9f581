import { createDataSource, runMigrations } from './data-source';
import { Database } from './database';
import { applicationRoleFor, applicationUrl } from './database-roles';
import { JobQueue } from './jobs/job-queue';

/**
 * Connects to a migrated database as the application role: `url` is the owner's, which applies
 * pending migrations first (under a lock) and provisions the role (see database-roles.ts). Starts
 * the job queue when asked (`enqueue` for the gateway, `work` for workers, which also supervise
 * the queue: expiring stuck jobs and archiving old ones).
 */
export async function connectDatabase(options: {
  readonly url: string;
  readonly ledgerKey: Buffer;
  /** DATABASE_APP_ROLE; `<database>_app` when unset. */
  readonly applicationRole?: string;
  readonly poolSize: number;
  readonly applicationName: string;
  readonly migrate: boolean;
  readonly queue?: 'enqueue' | 'work' | false;
  readonly onQueueError?: (error: Error) => void;
}): Promise<Database> {
  const role = applicationRoleFor(options.url, options.ledgerKey, options.applicationRole);
  if (options.migrate) await runMigrations(options.url, { ledgerKey: options.ledgerKey, applicationRole: role });
  const url = applicationUrl(options.url, role);
  const dataSource = createDataSource({ url, poolSize: options.poolSize, applicationName: options.applicationName });
  await dataSource.initialize();
  const database = new Database(dataSource, options.ledgerKey);
  if (options.queue) {
    try {
      database.attachQueue(
        await JobQueue.start({
          url,
          supervise: options.queue === 'work',
          maintenanceIntervalSeconds: 30,
          applicationName: `${options.applicationName}-queue`,
          onError: options.onQueueError,
        }),
      );
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}
