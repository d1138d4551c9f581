import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createDataset, createOrganization } from './setup/factories';
import { createTestModelsDir } from './setup/models';
import { type GatewayProcess, spawnGateway, waitUntil } from './setup/processes';
import { createTestDatabase } from './setup/test-database';

/** True when a new TCP connection to the port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function csvRows(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `"record ${from + i} waiting for the shutdown",${(from + i) % 2 ? 'a' : 'b'}\n`).join('');
}

/**
 * The gateway as an operator runs it (dist/apps/gateway/src/main.js): on SIGTERM it takes no new
 * connection, lets the request in flight (a streaming import) finish, and exits 0.
 */
describe('gateway process shutdown', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let gateway: GatewayProcess;
  let db: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'synthgate-gateway-process-'));
    gateway = await spawnGateway({ DATABASE_URL: database.url, SYNTHGATE_DATA_DIR: dataDir, MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', LOG_LEVEL: 'info' });
    db = new Client({ connectionString: database.url });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    if (gateway?.child.exitCode === null) gateway.child.kill('SIGKILL');
    await db?.end();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers GET /metrics with 404 while METRICS_TOKEN is unset', async () => {
    const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: 'Bearer anything-at-all-0123456789' } });
    expect(response.status).toBe(404);
  });

  it('on SIGTERM refuses new connections, finishes a streaming import in flight, then exits 0', async () => {
    const acme = await createOrganization(gateway);
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    const port = Number(new URL(gateway.url).port);
    const upload = request({
      host: '127.0.0.1',
      port,
      path: `/datasets/${dataset.id}/records`,
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${acme.users.DATA_OWNER.token}` },
    });
    const response = new Promise<{ status: number; body: { imported?: number } }>((resolve, reject) => {
      upload.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { imported?: number } }));
      });
      upload.on('error', reject);
    });
    upload.write(`text,label\n${csvRows(0, 500)}`);
    // The import is in flight once its COPY is open on the server.
    await waitUntil(
      async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'COPY%'`)).rows[0]!.n > 0,
      30_000,
      'the import to open its COPY',
    );

    gateway.child.kill('SIGTERM');
    await waitUntil(async () => !(await accepts(port)), 15_000, 'the gateway to refuse new connections');
    expect(gateway.child.exitCode).toBeNull();

    upload.end(csvRows(500, 500));
    await expect(response).resolves.toEqual({ status: 201, body: expect.objectContaining({ imported: 1000 }) });
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(gateway.output()).toMatch(/SIGTERM/);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sensitive_record WHERE dataset_id = $1', [dataset.id]);
    expect(rows[0]!.n).toBe(1000);
  }, 120_000);
});
