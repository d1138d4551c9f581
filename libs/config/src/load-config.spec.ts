import { ConfigError, configKeys, loadConfig } from './index';

describe('loadConfig', () => {
  it('applies defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.dataDir).toBe('.synthgate');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.graphql.introspection).toBe(true);
    expect(config.models.defaultModel).toBe('default');
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(3000);
  });

  it('turns introspection off by default in production', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).graphql.introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }).graphql.introspection).toBe(true);
  });

  it('lists every bad key at once', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: '70000', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', GENERATION_THREADS: '0' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const keys = (caught as ConfigError).problems.map((p) => p.key).sort();
    expect(keys).toEqual(['DATABASE_URL', 'GENERATION_THREADS', 'LOG_LEVEL', 'PORT']);
    expect((caught as ConfigError).message).toContain('PORT: must be at most 65535');
  });

  it('knows its keys', () => {
    expect(configKeys()).toContain('DATABASE_URL');
    expect(configKeys()).toContain('SYNTHGATE_DATA_DIR');
  });
});
