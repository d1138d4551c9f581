export { createDataSource, dataSourceOptions, migrationsAreCurrent, runMigrations, type DatabaseOptions } from './data-source';
export { findFreePort, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';
