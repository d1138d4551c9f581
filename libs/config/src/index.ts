export { ConfigError } from './config.errors';
export { type SynthgateConfig, configSchema } from './config.schema';
export { configKeys, loadConfig } from './load-config';
export { ConfigModule, SYNTHGATE_CONFIG } from './config.module';
