import { ConfigError } from './config.errors';
import { configSchema, type SynthgateConfig, toConfig } from './config.schema';

/**
 * Reads and validates configuration from an environment (process.env by default). Empty strings
 * count as unset. Throws {@link ConfigError} naming every bad key, so a boot fails once with the
 * whole list rather than key by key.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): SynthgateConfig {
  const keys = Object.keys(configSchema.shape);
  const relevant: Record<string, string> = {};
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const result = configSchema.safeParse(relevant);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({ key: issue.path.join('.') || '(root)', message: issue.message })),
    );
  }
  return toConfig(result.data);
}

/** The keys Synthgate reads from the environment, in schema order. */
export function configKeys(): string[] {
  return Object.keys(configSchema.shape);
}
