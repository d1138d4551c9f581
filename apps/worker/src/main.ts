import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from '@synthgate/config';
import { connectDatabase, openDatabaseServer } from '@synthgate/persistence';
import { WorkerModule } from './worker.module';

const logger = new Logger('Worker');

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await openDatabaseServer({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedPort: config.embeddedPostgresPort });
  const database = await connectDatabase({ url: server.url, poolSize: 4, applicationName: 'synthgate-worker', migrate: true });
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, database));
  logger.log(`worker ready (pid ${process.pid}); database: ${server.description}`);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping`);
    await app.close();
    await database.close();
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
