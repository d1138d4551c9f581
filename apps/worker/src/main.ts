import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@synthgate/config';
import { onStopSignal } from '@synthgate/process';
import { createLogger, NestPinoLogger } from '@synthgate/logging';
import { connectDatabase, loadLedgerKey, openDatabaseServer, publishedDatabaseUrl } from '@synthgate/persistence';
import { startWorker } from './worker';
import { isDatabaseUnavailable, type WorkerSession, WorkerSupervisor } from './worker-supervisor';

const logger = new Logger('Worker');

const describe = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

async function main(): Promise<void> {
  const config = loadConfig();
  // Structured JSON lines on stdout; every `new Logger(context)` in the worker writes through it.
  const nestLogger = new NestPinoLogger(createLogger({ service: 'worker', level: config.logLevel, pretty: config.logPretty }));
  Logger.overrideLogger(nestLogger);
  const ledgerKey = loadLedgerKey(config);
  const server = await openDatabaseServer({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedPort: config.embeddedPostgresPort, stopOnSignals: false });

  const connect = async (url: string): Promise<WorkerSession> => {
    const database = await connectDatabase({
      url,
      ledgerKey,
      applicationRole: config.databaseAppRole,
      poolSize: 4,
      applicationName: 'synthgate-worker',
      migrate: true,
      queue: 'work',
      // An unreachable database is the supervisor's to report (once per outage), not every poll's.
      onQueueError: (error) => (isDatabaseUnavailable(error) ? undefined : logger.warn(`queue: ${error.message}`)),
    });
    try {
      const worker = await startWorker(config, database, nestLogger);
      logger.log(`worker ${worker.processor.workerId} ready; database: ${url === server.url ? server.description : `PostgreSQL at ${new URL(url).host}`}`);
      return {
        ping: () => database.ping(),
        stop: async () => {
          await worker.stop();
          await database.close();
        },
      };
    } catch (error) {
      await database.close().catch(() => undefined);
      throw error;
    }
  };
  // DATABASE_URL is fixed; an embedded server is followed where the gateway publishes it (its
  // port is stable across restarts, but may change when the old one was taken).
  const supervisor = new WorkerSupervisor({
    locate: () => config.databaseUrl ?? publishedDatabaseUrl(config.dataDir),
    connect,
    log: { info: (message) => logger.log(message), warn: (message) => logger.warn(message) },
  });

  let exitCode = 0;
  const stop = async () => {
    await supervisor.stop();
    await server.stop();
  };
  process.on('unhandledRejection', (reason) => {
    // A query that failed because the database went away: the supervisor is already recovering.
    if (isDatabaseUnavailable(reason)) return logger.debug(`while the database is away: ${describe(reason)}`);
    // Anything else leaves the worker in a state nobody planned for: stop (handing batches back) and exit non-zero.
    logger.error(`unhandled rejection; stopping: ${describe(reason)}`);
    exitCode = 1;
    process.kill(process.pid, 'SIGTERM');
  });
  onStopSignal(async (signal) => {
    logger.log(`${signal}: finishing or handing back batches in flight`);
    await stop();
    if (exitCode !== 0) throw new Error('stopped after an unhandled rejection');
  });
  await supervisor.run();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : describe(error)}\n`);
  process.exit(1);
});
