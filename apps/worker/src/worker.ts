import { type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type SynthgateConfig } from '@synthgate/config';
import { type Database } from '@synthgate/persistence';
import { type MechanismRegistry } from '@synthgate/privacy';
import { ReleaseBatchProcessor } from './release-batch.processor';
import { WorkerModule } from './worker.module';

/** A started worker: main.ts and the e2e tests use this. */
export interface RunningWorker {
  readonly app: INestApplicationContext;
  readonly processor: ReleaseBatchProcessor;
  /** Graceful: finishes or hands back batches in flight, then closes. */
  stop(): Promise<void>;
}

/**
 * `logger`: where Nest and the worker log (main.ts passes the JSON logger); false for none.
 * `mechanisms`: the registry releases are run with (default libs/privacy's production one).
 */
export async function startWorker(
  config: SynthgateConfig,
  database: Database,
  logger: LoggerService | false | undefined = undefined,
  mechanisms: MechanismRegistry | undefined = undefined,
): Promise<RunningWorker> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, database, mechanisms), { logger, abortOnError: false });
  const processor = app.get(ReleaseBatchProcessor);
  await processor.start();
  return {
    app,
    processor,
    stop: async () => {
      await processor.shutdown();
      await app.close();
    },
  };
}
