/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { join } from 'node:path';
import { type RecordSchema, validateRecord } from '@synthgate/records';
import { tableFromIPC, Type } from 'apache-arrow';
import { strFromU8, unzipSync } from 'fflate';
import { readParquet } from 'parquet-wasm';
import { createDataset, createOrganization, createStructuredDataset, importRecords, type TestOrganization, ticketSchema } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

/** Parquet read back by an independent reader (arrow-rs through parquet-wasm), as rows of plain values. */
function parquetRows(bytes: Uint8Array): { columns: [string, string, boolean][]; rows: Record<string, unknown>[] } {
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  return {
    columns: table.schema.fields.map((field) => [field.name, Type[field.typeId], field.nullable]),
    rows: table.toArray().map((row) => row.toJSON() as Record<string, unknown>),
  };
}

describe('release exports: Parquet, the dataset card bundle, typed records', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    worker = await startTestWorker(gateway);
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
  });
  afterAll(async () => {
    await worker.close();
    await gateway.close();
  });

  const owner = () => acme.users.DATA_OWNER;

  async function download(token: string, id: string, format: string): Promise<Response> {
    return fetch(`${gateway.url}/releases/${id}/export?format=${format}`, { headers: { authorization: `Bearer ${token}` } });
  }

  it('exports a text-and-label release as before in JSON Lines and CSV, and as Parquet and a zip bundle with the same records', async () => {
    const datasetId = (await createDataset(gateway, owner(), { epsilon: 8, delta: 1e-6 })).id;
    const lines = ['text,label', ...Array.from({ length: 40 }, (_, i) => `"Ticket ${i}: the printer jams",${i % 2 ? 'billing' : 'hardware'}`)];
    expect((await importRecords(gateway, owner().token, datasetId, `${lines.join('\n')}\n`)).body.imported).toBe(40);
    const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', {
      input: { datasetId, expectedBatchSize: 10, clip: 1, temperature: 2, privateTokenCap: 4, maxTokens: 6 },
    });
    const id = createRelease.id;
    expect(await waitForRelease(gateway, owner().token, id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    await gateway.data(owner().token, 'mutation($id: ID!, $orgs: [ID!]!) { publishRelease(id: $id, organizationIds: $orgs) { id } }', { id, orgs: [globex.id] });
    const consumer = globex.users.CONSUMER.token;

    const { release } = await gateway.data<{
      release: { structured: boolean; recordSchema: { fields: { name: string; kind: string }[] }; records: { nodes: { ordinal: number; text: string; label: string; values: unknown; fields: unknown[] }[] } };
    }>(consumer, 'query($id: ID!) { release(id: $id) { structured recordSchema { fields { name kind } } records(first: 100) { nodes { ordinal text label values fields { name kind stringValue numberValue booleanValue } } } } }', { id });
    expect(release.structured).toBe(false);
    expect(release.recordSchema.fields).toEqual([
      { name: 'text', kind: 'TEXT' },
      { name: 'label', kind: 'CATEGORY' },
    ]);
    const records = release.records.nodes;
    expect(records).toHaveLength(4);
    for (const record of records) {
      expect(record.values).toEqual({ text: record.text, label: record.label });
      expect(record.fields).toEqual([
        { name: 'text', kind: 'TEXT', stringValue: record.text, numberValue: null, booleanValue: null },
        { name: 'label', kind: 'CATEGORY', stringValue: record.label, numberValue: null, booleanValue: null },
      ]);
    }

    // JSON Lines and CSV keep their layout for text-and-label releases.
    const jsonl = (await (await download(consumer, id, 'jsonl')).text()).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(jsonl).toEqual(records.map((r) => ({ ordinal: r.ordinal, label: r.label, text: r.text })));
    expect((await (await download(consumer, id, 'csv')).text()).split('\n')[0]).toBe('ordinal,label,text');

    const parquet = await download(consumer, id, 'parquet');
    expect(parquet.status).toBe(200);
    expect(parquet.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const read = parquetRows(new Uint8Array(await parquet.arrayBuffer()));
    expect(read.columns).toEqual([
      ['text', 'Utf8', false],
      ['label', 'Utf8', false],
    ]);
    expect(read.rows).toEqual(records.map((r) => ({ text: r.text, label: r.label })));

    const zip = await download(consumer, id, 'zip');
    expect(zip.headers.get('content-disposition')).toBe(`attachment; filename="release-${id}.zip"`);
    const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
    const card = strFromU8(files[`release-${id}/README.md`]!);
    expect(card).toContain('configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-00000-of-00001.parquet\n');
    expect(card).toContain('    num_examples: 4\n');
    expect(card).toContain('This release is differentially private');
    expect(card).toContain('| expected batch size s | 10 |');
    expect(card).toContain('`tiny`, fingerprint');
    expect(parquetRows(files[`release-${id}/data/train-00000-of-00001.parquet`]!).rows).toEqual(read.rows);

    const bad = await download(consumer, id, 'xlsx');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'BAD_USER_INPUT', message: 'format: must be one of jsonl, csv, parquet, zip' });
    const outsider = await download(acme.users.COMPLIANCE.token, id, 'parquet');
    expect(outsider.status).toBe(403);
  }, 120_000);
});

