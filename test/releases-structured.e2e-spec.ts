/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { recordTokenBound } from '@synthgate/generation/catalog';
import { type RecordSchema, validateRecord } from '@synthgate/records';
import { schemaInput } from '../apps/cli/src/dataset.command';
import { createOrganization, createStructuredDataset, importRecords, type TestOrganization, ticketSchema } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { startTestWorker, waitForRelease } from './setup/worker';

/**
 * A release of a structured dataset (issue 18) through the gateway and a worker, on the default
 * model (its byte-level tokenizer can write every JSON character): every synthetic record parses
 * and satisfies the declared schema, its condition value is the batch's label, and its text is the
 * record's canonical JSON.
 */
describe('structured releases end to end', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let datasetId: string;
  const schema: RecordSchema = {
    fields: [
      { name: 'message', optional: false, type: { kind: 'text', maxTokens: 12 } },
      { name: 'product', optional: false, type: { kind: 'category', values: ['router', 'modem'] } },
      { name: 'priority', optional: false, type: { kind: 'integer', min: 1, max: 5 } },
      { name: 'score', optional: true, type: { kind: 'number', min: -1, max: 1, decimals: 2 } },
      { name: 'urgent', optional: true, type: { kind: 'boolean' } },
    ],
    conditionField: 'product',
  };

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: join(__dirname, '..', 'models'), DEFAULT_MODEL: 'default' });
    worker = await startTestWorker(gateway);
    acme = await createOrganization(gateway);
    datasetId = (await createStructuredDataset(gateway, acme.users.DATA_OWNER, ticketSchema({ messageTokens: 12 }), { name: 'tickets' })).id;
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ message: `the ${i % 2 ? 'router' : 'modem'} drops the line every ${i % 5 + 1} hours`, product: i % 2 ? 'router' : 'modem', priority: (i % 5) + 1, score: i % 3 ? [0.5, -0.25, 0.75][i % 3] : null, urgent: i % 4 === 0 }),
    );
    const imported = await importRecords(gateway, acme.users.DATA_OWNER.token, datasetId, lines.join('\n'), 'application/x-ndjson');
    expect([imported.status, imported.body]).toMatchObject([201, { imported: 40 }]);
  });
  afterAll(async () => {
    await worker.close();
    await gateway.close();
  });

  it.each([
    ['private, every step private', { mode: 'PRIVATE', drafter: null }],
    ['private with the drafter', { mode: 'PRIVATE', drafter: { threshold: 0.5, sigma: 1 } }],
    ['public only', { mode: 'PUBLIC_ONLY' }],
  ])('generates records that all parse and satisfy the schema: %s', async (_name, overrides) => {
    const { createRelease } = await gateway.data<{ createRelease: { id: string; batchCount: number } }>(
      acme.users.DATA_OWNER.token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount } }',
      { input: { datasetId, expectedBatchSize: 5, clip: 2, temperature: 2, privateTokenCap: 6, maxTokens: 120, ...overrides } },
    );
    expect(await waitForRelease(gateway, acme.users.DATA_OWNER.token, createRelease.id, 180_000)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    const db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ text: string; label: string | null; values: Record<string, unknown> | null }>('SELECT text, label, "values" FROM synthetic_record WHERE release_id = $1 ORDER BY ordinal', [createRelease.id]);
      expect(rows).toHaveLength(createRelease.batchCount);
      for (const row of rows) {
        expect(row.values).not.toBeNull();
        const checked = validateRecord(schema, JSON.parse(row.text) as Record<string, unknown>, { source: 'json', defaultMaxChars: 100_000 });
        expect([row.text, checked.problems]).toEqual([row.text, []]);
        expect(JSON.parse(row.text)).toEqual(row.values);
        // The text keeps the schema's field order (jsonb reorders the keys of values).
        expect(Object.keys(JSON.parse(row.text) as object)).toEqual(schema.fields.map((field) => field.name));
        // The condition field holds the batch's label: it was fixed before decoding.
        expect(row.values!['product']).toBe(row.label);
      }
      expect(new Set(rows.map((row) => row.label))).toEqual(new Set(['router', 'modem']));
    } finally {
      await db.end();
    }
  });

  it("plans and stores maxTokens of at least the schema's record bound, so memory is planned for the record that closes", async () => {
    const bound = recordTokenBound(schema);
    expect(bound).toBeGreaterThan(6);
    const { createRelease } = await gateway.data<{ createRelease: { id: string; parameters: { maxTokens: number } } }>(
      acme.users.DATA_OWNER.token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id parameters { maxTokens } } }',
      { input: { datasetId, expectedBatchSize: 5, mode: 'PUBLIC_ONLY', maxTokens: 6 } },
    );
    expect(createRelease.parameters.maxTokens).toBe(bound);
    expect(await waitForRelease(gateway, acme.users.DATA_OWNER.token, createRelease.id, 180_000)).toEqual({ status: 'SUCCEEDED', failureReason: null });
  });

  it('imports the structured demo dataset whole (demo/support-tickets.schema.json, as the CLI reads it)', async () => {
    const demo = join(__dirname, '..', 'demo');
    const dataset = await createStructuredDataset(gateway, acme.users.DATA_OWNER, schemaInput(join(demo, 'support-tickets.schema.json')), { name: 'structured demo', budget: { epsilon: 3, delta: 1e-6 } });
    const body = readFileSync(join(demo, 'support-tickets-structured.jsonl'), 'utf8');
    const imported = await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, body, 'application/x-ndjson');
    expect([imported.status, imported.body]).toMatchObject([201, { imported: 320 }]);
  });
});
