import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPLATE_DATABASE, type TestDatabaseServer } from './test-database';

declare global {
  var __SYNTHGATE_PG__: { stop(): Promise<void> } | undefined;
}

/**
 * Starts one real PostgreSQL for the whole e2e run and migrates a template database; each test
 * file then clones the template (CREATE DATABASE ... TEMPLATE), so files never see each other's
 * rows. With TEST_DATABASE_URL set (e.g. the machine's own PostgreSQL in CI), that server is used.
 */
export default async function globalSetup(): Promise<void> {
  // Tests that start worker processes run dist/: build it from the sources under test.
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'build.js'), '--quiet'], { stdio: 'inherit' });
  // Global setup runs outside Jest's module mapper (no @synthgate/* aliases): use the fresh build.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runMigrations, startEmbeddedPostgres } = require('../../dist/libs/persistence/src') as typeof import('../../libs/persistence/src');
  let server: TestDatabaseServer;
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    const url = new URL(external);
    url.pathname = `/${TEMPLATE_DATABASE}`;
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: external });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
    await admin.end();
    server = { adminUrl: external, templateUrl: url.toString() };
    process.stdout.write(`\ne2e: using the PostgreSQL server at ${url.host}\n`);
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'synthgate-test-'));
    const handle = await startEmbeddedPostgres({ dataDir, port: 0, persistent: false, database: TEMPLATE_DATABASE });
    globalThis.__SYNTHGATE_PG__ = handle;
    const adminUrl = new URL(handle.url);
    adminUrl.pathname = '/postgres';
    server = { adminUrl: adminUrl.toString(), templateUrl: handle.url };
  }
  // Migrations also install pg-boss's schema, so every clone has it. The template holds no ledger
  // entry to re-key, and each test database provisions its own application role when it connects.
  await runMigrations(server.templateUrl);
  process.env.SYNTHGATE_TEST_DATABASE = JSON.stringify(server);
  process.env.TZ = 'UTC';
}
