import { type DynamicModule, Module } from '@nestjs/common';
import { Database } from './database';

/** Provides the process's one `Database` (connected and migrated before Nest starts). */
@Module({})
export class PersistenceModule {
  static forRoot(database: Database): DynamicModule {
    return {
      module: PersistenceModule,
      global: true,
      providers: [{ provide: Database, useValue: database }],
      exports: [Database],
    };
  }
}
