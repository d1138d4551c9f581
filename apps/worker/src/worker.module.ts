import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, type SynthgateConfig } from '@synthgate/config';
import { type Database, PersistenceModule } from '@synthgate/persistence';

/** The headless worker: takes generation jobs from the queue and runs them. */
@Module({})
export class WorkerModule {
  static forRoot(config: SynthgateConfig, database: Database): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), PersistenceModule.forRoot(database)],
    };
  }
}
