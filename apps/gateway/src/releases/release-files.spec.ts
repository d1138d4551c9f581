import { type RecordSchema, textAndLabelSchema } from '@synthgate/records';
import { tableFromIPC, Type } from 'apache-arrow';
import { strFromU8, unzipSync } from 'fflate';
// An independent reader (Rust's parquet crate compiled to WebAssembly), not the library that wrote the file.
import { readParquet } from 'parquet-wasm';
import { releaseBundle } from './release-bundle';
import { BUNDLE_PARQUET_PATH, type CardRelease, datasetCard } from './release-card';
import { csvHeader, csvLine, type ExportedRecord, jsonLine, parquetFile } from './release-files';

const schema: RecordSchema = {
  fields: [
    { name: 'message', type: { kind: 'text', maxTokens: 64 }, optional: false },
    { name: 'product', type: { kind: 'category', values: ['router', 'modem'] }, optional: false },
    { name: 'priority', type: { kind: 'integer', min: 1, max: 5 }, optional: false },
    { name: 'score', type: { kind: 'number', min: -1, max: 1, decimals: 2 }, optional: true },
    { name: 'urgent', type: { kind: 'boolean' }, optional: true },
  ],
  conditionField: 'product',
};

const records: ExportedRecord[] = [
  { ordinal: 0, values: { message: 'no signal, "again"\nand again', product: 'router', priority: 2, score: -0.25, urgent: true } },
  { ordinal: 1, values: { message: 'Ünïcödé 日本語 🎉', product: 'modem', priority: 5, score: null, urgent: null } },
  { ordinal: 2, values: { priority: 1, product: 'modem', message: 'x' } },
];

function readBack(file: Uint8Array) {
  return tableFromIPC(readParquet(file).intoIPCStream());
}

describe('Parquet export, read back by parquet-wasm and apache-arrow', () => {
  it('types each column from the schema (UTF8, INT64, DOUBLE, BOOLEAN) and makes exactly the optional ones nullable', () => {
    const table = readBack(parquetFile(schema, records));
    const fields = table.schema.fields.map((field) => [field.name, Type[field.typeId], field.nullable]);
    expect(fields).toEqual([
      ['message', 'Utf8', false],
      ['product', 'Utf8', false],
      ['priority', 'Int', false],
      ['score', 'Float', true],
      ['urgent', 'Bool', true],
    ]);
    const priority = table.schema.fields[2]!.type as { bitWidth: number; isSigned: boolean };
    expect([priority.bitWidth, priority.isSigned]).toEqual([64, true]);
    expect((table.schema.fields[3]!.type as { precision: number }).precision).toBe(2); // Precision.DOUBLE
  });

  it('keeps every value exactly, nulls included, in record order', () => {
    const table = readBack(parquetFile(schema, records));
    expect(table.numRows).toBe(3);
    const rows = table.toArray().map((row) => row.toJSON() as Record<string, unknown>);
    expect(rows).toEqual([
      { message: 'no signal, "again"\nand again', product: 'router', priority: 2n, score: -0.25, urgent: true },
      { message: 'Ünïcödé 日本語 🎉', product: 'modem', priority: 5n, score: null, urgent: null },
      { message: 'x', product: 'modem', priority: 1n, score: null, urgent: null },
    ]);
  });

  it('writes a text-and-label release as text and label columns, label nullable when the dataset is unlabelled', () => {
    const labelled = readBack(parquetFile(textAndLabelSchema(['a', 'b'], 2048), [{ ordinal: 0, values: { text: 'hello', label: 'b' } }]));
    expect(labelled.schema.fields.map((field) => [field.name, field.nullable])).toEqual([
      ['text', false],
      ['label', false],
    ]);
    expect(labelled.toArray().map((row) => row.toJSON())).toEqual([{ text: 'hello', label: 'b' }]);
    const unlabelled = readBack(parquetFile(textAndLabelSchema([], 2048), [{ ordinal: 0, values: { text: '', label: null } }]));
    expect(unlabelled.toArray().map((row) => row.toJSON())).toEqual([{ text: '', label: null }]);
  });

  it('refuses a record whose value does not fit its column instead of writing it wrong', () => {
    expect(() => parquetFile(schema, [{ ordinal: 0, values: { message: 'a', product: 'modem', priority: 1.5 } }])).toThrow('priority: expected a whole number');
    expect(() => parquetFile(schema, [{ ordinal: 0, values: { message: 'a', product: 'modem' } }])).toThrow('priority: a required value is missing');
  });

  it('refuses to write a file of no rows (hyparquet-writer 0.17 writes one that arrow-rs cannot read)', () => {
    expect(() => parquetFile(schema, [])).toThrow('at least one record');
  });
});

describe('JSON Lines and CSV exports', () => {
  it('write one key or column per field in schema order, null for missing values', () => {
    expect(jsonLine(schema, records[2]!.values)).toBe('{"message":"x","product":"modem","priority":1,"score":null,"urgent":null}\n');
    expect(csvHeader(schema)).toBe('message,product,priority,score,urgent\n');
    expect(csvLine(schema, records[0]!.values)).toBe('"no signal, ""again""\nand again",router,2,-0.25,true\n');
    expect(csvLine(schema, records[1]!.values)).toBe('Ünïcödé 日本語 🎉,modem,5,,\n');
  });
});