describe('structured release exports', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;

  beforeAll(async () => {
    // No worker: the structured worker is issue 18's generation side. The release's records are
    // stored here as that worker stores them (ReleaseRepository.insertRecord with values).
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
  });
  afterAll(() => gateway.close());

  const owner = () => acme.users.DATA_OWNER;
  const download = (id: string, format: string) => fetch(`${gateway.url}/releases/${id}/export?format=${format}`, { headers: { authorization: `Bearer ${owner().token}` } });
  const stored = [
    { message: 'router "reboots",\nat night', product: 'router', priority: 5, score: -0.5, urgent: true },
    { message: 'Ünïcödé 🎉', product: 'modem', priority: 1, score: null, urgent: null },
  ];

  async function structuredRelease(): Promise<string> {
    const dataset = await createStructuredDataset(gateway, owner(), ticketSchema({ messageTokens: 16 }));
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ message: `no signal ${i}`, product: i % 2 ? 'router' : 'modem', priority: (i % 5) + 1 }));
    expect((await importRecords(gateway, owner().token, dataset.id, lines.join('\n'), 'application/x-ndjson')).body.imported).toBe(20);
    const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', {
      input: { datasetId: dataset.id, expectedBatchSize: 10, clip: 1, temperature: 2, privateTokenCap: 4, maxTokens: 6 },
    });
    return createRelease.id;
  }

  it('exports one typed column per field in JSON Lines, CSV and Parquet, and GraphQL returns typed fields', async () => {
    const id = await structuredRelease();
    // Nothing stored yet: there is no Parquet file of no records.
    const empty = await download(id, 'parquet');
    expect(empty.status).toBe(409);
    for (const [ordinal, values] of stored.entries()) {
      await gateway.database.repositories.releases.insertRecord({ releaseId: id, ordinal, text: JSON.stringify(values), label: values.product, values });
    }

    const { release } = await gateway.data<{ release: { structured: boolean; records: { nodes: { values: unknown; fields: unknown[] }[] } } }>(
      owner().token,
      'query($id: ID!) { release(id: $id) { structured records(first: 10) { nodes { values fields { name kind stringValue numberValue booleanValue } } } } }',
      { id },
    );
    expect(release.structured).toBe(true);
    expect(release.records.nodes.map((node) => node.values)).toEqual(stored);
    expect(release.records.nodes[0]!.fields).toEqual([
      { name: 'message', kind: 'TEXT', stringValue: stored[0]!.message, numberValue: null, booleanValue: null },
      { name: 'product', kind: 'CATEGORY', stringValue: 'router', numberValue: null, booleanValue: null },
      { name: 'priority', kind: 'INTEGER', stringValue: null, numberValue: 5, booleanValue: null },
      { name: 'score', kind: 'NUMBER', stringValue: null, numberValue: -0.5, booleanValue: null },
      { name: 'urgent', kind: 'BOOLEAN', stringValue: null, numberValue: null, booleanValue: true },
    ]);

    const jsonl = (await (await download(id, 'jsonl')).text()).trim().split('\n');
    expect(jsonl).toEqual(stored.map((values) => JSON.stringify(values)));
    expect(await (await download(id, 'csv')).text()).toBe('message,product,priority,score,urgent\n"router ""reboots"",\nat night",router,5,-0.5,true\nÜnïcödé 🎉,modem,1,,\n');

    const read = parquetRows(new Uint8Array(await (await download(id, 'parquet')).arrayBuffer()));
    expect(read.columns).toEqual([
      ['message', 'Utf8', false],
      ['product', 'Utf8', false],
      ['priority', 'Int', false],
      ['score', 'Float', true],
      ['urgent', 'Bool', true],
    ]);
    expect(read.rows).toEqual(stored.map((values) => ({ ...values, priority: BigInt(values.priority) })));

    const files = unzipSync(new Uint8Array(await (await download(id, 'zip')).arrayBuffer()));
    const card = strFromU8(files[`release-${id}/README.md`]!);
    expect(card).toContain('  - name: priority\n    dtype: int64\n  - name: score\n    dtype: float64\n  - name: urgent\n    dtype: bool\n');
    expect(card).toContain('| product | category | string | no | one of `router`, `modem` |');
    expect(JSON.parse(strFromU8(files[`release-${id}/schema.json`]!))).toMatchObject({ conditionField: 'product' });
  });

  it('refuses a Parquet export of records that do not fit the schema, and still streams them as JSON Lines', async () => {
    const id = await structuredRelease();
    await gateway.database.repositories.releases.insertRecord({ releaseId: id, ordinal: 0, text: 'not a record', label: 'modem' });
    const response = await download(id, 'parquet');
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('do not fit its schema');
    expect((await download(id, 'jsonl')).status).toBe(200);
  });
});

