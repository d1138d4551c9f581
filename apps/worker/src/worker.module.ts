import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, type SynthgateConfig } from '@synthgate/config';
import { type Database, PersistenceModule } from '@synthgate/persistence';
import { type MechanismRegistry } from '@synthgate/privacy';
import { BatchGenerator } from './batch-generator';
import { BatchReaper } from './batch-reaper';
import { BatchTransactions } from './batch-transactions';
import { defaultMechanismRegistry, MECHANISM_REGISTRY } from './mechanisms';
import { ModelPool } from './model-pool';
import { ReleaseBatchProcessor } from './release-batch.processor';
import { ReleaseContextCache } from './release-context';
import { ReleaseQualityReporter } from './release-quality';
import { WorkerMetrics } from './worker-metrics';
import { WorkerMetricsPublisher } from './worker-metrics.publisher';

/**
 * The headless worker: takes release batches from the queue and runs them, with the mechanisms of
 * `mechanisms` (default libs/privacy's production registry; tests inject their own).
 */
@Module({})
export class WorkerModule {
  static forRoot(config: SynthgateConfig, database: Database, mechanisms: MechanismRegistry = defaultMechanismRegistry): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), PersistenceModule.forRoot(database)],
      providers: [
        { provide: MECHANISM_REGISTRY, useValue: mechanisms },
        ModelPool,
        ReleaseContextCache,
        ReleaseQualityReporter,
        WorkerMetrics,
        BatchTransactions,
        BatchGenerator,
        BatchReaper,
        ReleaseBatchProcessor,
        WorkerMetricsPublisher,
      ],
      exports: [ReleaseBatchProcessor, WorkerMetrics],
    };
  }
}
