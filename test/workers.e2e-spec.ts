import { Client } from 'pg';
import { batchOfRecord } from '@synthgate/privacy';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { spawnWorker, waitUntil, type WorkerProcess } from './setup/processes';

/**
 * Worker processes as an operator runs them (dist/apps/worker/src/main.js) sharing one database:
 * a release split over two workers, a worker killed mid-release, and a graceful SIGTERM.
 */
describe('worker processes', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let db: Client;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
    db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await db.end();
    await gateway.close();
  });

  function startWorker(env: Record<string, string> = {}): WorkerProcess {
    const worker = spawnWorker({
      DATABASE_URL: gateway.databaseUrl,
      MODELS_DIR: gateway.config.models.dir,
      DEFAULT_MODEL: 'tiny',
      SYNTHGATE_DATA_DIR: gateway.dataDir,
      LOG_LEVEL: 'info',
      GENERATION_THREADS: '1',
      WORKER_HEARTBEAT_SECONDS: '1',
      WORKER_LEASE_SECONDS: '3',
      ...env,
    });
    workers.push(worker);
    return worker;
  }

  const partitionKeys = new Map<string, Buffer>();

  async function release(records: number, expectedBatchSize: number, maxTokens: number): Promise<string> {
    const dataset = (await createDataset(gateway, acme.users.DATA_OWNER, { epsilon: 100, delta: 1e-7, labels: ['rain', 'sun'] })).id;
    const lines = Array.from({ length: records }, (_, i) => `"record ${i} about the weather in town ${i % 13}",${i % 3 ? 'rain' : 'sun'}`);
    await importRecords(gateway, acme.users.DATA_OWNER.token, dataset, `text,label\n${lines.join('\n')}\n`);
    const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(
      acme.users.DATA_OWNER.token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }',
      { input: { datasetId: dataset, expectedBatchSize, clip: 1, temperature: 2, privateTokenCap: maxTokens, maxTokens } },
    );
    // The key is erased when the release ends (issue 13): keep it while the release is queued, to check the partition.
    const { rows } = await db.query<{ partition_key: Buffer }>('SELECT partition_key FROM release WHERE id = $1', [createRelease.id]);
    partitionKeys.set(createRelease.id, rows[0]!.partition_key);
    return createRelease.id;
  }

  async function status(id: string): Promise<{ status: string; batches_done: number; batch_count: number }> {
    const { rows } = await db.query<{ status: string; batches_done: number; batch_count: number }>('SELECT status, batches_done, batch_count FROM release WHERE id = $1', [id]);
    return rows[0]!;
  }

  /** Every batch has exactly one synthetic record, and the keyed partition puts every record in exactly one batch. */
  async function checkComplete(id: string): Promise<{ workers: Set<string>; attempts: number[] }> {
    const { rows: [release] } = await db.query<{ batch_count: number; partition_key: Buffer | null; dataset_id: string; max_record_id: string; label_plan: { label: string; batches: number; offset: number }[] }>(
      'SELECT batch_count, partition_key, dataset_id, max_record_id, label_plan FROM release WHERE id = $1',
      [id],
    );
    expect(release!.partition_key).toBeNull();
    const partitionKey = partitionKeys.get(id)!;
    const { rows: records } = await db.query<{ ordinal: number }>('SELECT ordinal FROM synthetic_record WHERE release_id = $1 ORDER BY ordinal', [id]);
    expect(records.map((r) => r.ordinal)).toEqual(Array.from({ length: release!.batch_count }, (_, i) => i));
    const { rows: batches } = await db.query<{ status: string; worker_id: string; attempts: number }>('SELECT status, worker_id, attempts FROM release_batch WHERE release_id = $1', [id]);
    expect(batches.every((b) => b.status === 'DONE')).toBe(true);
    const { rows: sensitive } = await db.query<{ id: string; label: string }>('SELECT id::text, label FROM sensitive_record WHERE dataset_id = $1 AND id <= $2', [release!.dataset_id, release!.max_record_id]);
    const members = new Array<number>(release!.batch_count).fill(0);
    for (const record of sensitive) {
      const group = release!.label_plan.find((g) => g.label === record.label)!;
      members[group.offset + batchOfRecord(partitionKey, record.id, group.batches)]! += 1;
    }
    expect(members.reduce((a, b) => a + b, 0)).toBe(sensitive.length);
    return { workers: new Set(batches.map((b) => b.worker_id)), attempts: batches.map((b) => b.attempts) };
  }

  it('splits one release between two worker processes, with no batch done twice', async () => {
    const first = startWorker();
    const second = startWorker();
    // Both ready before the release exists, so neither can finish it alone before the other starts.
    await waitUntil(async () => /ready/.test(first.output()) && /ready/.test(second.output()), 60_000, 'both workers to be ready', 100);
    const id = await release(120, 4, 48);
    await waitUntil(async () => (await status(id)).status === 'SUCCEEDED', 120_000, 'the release to succeed', 200);
    const { workers: seen } = await checkComplete(id);
    expect(seen.size).toBe(2);
    for (const worker of [first, second]) {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    }
  }, 180_000);

  it('survives a worker killed with SIGKILL mid-release: another resumes, without duplicates', async () => {
    const id = await release(300, 5, 64);
    const victim = startWorker();
    await waitUntil(async () => (await status(id)).batches_done >= 3, 90_000, 'three batches');
    victim.child.kill('SIGKILL');
    await victim.exited;
    const { rows: running } = await db.query<{ count: number }>(`SELECT count(*)::int AS count FROM release_batch WHERE release_id = $1 AND status = 'RUNNING'`, [id]);
    expect((await status(id)).status).toBe('RUNNING');
    const rescuer = startWorker();
    await waitUntil(async () => (await status(id)).status === 'SUCCEEDED', 150_000, 'the release to succeed after the crash', 200);
    const { workers: seen, attempts } = await checkComplete(id);
    expect(seen.size).toBe(2);
    // The batch in flight when the worker died ran again, under the same partition and randomness.
    if (running[0]!.count > 0) expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
    rescuer.child.kill('SIGTERM');
    expect((await rescuer.exited).code).toBe(0);
  }, 240_000);

  it('fails the release when a batch used up every attempt by crashing its workers; nothing is refunded', async () => {
    const id = await release(300, 5, 64);
    const victim = startWorker();
    await waitUntil(async () => (await status(id)).batches_done >= 2, 90_000, 'two batches');
    // Freeze the worker while it holds a batch (not between two), then make that its job's last attempt.
    let running: { job_id: string }[] = [];
    for (let tries = 0; running.length === 0; tries++) {
      if (tries > 200) throw new Error('never caught the worker inside a batch');
      victim.child.kill('SIGSTOP');
      ({ rows: running } = await db.query<{ job_id: string }>(`SELECT job_id::text FROM release_batch WHERE release_id = $1 AND status = 'RUNNING'`, [id]));
      if (running.length === 0) {
        victim.child.kill('SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await db.query(`UPDATE pgboss.job SET retry_limit = retry_count WHERE id = ANY($1::uuid[])`, [running.map((r) => r.job_id)]);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const rescuer = startWorker();
    await waitUntil(async () => (await status(id)).status === 'FAILED', 60_000, 'the release to fail', 200);
    const { rows: [failed] } = await db.query<{ failure_reason: string; dataset_id: string }>('SELECT failure_reason, dataset_id FROM release WHERE id = $1', [id]);
    expect(failed!.failure_reason).toMatch(/^batch \d+ failed \d+ times?, the last time: worker went silent$/);
    // Records were read: the debit stands, and the audit log says why the release failed.
    const { rows: ledger } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM budget_ledger_entry WHERE dataset_id = $1', [failed!.dataset_id]);
    expect(ledger[0]!.count).toBe(1);
    const { rows: audit } = await db.query<{ details: { refunded: boolean } }>(`SELECT details FROM audit_event WHERE subject_id = $1 AND action = 'release.failed'`, [id]);
    expect(audit).toEqual([{ details: expect.objectContaining({ refunded: false }) }]);
    // No job of the release is left for a worker to take.
    await waitUntil(async () => (await db.query(`SELECT 1 FROM release_batch WHERE release_id = $1 AND status = 'RUNNING'`, [id])).rows.length === 0, 10_000, 'no running batch');
    rescuer.child.kill('SIGTERM');
    expect((await rescuer.exited).code).toBe(0);
  }, 240_000);

  it('on SIGTERM finishes or hands back its batch and exits; no job is lost, and a hand-back costs no attempt', async () => {
    const id = await release(200, 5, 64);
    const leaving = startWorker({ WORKER_SHUTDOWN_GRACE_SECONDS: '0' });
    await waitUntil(async () => (await status(id)).batches_done >= 2, 90_000, 'two batches');
    // Every job is on its last attempt: a hand-back that counted one would fail the release.
    await db.query(`UPDATE pgboss.job SET retry_limit = retry_count WHERE data->>'releaseId' = $1`, [id]);
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toEqual({ code: 0, signal: null });
    expect(leaving.output()).toMatch(/SIGTERM/);
    const { rows: stuck } = await db.query<{ count: number }>(`SELECT count(*)::int AS count FROM release_batch WHERE release_id = $1 AND status = 'RUNNING'`, [id]);
    expect(stuck[0]!.count).toBe(0);
    const staying = startWorker();
    await waitUntil(async () => (await status(id)).status === 'SUCCEEDED', 150_000, 'the release to succeed', 200);
    await checkComplete(id);
    staying.child.kill('SIGTERM');
    expect((await staying.exited).code).toBe(0);
  }, 240_000);
});
