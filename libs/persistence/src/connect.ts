import { createDataSource, runMigrations } from './data-source';
import { Database } from './database';
import { JobQueue } from './jobs/job-queue';

/**
 * Connects to a migrated database: applies pending migrations first (under a lock), and starts
 * the job queue when asked (`enqueue` for the gateway, `work` for workers, which also supervise
 * the queue: expiring stuck jobs and archiving old ones).
 */
export async function connectDatabase(options: {
  readonly url: string;
  readonly poolSize: number;
  readonly applicationName: string;
  readonly migrate: boolean;
  readonly queue?: 'enqueue' | 'work' | false;
  readonly onQueueError?: (error: Error) => void;
}): Promise<Database> {
  if (options.migrate) await runMigrations(options.url);
  const dataSource = createDataSource({ url: options.url, poolSize: options.poolSize, applicationName: options.applicationName });
  await dataSource.initialize();
  const database = new Database(dataSource);
  if (options.queue) {
    try {
      database.attachQueue(
        await JobQueue.start({
          url: options.url,
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
