import { Client } from 'pg';
import { createTestDatabase } from './setup/test-database';

describe('test database', () => {
  it('is a real PostgreSQL with the migrations applied', async () => {
    const database = await createTestDatabase();
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Number(rows[0]!.server_version_num)).toBeGreaterThanOrEqual(150000);
      const applied = await client.query<{ count: string }>('SELECT count(*) FROM migrations');
      expect(Number(applied.rows[0]!.count)).toBeGreaterThanOrEqual(0);
    } finally {
      await client.end();
      await database.drop();
    }
  });
});