describe('a structured release generated by the worker, exported', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  const schema: RecordSchema = {
    fields: [
      { name: 'message', optional: false, type: { kind: 'text', maxTokens: 8 } },
      { name: 'product', optional: false, type: { kind: 'category', values: ['router', 'modem'] } },
      { name: 'priority', optional: false, type: { kind: 'integer', min: 1, max: 5 } },
      { name: 'urgent', optional: true, type: { kind: 'boolean' } },
    ],
    conditionField: 'product',
  };

  beforeAll(async () => {
    // The default model: its byte-level tokenizer can write every JSON character.
    gateway = await startTestGateway({ MODELS_DIR: join(__dirname, '..', 'models'), DEFAULT_MODEL: 'default' });
    worker = await startTestWorker(gateway);
    acme = await createOrganization(gateway);
  });
  afterAll(async () => {
    await worker.close();
    await gateway.close();
  });

  it('writes Parquet whose every row satisfies the schema and equals the typed records GraphQL returns', async () => {
    const owner = acme.users.DATA_OWNER.token;
    const dataset = await createStructuredDataset(gateway, acme.users.DATA_OWNER, ticketSchema({ messageTokens: 8, score: false }), { name: 'tickets' });
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ message: `the line drops every ${(i % 5) + 1} hours`, product: i % 2 ? 'router' : 'modem', priority: (i % 5) + 1, urgent: i % 3 === 0 }));
    expect((await importRecords(gateway, owner, dataset.id, lines.join('\n'), 'application/x-ndjson')).body.imported).toBe(20);
    const { createRelease } = await gateway.data<{ createRelease: { id: string; batchCount: number } }>(owner, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount } }', {
      input: { datasetId: dataset.id, expectedBatchSize: 5, mode: 'PUBLIC_ONLY', maxTokens: 80 },
    });
    const id = createRelease.id;
    expect(await waitForRelease(gateway, owner, id, 180_000)).toEqual({ status: 'SUCCEEDED', failureReason: null });

    const { release } = await gateway.data<{ release: { records: { nodes: { values: Record<string, unknown> }[] } } }>(owner, 'query($id: ID!) { release(id: $id) { records(first: 100) { nodes { values } } } }', { id });
    expect(release.records.nodes).toHaveLength(createRelease.batchCount);
    const read = parquetRows(new Uint8Array(await (await fetch(`${gateway.url}/releases/${id}/export?format=parquet`, { headers: { authorization: `Bearer ${owner}` } })).arrayBuffer()));
    expect(read.columns).toEqual([
      ['message', 'Utf8', false],
      ['product', 'Utf8', false],
      ['priority', 'Int', false],
      ['urgent', 'Bool', true],
    ]);
    const rows = read.rows.map((row) => ({ ...row, priority: Number(row.priority as bigint) }));
    for (const row of rows) expect(validateRecord(schema, row, { source: 'json', defaultMaxChars: 100_000 }).problems).toEqual([]);
    expect(rows).toEqual(release.records.nodes.map((node) => node.values));
  }, 240_000);
});
