import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { connectDatabase, type Database, type WorkerMetricsSnapshot } from '@synthgate/persistence';
import { createTestDatabase } from './setup/test-database';

const bounds = [0.01, 0.1, 1];

function snapshot(workerId: string, batches: number, counts = [1, 2, 3, 4], overrides: Partial<WorkerMetricsSnapshot> = {}): WorkerMetricsSnapshot {
  return {
    workerId,
    startedAt: new Date(),
    batches,
    privateTokens: batches * 10,
    publicTokens: batches * 20,
    generationSeconds: batches / 2,
    step: { bounds, counts, sum: counts.reduce((a, b) => a + b, 0) / 10 },
    ...overrides,
  };
}

/** The worker_metrics table: fleet totals, liveness, and folding the rows of workers long gone. */
describe('worker metrics in the database', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let connection: Database;

  beforeAll(async () => {
    database = await createTestDatabase();
    connection = await connectDatabase({ url: database.url, ledgerKey: randomBytes(32), poolSize: 4, applicationName: 'synthgate-test', migrate: true, queue: false });
  });
  afterAll(async () => {
    await connection?.close();
    await database?.drop();
  });

  it('sums every worker, counts the live ones, and keeps the totals when old rows are retired', async () => {
    const metrics = connection.repositories.metrics;
    await metrics.saveWorker(snapshot('a', 3));
    await metrics.saveWorker(snapshot('b', 5, [0, 0, 1, 1]));
    // A worker of another version with other buckets: its counters count, its histogram cannot merge.
    await metrics.saveWorker(snapshot('c', 1, [9, 9], { step: { bounds: [0.5], counts: [9, 9], sum: 1 } }));
    await metrics.saveWorker(snapshot('a', 4)); // absolute totals: a second write replaces the first
    const age = async (id: string, seconds: number) => {
      const client = new Client({ connectionString: database.url });
      await client.connect();
      await client.query(`UPDATE worker_metrics SET updated_at = now() - make_interval(secs => $2) WHERE worker_id = $1`, [id, seconds]);
      await client.end();
    };
    await age('b', 120);
    await age('c', 3 * 86400);

    const before = await metrics.fleet(60);
    expect(before).toMatchObject({ workersAlive: 1, batches: 10, privateTokens: 100, publicTokens: 200, generationSeconds: 5 });
    expect(before.step?.bounds).toEqual(bounds);
    expect(before.step?.counts).toEqual([1, 2, 4, 5]);

    expect(await connection.transaction((repositories) => repositories.metrics.retireWorkers(86400))).toBe(1);
    expect(await connection.transaction((repositories) => repositories.metrics.retireWorkers(86400))).toBe(0);
    const after = await metrics.fleet(3600);
    expect(after).toMatchObject({ workersAlive: 2, batches: 10, privateTokens: 100, publicTokens: 200, generationSeconds: 5 });
    expect(after.step?.counts).toEqual([1, 2, 4, 5]);
  });

  it('never lets an older snapshot overwrite a newer one (a slow write overtaken by a later one)', async () => {
    const metrics = connection.repositories.metrics;
    await metrics.saveWorker(snapshot('late', 7));
    await metrics.saveWorker(snapshot('late', 6));
    // Same batches but fewer timed steps: the histogram does not go back either.
    await metrics.saveWorker(snapshot('late', 7, [1, 1, 1, 1]));
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ batches: string; public_tokens: string; step_bucket_counts: string[] }>(
      `SELECT batches, public_tokens, step_bucket_counts::text[] FROM worker_metrics WHERE worker_id = 'late'`,
    );
    await client.end();
    expect(rows).toEqual([{ batches: '7', public_tokens: '140', step_bucket_counts: ['1', '2', '3', '4'] }]);
    await metrics.saveWorker(snapshot('late', 8));
    expect((await metrics.fleet(3600)).batches).toBeGreaterThanOrEqual(8);
  });

  it('counts releases in every state', async () => {
    expect(await connection.repositories.metrics.releasesByStatus()).toEqual({ QUEUED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0 });
  });
});
