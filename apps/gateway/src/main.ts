import 'reflect-metadata';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { type Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@synthgate/config';
import { onStopSignal } from '@synthgate/process';
import { NestPinoLogger } from '@synthgate/logging';
import { connectDatabase, loadLedgerKey, openDatabaseServer } from '@synthgate/persistence';
import { createGatewayApp } from './app';
import { drainHttpServer } from './http/http-drain';
import { createGatewayLogger } from './http/request-observer';

const logger = new Logger('Gateway');

/**
 * Starts a worker process on the same database (`npm start` runs gateway and worker together).
 * It reads the same configuration: with an embedded server it follows the URL this process
 * publishes in the data folder, as any worker does.
 */
function startWorker(): ChildProcess {
  const child = fork(join(__dirname, '..', '..', 'worker', 'src', 'main.js'), [], { stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') logger.error(`worker exited (code ${code}, signal ${signal})`);
  });
  return child;
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Structured JSON lines on stdout; every `new Logger(context)` in the gateway writes through it.
  const log = createGatewayLogger(config);
  Logger.overrideLogger(new NestPinoLogger(log));
  const server = await openDatabaseServer({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embeddedPort: config.embeddedPostgresPort,
    // stop() below stops an embedded server, after the requests in flight are done.
    stopOnSignals: false,
    notice: (message) => logger.warn(message),
  });
  const database = await connectDatabase({
    url: server.url,
    ledgerKey: loadLedgerKey(config),
    applicationRole: config.databaseAppRole,
    poolSize: config.databasePoolSize,
    applicationName: 'synthgate-gateway',
    migrate: true,
    queue: 'enqueue',
  });
  const app = await createGatewayApp(config, database, log);
  await app.listen(config.port, config.host);
  logger.log(`database: ${server.description}`);
  logger.log(`GraphQL API at http://${config.host}:${config.port}/graphql, web console at /console, health at /health`);
  const worker = process.argv.includes('--with-worker') ? startWorker() : null;

  onStopSignal(async (signal) => {
    logger.log(`${signal}: taking no new connections; letting requests in flight finish (up to ${config.shutdownGraceSeconds}s)`);
    const workerExited = worker && worker.exitCode === null ? new Promise((resolve) => worker.once('exit', resolve)) : Promise.resolve();
    worker?.kill('SIGTERM');
    // Drain HTTP first: Nest's shutdown hooks would stop Apollo under requests still in flight.
    const drained = await drainHttpServer(app.getHttpServer() as Server, config.shutdownGraceSeconds * 1000);
    if (drained === 'timed out') logger.warn(`requests still open after ${config.shutdownGraceSeconds}s were cut`);
    await app.close();
    await workerExited;
    await database.close();
    await server.stop();
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
