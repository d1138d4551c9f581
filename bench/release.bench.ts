/**
 * `npm run bench:release`: wall time and synthetic examples per minute of one release of a
 * 5,000-record dataset with the default model, run by one and then by two worker processes
 * sharing the queue, through the real gateway on an embedded PostgreSQL.
 * BENCH_RELEASE_RECORDS, BENCH_RELEASE_BATCH_SIZE and BENCH_RELEASE_MAX_TOKENS change the shape.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '@synthgate/persistence';
import { GatewayClient } from '../apps/cli/src/gateway-client';

const root = join(__dirname, '..', '..');
const records = Number(process.env.BENCH_RELEASE_RECORDS ?? 5000);
const expectedBatchSize = Number(process.env.BENCH_RELEASE_BATCH_SIZE ?? 100);
const maxTokens = Number(process.env.BENCH_RELEASE_MAX_TOKENS ?? 32);
const topics = ['billing', 'shipping', 'account', 'technical'];

function spawnNode(script: string, env: Record<string, string>, args: string[] = []): ChildProcess {
  return spawn(process.execPath, [join(root, 'dist', script), ...args], { cwd: root, env: { ...process.env, ...env, LOG_LEVEL: 'warn' }, stdio: 'ignore' });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'synthgate-bench-release-'));
  const dataDir = join(work, 'data');
  const port = await findFreePort();
  const gateway = spawnNode('apps/gateway/src/main.js', { SYNTHGATE_DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: '' });
  const workers: ChildProcess[] = [];
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
      } catch {
        if (i > 600) throw new Error('the gateway did not start');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const databaseUrl = (JSON.parse(readFileSync(join(dataDir, 'postgres.json'), 'utf8')) as { url: string }).url;
    const admin = new GatewayClient(`http://127.0.0.1:${port}`, readFileSync(join(dataDir, 'admin-token'), 'utf8').trim());
    const { me } = await admin.graphql<{ me: { organizationId: string } }>('{ me { organizationId } }');
    const { createUser } = await admin.graphql<{ createUser: { id: string } }>(
      'mutation($org: ID!) { createUser(input: { organizationId: $org, email: "bench@example.test", role: DATA_OWNER }) { id } }',
      { org: me.organizationId },
    );
    const { createApiToken } = await admin.graphql<{ createApiToken: { secret: string } }>('mutation($u: ID!) { createApiToken(input: { userId: $u, name: "bench", reason: "benchmark: a token for the benchmark user" }) { secret } }', { u: createUser.id });
    const owner = new GatewayClient(admin.url, createApiToken.secret);
    const { createDataset } = await owner.graphql<{ createDataset: { id: string } }>(
      'mutation { createDataset(input: { name: "bench", labelField: "label", budget: { epsilon: 1000, delta: 1e-7 } }) { id } }',
    );
    const file = join(work, 'records.csv');
    const lines = Array.from({ length: records }, (_, i) => `"Ticket ${i}: my order ${(i * 7919) % 100000} has a problem with the ${['invoice', 'parcel', 'password', 'app'][i % 4]}, please help.",${topics[i % 4]}`);
    writeFileSync(file, `text,label\n${lines.join('\n')}\n`);
    await owner.upload(`/datasets/${createDataset.id}/records`, file, 'text/csv');

    const rows: Record<string, string | number>[] = [];
    for (const count of [1, 2]) {
      const { createRelease } = await owner.graphql<{ createRelease: { id: string; batchCount: number } }>(
        'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount } }',
        { input: { datasetId: createDataset.id, expectedBatchSize, clip: 10, temperature: 2, drafter: { threshold: 0.5, sigma: 0.5 }, privateTokenCap: maxTokens, maxTokens } },
      );
      const started = process.hrtime.bigint();
      for (let i = 0; i < count; i++) workers.push(spawnNode('apps/worker/src/main.js', { DATABASE_URL: databaseUrl, SYNTHGATE_DATA_DIR: dataDir, GENERATION_THREADS: String(Math.max(1, Math.floor(cpus().length / count))) }));
      let status = 'QUEUED';
      while (status === 'QUEUED' || status === 'RUNNING') {
        await new Promise((resolve) => setTimeout(resolve, 250));
        status = (await owner.graphql<{ release: { status: string } }>('query($id: ID!) { release(id: $id) { status } }', { id: createRelease.id })).release.status;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (status !== 'SUCCEEDED') throw new Error(`release ended ${status}`);
      rows.push({
        workers: count,
        records,
        expectedBatchSize,
        examples: createRelease.batchCount,
        maxTokens,
        wallSeconds: seconds.toFixed(1),
        examplesPerMinute: ((createRelease.batchCount / seconds) * 60).toFixed(1),
      });
      await Promise.all(workers.splice(0).map(stop));
    }
    console.log(`release of a ${records}-record dataset with models/default (${cpus().length} cores; worker threads split between workers; wall time includes worker start-up)`);
    console.table(rows);
  } finally {
    await Promise.all(workers.map(stop));
    await stop(gateway);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
