import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { createTestModelsDir } from './setup/models';
import { type GatewayProcess, spawnGateway, spawnWorker, waitUntil, type WorkerProcess } from './setup/processes';
import { createTestDatabase } from './setup/test-database';

/** The value of one sample of the exposition text, e.g. `synthgate_releases{status="SUCCEEDED"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * A gateway process and a worker process at LOG_LEVEL=trace, their output captured: a release
 * runs end to end on records carrying a unique marker, is read back and exported, and neither
 * the marker, nor a synthetic text, nor any API token or the metrics token appears in any log
 * line. GET /metrics then shows the fleet's work with no name or text in any label.
 */
describe('logs and metrics of a deployment', () => {
  const marker = `MARKER${randomBytes(8).toString('hex')}`;
  const datasetName = `dataset-name-${randomBytes(6).toString('hex')}`;
  const metricsToken = randomBytes(24).toString('hex');
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let gateway: GatewayProcess;
  let worker: WorkerProcess;
  let acme: TestOrganization;
  let releaseId: string;
  let batchCount: number;
  const syntheticTexts: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'synthgate-observability-'));
    const env = { DATABASE_URL: database.url, SYNTHGATE_DATA_DIR: dataDir, MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', LOG_LEVEL: 'trace' };
    gateway = await spawnGateway({ ...env, METRICS_TOKEN: metricsToken });
    worker = spawnWorker({ ...env, GENERATION_THREADS: '1', WORKER_HEARTBEAT_SECONDS: '1' });
    acme = await createOrganization(gateway);
  }, 120_000);

  afterAll(async () => {
    for (const child of [gateway?.child, worker?.child]) if (child && child.exitCode === null) child.kill('SIGKILL');
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a release on records carrying the marker, and reads and exports it', async () => {
    const owner = acme.users.DATA_OWNER;
    const dataset = await createDataset(gateway, owner, { name: datasetName, epsilon: 100, delta: 1e-7, labels: ['rain', 'sun'] });
    const lines = Array.from({ length: 30 }, (_, i) => `"${marker} sensitive record ${i} about the weather",${i % 2 ? 'rain' : 'sun'}`);
    const imported = await importRecords(gateway, owner.token, dataset.id, `text,label\n${lines.join('\n')}\n`);
    expect(imported.body.imported).toBe(30);
    const { createRelease } = await gateway.data<{ createRelease: { id: string; batchCount: number } }>(
      owner.token,
      'mutation CreateTheRelease($input: ReleaseInput!) { createRelease(input: $input) { id batchCount } }',
      { input: { datasetId: dataset.id, expectedBatchSize: 5, clip: 1, temperature: 2, privateTokenCap: 16, maxTokens: 16 } },
    );
    ({ id: releaseId, batchCount } = createRelease);
    await waitUntil(
      async () => (await gateway.data<{ release: { status: string } }>(owner.token, 'query($id: ID!) { release(id: $id) { status } }', { id: releaseId })).release.status === 'SUCCEEDED',
      120_000,
      'the release to succeed',
      250,
    );
    const { release } = await gateway.data<{ release: { records: { nodes: { text: string }[] } } }>(
      owner.token,
      'query($id: ID!) { release(id: $id) { records(first: 100) { nodes { text } } } }',
      { id: releaseId },
    );
    const exported = await fetch(`${gateway.url}/releases/${releaseId}/export?format=jsonl`, { headers: { authorization: `Bearer ${owner.token}`, 'x-request-id': `export-${marker.slice(6)}` } });
    expect(exported.status).toBe(200);
    const exportedTexts = (await exported.text()).trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text);
    expect(exportedTexts).toHaveLength(batchCount);
    syntheticTexts.push(...new Set([...release.records.nodes.map((node) => node.text), ...exportedTexts].filter((text) => text.trim().length >= 8)));
    expect(syntheticTexts.length).toBeGreaterThan(0);
  }, 180_000);

  it('GET /metrics needs the metrics token and shows fleet-wide numbers with no name or text in any label', async () => {
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${acme.users.ADMIN.token}` } })).status).toBe(401);
    expect((await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.adminToken}` } })).status).toBe(401);
    const scrape = async () => {
      const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      return response.text();
    };
    // Workers publish their totals every heartbeat.
    let text = '';
    await waitUntil(async () => sample((text = await scrape()), 'synthgate_worker_batches_total') === batchCount, 30_000, 'the worker totals to reach the gateway', 250);
    expect(sample(text, 'synthgate_releases{status="SUCCEEDED"}')).toBe(1);
    expect(sample(text, 'synthgate_releases{status="FAILED"}')).toBe(0);
    expect(sample(text, 'synthgate_queue_depth')).toBe(0);
    expect(sample(text, 'synthgate_workers_alive')).toBe(1);
    expect(sample(text, 'synthgate_database_up')).toBe(1);
    const privateTokens = sample(text, 'synthgate_worker_tokens_total{kind="private"}')!;
    const publicTokens = sample(text, 'synthgate_worker_tokens_total{kind="public"}')!;
    expect(privateTokens).toBeGreaterThan(0);
    expect(privateTokens + publicTokens).toBeGreaterThanOrEqual(batchCount);
    expect(sample(text, 'synthgate_model_step_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'synthgate_model_step_seconds_bucket{le="+Inf"}')).toBe(sample(text, 'synthgate_model_step_seconds_count'));
    // Per operation by its root field, never the client's operation name (CreateTheRelease) or query text.
    expect(sample(text, 'synthgate_graphql_requests_total{operation="createRelease",type="mutation",outcome="ok"}')).toBe(1);
    expect(sample(text, 'synthgate_graphql_request_duration_seconds_count{operation="release",type="query"}')).toBeGreaterThan(0);
    expect(sample(text, 'synthgate_http_requests_total{route="/datasets/:id/records",method="POST",status="201"}')).toBe(1);
    expect(sample(text, 'synthgate_http_requests_total{route="/releases/:id/export",method="GET",status="200"}')).toBe(1);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    for (const secret of [marker, datasetName, acme.name, 'CreateTheRelease', 'weather', metricsToken, gateway.adminToken, releaseId]) expect(text).not.toContain(secret);
  }, 60_000);

  it('no log line of the gateway or the worker carries a record, a synthetic text, a token or a secret', async () => {
    gateway.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const logs = { gateway: gateway.output(), worker: worker.output() };
    const entries: Record<string, unknown>[] = [];
    for (const [service, output] of Object.entries(logs)) {
      const lines = output.split('\n').filter((line) => line.length > 0);
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        expect(entry).toMatchObject({ service, level: expect.any(String), time: expect.any(String) });
        entries.push(entry);
      }
    }
    const all = `${logs.gateway}\n${logs.worker}`;
    const secrets = [marker, metricsToken, gateway.adminToken, ...Object.values(acme.users).map((user) => user.token)];
    for (const secret of secrets) expect(all).not.toContain(secret);
    for (const text of syntheticTexts) {
      expect(all).not.toContain(text);
      expect(all).not.toContain(JSON.stringify(text).slice(1, -1));
    }
    // Each request is one line with its id, route and status; GraphQL lines name the operation.
    expect(entries).toContainEqual(expect.objectContaining({ service: 'gateway', msg: 'request', requestId: `export-${marker.slice(6)}`, route: '/releases/:id/export', status: 200 }));
    expect(entries).toContainEqual(expect.objectContaining({ msg: 'request', route: '/graphql', operation: 'createRelease', requestId: expect.any(String) }));
    expect(entries).toContainEqual(expect.objectContaining({ service: 'worker', msg: expect.stringContaining(`release ${releaseId} succeeded`) }));
  }, 60_000);
});
