import { type DynamicModule, Module } from '@nestjs/common';
import { type SynthgateConfig } from './config.schema';

/** Injection token of the validated configuration. */
export const SYNTHGATE_CONFIG = Symbol('SYNTHGATE_CONFIG');

/** Provides the configuration loaded once at boot to every module. */
@Module({})
export class ConfigModule {
  static forRoot(config: SynthgateConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: SYNTHGATE_CONFIG, useValue: config }],
      exports: [SYNTHGATE_CONFIG],
    };
  }
}
