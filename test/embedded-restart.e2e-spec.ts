/**
 * @jest-environment node
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '@synthgate/persistence';
import { createDataset, createOrganization, importRecords } from './setup/factories';
import { createTestModelsDir } from './setup/models';
import { type GatewayProcess, spawnGateway, spawnWorker, waitUntil, type WorkerProcess } from './setup/processes';

const published = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, 'postgres.json'), 'utf8')) as { url: string; pid: number };
const portOf = (dataDir: string) => Number(new URL(published(dataDir).url).port);
/** The embedded cluster's postmaster (the data folder is under /tmp, which its postgres user can reach). */
const postmasterPid = (dataDir: string) => Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern.source, 'g')) ?? []).length;

async function release(gateway: GatewayProcess, token: string, datasetId: string): Promise<number> {
  const started = Date.now();
  const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', {
    input: { datasetId, expectedBatchSize: 5, clip: 1, temperature: 2, privateTokenCap: 2, maxTokens: 3 },
  });
  let status = 'QUEUED';
  await waitUntil(
    async () => {
      status = (await gateway.data<{ release: { status: string } }>(token, 'query($id: ID!) { release(id: $id) { status } }', { id: createRelease.id })).release.status;
      return status !== 'QUEUED' && status !== 'RUNNING';
    },
    120_000,
    'the release to finish',
    200,
  );
  expect(status).toBe('SUCCEEDED');
  return Date.now() - started;
}

/**
 * The embedded PostgreSQL restarting under real worker processes (issue 15, items 4 and 5): a
 * gateway SIGTERM stops the server, the workers survive and resume when the next gateway starts it
 * again (on the same port by default, or on a new one they read from the data folder); a gateway
 * SIGKILL orphans the server, and the next start takes it over so its SIGTERM stops it.
 */
describe('workers across embedded PostgreSQL restarts', () => {
  let dataDir: string;
  let env: Record<string, string> & { SYNTHGATE_DATA_DIR: string };
  let gateway: GatewayProcess | null = null;
  const workers: WorkerProcess[] = [];
  let blocker: Server | null = null;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'synthgate-restart-'));
    env = { SYNTHGATE_DATA_DIR: dataDir, MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', LOG_LEVEL: 'info', GENERATION_THREADS: '1', WORKER_HEARTBEAT_SECONDS: '1', WORKER_LEASE_SECONDS: '3' };
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
    if (gateway?.child.exitCode === null) {
      gateway.child.kill('SIGTERM');
      await gateway.exited;
    }
    await Promise.all(workers.map((worker) => worker.exited));
    blocker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function stopGateway(): Promise<void> {
    gateway!.child.kill('SIGTERM');
    expect(await gateway!.exited).toEqual({ code: 0, signal: null });
  }

  it('keeps workers alive through gateway restarts, on the same port and on a new one, and measures how soon they resume', async () => {
    gateway = await spawnGateway(env, 180_000);
    const port = portOf(dataDir);
    for (let i = 0; i < 2; i++) workers.push(spawnWorker(env));
    await waitUntil(async () => workers.every((worker) => /ready; database/.test(worker.output())), 120_000, 'both workers to start');
    const acme = await createOrganization(gateway);
    const owner = acme.users.DATA_OWNER;
    const dataset = (await createDataset(gateway, owner, { epsilon: 100, delta: 1e-7, labels: ['rain', 'sun'] })).id;
    const rows = Array.from({ length: 20 }, (_, i) => `"record ${i} about the weather",${i % 2 ? 'rain' : 'sun'}`);
    await importRecords(gateway, owner.token, dataset, `text,label\n${rows.join('\n')}\n`);
    await release(gateway, owner.token, dataset);

    for (const [round, movePort] of [
      [1, false],
      [2, true],
    ] as const) {
      await stopGateway();
      expect(existsSync(join(dataDir, 'postgres.json'))).toBe(false);
      await waitUntil(async () => workers.every((worker) => count(worker.output(), /lost the database/) === round), 30_000, 'both workers to notice the outage');
      await new Promise((resolve) => setTimeout(resolve, 3000)); // an outage of some length: they keep retrying
      if (movePort) {
        blocker = createServer();
        await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
      }
      const restarted = Date.now();
      gateway = await spawnGateway(env, 180_000);
      const healthy = Date.now();
      expect(portOf(dataDir) === port).toBe(!movePort);
      await waitUntil(async () => workers.every((worker) => count(worker.output(), /the worker resumed/) === round), 60_000, 'both workers to resume');
      const resumed = Date.now();
      const releaseMs = await release(gateway, owner.token, dataset);
      process.stdout.write(
        `\nround ${round} (${movePort ? 'new port' : 'same port'}): gateway and database back ${((healthy - restarted) / 1000).toFixed(1)} s after the restart; workers resumed ${((resumed - healthy) / 1000).toFixed(1)} s after /health answered; a release then took ${(releaseMs / 1000).toFixed(1)} s\n`,
      );
      for (const worker of workers) {
        expect(worker.child.exitCode).toBeNull();
        // The outage is logged once per outage, not once per retry.
        expect(count(worker.output(), /does not answer; retrying with backoff/)).toBeLessThanOrEqual(round);
        expect(worker.output()).not.toMatch(/unhandled rejection/);
      }
    }
    // Each outage was logged once, and nothing else above info level was (no retry, reaper or metrics noise).
    for (const worker of workers) {
      const alarms = worker
        .output()
        .split('\n')
        .filter((line) => /^\{"level":"(warn|error|fatal)"/.test(line))
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(alarms).toEqual([expect.stringMatching(/^lost the database/), expect.stringMatching(/^lost the database/)]);
    }
    blocker?.close();
    blocker = null;
    for (const worker of workers) worker.child.kill('SIGTERM');
    for (const worker of workers) expect(await worker.exited).toEqual({ code: 0, signal: null });
    await stopGateway();
  }, 600_000);

  it('after a gateway SIGKILL, the next start takes over the orphaned PostgreSQL, and its SIGTERM stops it', async () => {
    gateway = await spawnGateway(env, 180_000);
    const orphan = postmasterPid(dataDir);
    gateway.child.kill('SIGKILL');
    await gateway.exited;
    expect(processAlive(orphan)).toBe(true);
    gateway = await spawnGateway(env, 180_000);
    expect(gateway.output()).toMatch(/outlived the process that started it/);
    expect(processAlive(orphan)).toBe(false);
    const owned = postmasterPid(dataDir);
    expect(owned).not.toBe(orphan);
    expect(published(dataDir).pid).toBe(gateway.child.pid);
    await stopGateway();
    await waitUntil(async () => !processAlive(owned), 10_000, 'the PostgreSQL the gateway started to stop');
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  }, 600_000);
});
