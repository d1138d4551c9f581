import { Client } from 'pg';
import { type QueryRunner } from 'typeorm';
import { ReleaseMechanism1764390420000 } from '../migrations/1764390420000-ReleaseMechanism';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';

/*
 * The migration that moved a release's mechanism parameters into `release.mechanism`: run down,
 * each row is back in the old layout (`parameters.batchSize` and the mechanism's fields, keyed by
 * mode); run up again, each row converts to exactly the mechanism parameters the gateway stored.
 */
describe('migration ReleaseMechanism', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let sql: Client;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', ALLOW_BENCHMARK_DATASETS: 'true' });
    acme = await createOrganization(gateway);
    sql = new Client({ connectionString: gateway.databaseUrl });
    await sql.connect();
  });
  afterAll(async () => {
    await sql.end();
    await gateway.close();
  });

  const lines = (count: number) => `text,label\n${Array.from({ length: count }, (_, i) => `"record ${i}",${i % 2 ? 'billing' : 'hardware'}`).join('\n')}\n`;

  it('converts PRIVATE, PUBLIC_ONLY and NON_PRIVATE_REFERENCE rows both ways', async () => {
    const owner = acme.users.DATA_OWNER;
    const datasetId = (await createDataset(gateway, owner, { epsilon: 8, delta: 1e-6 })).id;
    await importRecords(gateway, owner.token, datasetId, lines(40));
    const { createDataset: benchmark } = await gateway.data<{ createDataset: { id: string } }>(
      owner.token,
      'mutation { createDataset(input: { name: "benchmark-migration", labelField: "label", labels: ["billing", "hardware"], benchmark: true, budget: { epsilon: 5, delta: 1e-6 } }) { id } }',
    );
    await importRecords(gateway, owner.token, benchmark.id, lines(20));
    const create = (input: Record<string, unknown>) =>
      gateway.data<{ createRelease: { id: string } }>(owner.token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input }).then((r) => r.createRelease.id);
    const ids = [
      await create({ datasetId, expectedBatchSize: 5, clip: 3, temperature: 1.5, publicTemperature: 0.5, topK: 7, drafter: { threshold: 0.5, sigma: 2 }, privateTokenCap: 3, maxTokens: 6 }),
      await create({ datasetId, expectedBatchSize: 10, mode: 'PUBLIC_ONLY', publicTemperature: 0, maxTokens: 4 }),
      await create({ datasetId: benchmark.id, expectedBatchSize: 4, mode: 'NON_PRIVATE_REFERENCE', temperature: 0.8, maxTokens: 5 }),
    ];
    const read = async () => (await sql.query<{ id: string; mechanism: unknown; parameters: Record<string, unknown> }>('SELECT id, mechanism, parameters FROM release WHERE id = ANY($1) ORDER BY created_at', [ids])).rows;
    const stored = await read();
    expect(stored.map((row) => row.mechanism)).toEqual([
      { mechanism: 'private-prediction', expectedBatchSize: 5, clip: 3, temperature: 1.5, publicTemperature: 0.5, topK: 7, drafter: { threshold: 0.5, sigma: 2 }, privateTokenCap: 3 },
      { mechanism: 'public-only', expectedBatchSize: 10, publicTemperature: 0, privateTokenCap: 0 },
      { mechanism: 'non-private-reference', expectedBatchSize: 4, temperature: 0.8, publicTemperature: 1, topK: 0, privateTokenCap: 5 },
    ]);
    for (const row of stored) expect(Object.keys(row.parameters)).not.toEqual(expect.arrayContaining(['batchSize']));

    const runner = { query: (query: string, parameters?: unknown[]) => sql.query(query, parameters) } as Pick<QueryRunner, 'query'> as QueryRunner;
    const migration = new ReleaseMechanism1764390420000();
    await migration.down(runner);
    const old = (await sql.query<{ parameters: Record<string, unknown> }>('SELECT parameters FROM release WHERE id = ANY($1) ORDER BY created_at', [ids])).rows.map((row) => row.parameters);
    expect(old[0]).toMatchObject({ mode: 'PRIVATE', batchSize: 5, clip: 3, temperature: 1.5, publicTemperature: 0.5, topK: 7, drafter: { threshold: 0.5, sigma: 2 }, privateTokenCap: 3 });
    expect(old[1]).toMatchObject({ mode: 'PUBLIC_ONLY', batchSize: 10, publicTemperature: 0, privateTokenCap: 0 });
    expect(old[2]).toMatchObject({ mode: 'NON_PRIVATE_REFERENCE', batchSize: 4, temperature: 0.8, publicTemperature: 1, topK: 0, drafter: null, privateTokenCap: 5 });

    await migration.up(runner);
    expect(await read()).toEqual(stored);
  });
});
