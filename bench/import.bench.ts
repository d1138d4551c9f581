/**
 * `npm run bench:import`: imports generated CSV files (50,000 and 200,000 rows by default;
 * BENCH_IMPORT_SIZES=a,b,... for others) through the real HTTP endpoint of a gateway process on an
 * embedded PostgreSQL, and prints rows per second and the gateway process's peak resident memory
 * during each import. The upload streams from disk; memory must not grow with the file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '@synthgate/process';
import { GatewayClient } from '../apps/cli/src/gateway-client';

const sizes = (process.env.BENCH_IMPORT_SIZES ?? '50000,200000').split(',').map(Number);
const labels = ['billing', 'hardware', 'account', 'shipping'];

async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('id,text,label\n');
  for (let i = 0; i < rows; i++) {
    const line = `${i},"Ticket ${i}: the customer reports that order ${(i * 7919) % 100_000} arrived late, and asks, politely, for a refund of ${(i % 97) + 3} euros.",${labels[i % labels.length]}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

async function startGateway(dataDir: string, port: number, nodeOptions: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeOptions, join(__dirname, '..', 'apps', 'gateway', 'src', 'main.js')], {
    env: { ...process.env, SYNTHGATE_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'silent', IMPORT_MAX_BYTES: String(8 * 2 ** 30), DATABASE_URL: '' },
    stdio: 'ignore',
  });
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  throw new Error('the gateway did not start in 30 s');
}

/**
 * Without a heap limit V8 collects lazily, so resident memory drifts up with the bytes that passed
 * through; with a small old-space limit the same import must still succeed in bounded memory,
 * which shows nothing is retained.
 */
const heaps: { name: string; nodeOptions: string[] }[] = [
  { name: 'default heap', nodeOptions: [] },
  { name: 'heap capped at 64 MiB', nodeOptions: ['--max-old-space-size=64'] },
];

async function main(): Promise<void> {
  console.log('import through POST /datasets/:id/records: CSV streamed from disk, validated, COPY in one transaction');
  for (const heap of heaps) {
    console.log(`\n${heap.name}:`);
    await run(heap.nodeOptions);
  }
}

async function run(nodeOptions: string[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'synthgate-bench-import-'));
  const port = await findFreePort();
  const gateway = await startGateway(join(work, 'data'), port, nodeOptions);
  try {
    const admin = new GatewayClient(`http://127.0.0.1:${port}`, readFileSync(join(work, 'data', 'admin-token'), 'utf8').trim());
    const { me } = await admin.graphql<{ me: { organizationId: string } }>('{ me { organizationId } }');
    const { createUser } = await admin.graphql<{ createUser: { id: string } }>(
      'mutation($org: ID!) { createUser(input: { organizationId: $org, email: "bench@example.test", role: DATA_OWNER }) { id } }',
      { org: me.organizationId },
    );
    const { createApiToken } = await admin.graphql<{ createApiToken: { secret: string } }>(
      'mutation($user: ID!) { createApiToken(input: { userId: $user, name: "bench", reason: "benchmark: a token for the benchmark user" }) { secret } }',
      { user: createUser.id },
    );
    const owner = new GatewayClient(admin.url, createApiToken.secret);
    const rows: Record<string, string | number>[] = [];
    for (const size of sizes) {
      const file = join(work, `records-${size}.csv`);
      await writeCsv(file, size);
      const { createDataset } = await owner.graphql<{ createDataset: { id: string } }>(
        'mutation($name: String!) { createDataset(input: { name: $name, labelField: "label" }) { id } }',
        { name: `bench-${size}` },
      );
      const before = residentBytes(gateway.pid!);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(gateway.pid!))), 25);
      const started = process.hrtime.bigint();
      const result = (await owner.upload(`/datasets/${createDataset.id}/records`, file, 'text/csv')) as { imported: number };
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      clearInterval(sampler);
      peak = Math.max(peak, residentBytes(gateway.pid!));
      if (result.imported !== size) throw new Error(`imported ${JSON.stringify(result)}, expected ${size}`);
      rows.push({
        rows: size,
        fileMB: (statSync(file).size / 1e6).toFixed(1),
        seconds: seconds.toFixed(2),
        rowsPerSecond: Math.round(size / seconds),
        gatewayRssBeforeMiB: (before / 2 ** 20).toFixed(0),
        gatewayPeakRssMiB: (peak / 2 ** 20).toFixed(0),
      });
      rmSync(file);
    }
    console.table(rows);
  } finally {
    const exited = once(gateway, 'exit');
    gateway.kill('SIGTERM');
    await exited;
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
