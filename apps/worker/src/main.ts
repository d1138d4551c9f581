import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, onStopSignal } from '@synthgate/config';
import { createLogger, NestPinoLogger } from '@synthgate/logging';
import { connectDatabase, loadLedgerKey, openDatabaseServer } from '@synthgate/persistence';
import { startWorker } from './worker';

const logger = new Logger('Worker');

async function main(): Promise<void> {
  const config = loadConfig();
  // Structured JSON lines on stdout; every `new Logger(context)` in the worker writes through it.
  const nestLogger = new NestPinoLogger(createLogger({ service: 'worker', level: config.logLevel, pretty: config.logPretty }));
  Logger.overrideLogger(nestLogger);
  const server = await openDatabaseServer({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedPort: config.embeddedPostgresPort, stopOnSignals: false });
  const database = await connectDatabase({
    url: server.url,
    ledgerKey: loadLedgerKey(config),
    applicationRole: config.databaseAppRole,
    poolSize: 4,
    applicationName: 'synthgate-worker',
    migrate: true,
    queue: 'work',
    onQueueError: (error) => logger.warn(`queue: ${error.message}`),
  });
  const worker = await startWorker(config, database, nestLogger);
  logger.log(`worker ${worker.processor.workerId} ready; database: ${server.description}`);
  onStopSignal(async (signal) => {
    logger.log(`${signal}: finishing or handing back batches in flight`);
    await worker.stop();
    await database.close();
    await server.stop();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