const release: CardRelease = {
  id: '6f1c1c7e-0000-4000-8000-000000000001',
  datasetName: 'support tickets',
  createdAt: new Date('2026-12-03T12:00:00Z'),
  recordCount: 5000,
  batchCount: 3,
  model: { name: 'synthgate-default', fingerprint: 'ab'.repeat(32), files: [{ path: 'model.onnx', bytes: 1234, sha256: 'cd'.repeat(32) }] },
  cost: {
    differentiallyPrivate: true,
    rho: 0.05,
    epsilon: 1.5,
    delta: 1e-6,
    conversion: 'tight',
    privateTokenCap: 20,
    rhoPerPrivateToken: 0.0025,
    labelCountRho: 0,
    clusteringRho: 0,
    tokensRho: 0.05,
    floatingPointDelta: null,
  },
  parameters: {
    mode: 'PRIVATE',
    mechanism: 'private-prediction',
    model: 'synthgate-default',
    expectedBatchSize: 255,
    clip: 10,
    temperature: 2,
    publicTemperature: 1,
    drafter: null,
    privateTokenCap: 20,
    targetEpsilon: null,
    maxTokens: 64,
    maxPromptTokens: 256,
    topK: 0,
    labels: ['modem', 'router'],
    labelAllocation: { mode: 'DECLARED', proportions: [{ label: 'modem', weight: 1 }, { label: 'router', weight: 2 }], countSigma: null },
    batching: { mode: 'RANDOM', clusters: null, iterations: null, featureDimension: null, clusteringEpsilon: null, sumSigma: null, lloydCountSigma: null, countSigma: null },
    promptTemplate: 'Here is a record about {label}: {text}\n\nHere is another record about {label}:',
    publicPromptTemplate: 'Here is another record about {label}:',
  },
};

describe('the release bundle', () => {
  const bundle = unzipSync(releaseBundle(release, schema, records));
  const folder = `release-${release.id}`;

  it('holds the card, the schema and the Parquet file where the card says', () => {
    expect(Object.keys(bundle).sort()).toEqual([`${folder}/`, `${folder}/README.md`, `${folder}/${BUNDLE_PARQUET_PATH}`, `${folder}/schema.json`]);
    expect(JSON.parse(strFromU8(bundle[`${folder}/schema.json`]!))).toEqual(schema);
    expect(readBack(bundle[`${folder}/${BUNDLE_PARQUET_PATH}`]!).numRows).toBe(3);
  });

  it('has a Hugging Face card header: features typed as the Parquet columns, a train split, and a default config pointing at the Parquet file', () => {
    const card = strFromU8(bundle[`${folder}/README.md`]!);
    const header = card.slice(0, card.indexOf('\n---\n', 4) + 5);
    expect(header).toBe(
      [
        '---',
        'license: other',
        `pretty_name: "support tickets: synthetic release ${release.id}"`,
        'tags:',
        '- synthetic',
        '- differential-privacy',
        '- synthgate',
        'size_categories:',
        '- n<1K',
        'dataset_info:',
        '  features:',
        '  - name: message',
        '    dtype: string',
        '  - name: product',
        '    dtype: string',
        '  - name: priority',
        '    dtype: int64',
        '  - name: score',
        '    dtype: float64',
        '  - name: urgent',
        '    dtype: bool',
        '  splits:',
        '  - name: train',
        '    num_examples: 3',
        'configs:',
        '- config_name: default',
        '  data_files:',
        '  - split: train',
        '    path: data/train-00000-of-00001.parquet',
        '---',
        '',
      ].join('\n'),
    );
  });

  it('states the schema, the size, the privacy parameters and guarantee in words, the model and the generation settings', () => {
    const card = strFromU8(bundle[`${folder}/README.md`]!);
    expect(card).toContain('| priority | integer | int64 | no | a whole number from 1 to 5 |');
    expect(card).toContain('| product | category | string | no | one of `router`, `modem` |');
    expect(card).toContain('3 synthetic records (one per batch; 3 batches planned over 5000 sensitive records)');
    expect(card).toContain('(epsilon = 1.500, delta = 0.000001)');
    expect(card).toContain('whether or not any one sensitive record was in the dataset');
    expect(card).toContain(`e^epsilon = ${Math.exp(1.5).toPrecision(4)}`);
    expect(card).toContain(`\`synthgate-default\`, fingerprint \`${'ab'.repeat(32)}\``);
    expect(card).toContain('| expected batch size s | 255 |');
    expect(card).toContain('declared proportions (modem: 1, router: 2)');
    expect(card).not.toContain('no signal'); // the card holds no record
  });

  it('says plainly when a release has no guarantee, or read no record', () => {
    const nonPrivate = datasetCard({ ...release, parameters: { ...release.parameters, mode: 'NON_PRIVATE_REFERENCE' }, cost: { ...release.cost, differentiallyPrivate: false, rho: null, epsilon: null } }, schema, 3);
    expect(nonPrivate).toContain('**This release has no privacy guarantee.**');
    const publicOnly = datasetCard({ ...release, parameters: { ...release.parameters, mode: 'PUBLIC_ONLY' } }, schema, 3);
    expect(publicOnly).toContain('no sensitive record was read');
  });
});
