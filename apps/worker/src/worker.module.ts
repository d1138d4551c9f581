import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, type SynthgateConfig } from '@synthgate/config';
import { type Database, PersistenceModule } from '@synthgate/persistence';
import { ModelPool } from './model-pool';
import { ReleaseBatchProcessor } from './release-batch.processor';
import { ReleaseContextCache } from './release-context';
import { ReleaseQualityReporter } from './release-quality';
import { WorkerMetrics } from './worker-metrics';
import { WorkerMetricsPublisher } from './worker-metrics.publisher';

/** The headless worker: takes release batches from the queue and runs them. */
@Module({})
export class WorkerModule {
  static forRoot(config: SynthgateConfig, database: Database): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), PersistenceModule.forRoot(database)],
      providers: [ModelPool, ReleaseContextCache, ReleaseQualityReporter, WorkerMetrics, ReleaseBatchProcessor, WorkerMetricsPublisher],
      exports: [ReleaseBatchProcessor, WorkerMetrics],
    };
  }
}
