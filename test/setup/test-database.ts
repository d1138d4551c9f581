import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const TEMPLATE_DATABASE = 'synthgate_template';

export interface TestDatabaseServer {
  readonly adminUrl: string;
  readonly templateUrl: string;
}

function server(): TestDatabaseServer {
  const raw = process.env.SYNTHGATE_TEST_DATABASE;
  if (!raw) throw new Error('SYNTHGATE_TEST_DATABASE is not set: run e2e tests through jest (global setup)');
  return JSON.parse(raw) as TestDatabaseServer;
}

/** Clones the migrated template into a fresh database for one test file; returns its URL. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const { adminUrl } = server();
  const name = `synthgate_test_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
