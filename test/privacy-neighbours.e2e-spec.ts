/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { randomBytes } from 'node:crypto';
import { strFromU8, unzipSync } from 'fflate';
import { Client } from 'pg';
import { type GenerateExampleRequest, GenerationModel } from '@synthgate/generation';
import { createOrganization, importRecords, type TestOrganization, type TestUser } from './setup/factories';
import { type GraphQLResponse, startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

/**
 * Issue 13: everything a consumer can read is the same on two datasets that differ in one record,
 * except the DP outputs themselves. Each pair of datasets differs in one adversarial record:
 * - `labels`: a record with a rare label (item 1: the label set was the labels found in the data);
 * - `long`: a very long record, which slows its batch (item 3: timing), made the worker's memory
 *   check fail its batch (item 4) and set the width of the batch the public row shared (item 5).
 * The same releases run on both datasets of a pair, with the same seed and partition key (set in
 * the database before the worker starts: the seeded generator), and a consumer reads them through
 * the API. The public row's logits are also recorded inside the worker and compared bit for bit.
 */
const LABELS = ['billing', 'hardware', 'rare-condition-x'];
const BASE = [
  ...Array.from({ length: 10 }, (_, i) => ({ text: `invoice ${i} was charged twice this month`, label: 'billing' })),
  ...Array.from({ length: 10 }, (_, i) => ({ text: `printer ${i} on the third floor jams`, label: 'hardware' })),
];
const LONG_MARKER = 'lorem';
const ADVERSARIAL = {
  labels: { text: 'a patient with a very rare condition', label: 'rare-condition-x' },
  long: { text: Array.from({ length: 300 }, (_, i) => `${LONG_MARKER} ${i} the printer keeps jamming and nobody comes`).join(' '), label: 'hardware' },
};
type Pair = keyof typeof ADVERSARIAL;

// The release kinds run on both datasets of a pair. `publicText`: the text reads no record, so it must
// match too. The private release uses the drafter, so its batches mix public and private steps.
const RELEASES = {
  private: { input: { expectedBatchSize: 5, clip: 1, temperature: 2, drafter: { threshold: 2, sigma: 0.05 }, privateTokenCap: 1, maxTokens: 8, maxPromptTokens: 96 }, publicText: false, dpCounts: false },
  publicOnly: { input: { mode: 'PUBLIC_ONLY', expectedBatchSize: 5, maxTokens: 8, maxPromptTokens: 96 }, publicText: true, dpCounts: false },
  dpCount: {
    input: { expectedBatchSize: 5, clip: 1, temperature: 2, privateTokenCap: 2, maxTokens: 8, maxPromptTokens: 96, labelAllocation: { mode: 'DP_COUNT', countSigma: 2 } },
    publicText: false,
    dpCounts: true,
  },
} as const;
type Kind = keyof typeof RELEASES;
const KINDS: Record<Pair, Kind[]> = { labels: ['private', 'publicOnly', 'dpCount'], long: ['private', 'publicOnly'] };

/**
 * Small enough that the old worker's check against the actual prompts failed the long record's
 * batch (12 rows at ~512 positions need ~3 MB), large enough for s + 1 = 6 rows at 96 + 8 positions
 * (2 buffers x 6 rows x 26,624 bytes = 319,488): 7 rows keep a cache, the rest run in row chunks.
 */
const KV_CACHE_LIMIT = 400_000;

interface IntrospectedField {
  name: string;
  args: { name: string; type: { kind: string } }[];
  type: IntrospectedType;
}
interface IntrospectedType {
  kind: string;
  name: string | null;
  ofType: IntrospectedType | null;
}

describe('neighbouring datasets: what a consumer reads', () => {
  let gateway: TestGateway;
  let consumers: TestOrganization;
  let sides: [TestOrganization, TestOrganization];
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  /** Release ids by pair, kind and side (0: without the record, 1: with it). */
  const releases = {} as Record<Pair, Partial<Record<Kind, [string, string]>>>;
  /** Every batch the worker decoded: its prompts and the public row's logits at each step. */
  const decoded: { privatePrompts: readonly string[]; publicPrompt: string; publicLogits: string[]; tokens: number[] }[] = [];
  const original = Object.getOwnPropertyDescriptor(GenerationModel.prototype, 'generateExample')!;
  let releaseSelection = '';

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', KV_CACHE_LIMIT_BYTES: String(KV_CACHE_LIMIT) });
    consumers = await createOrganization(gateway);
    sides = [await createOrganization(gateway), await createOrganization(gateway)];
    releaseSelection = await selectionOf('Release', 0);
    // Record the public row inside the worker (this process): a spy, the engine runs unchanged.
    Object.defineProperty(GenerationModel.prototype, 'generateExample', {
      configurable: true,
      value: function (this: GenerationModel, request: GenerateExampleRequest) {
        const entry = { privatePrompts: request.privatePrompts, publicPrompt: request.publicPrompt, publicLogits: [] as string[], tokens: [] as number[] };
        decoded.push(entry);
        return (original.value as GenerationModel['generateExample']).call(this, {
          ...request,
          onStep: (trace) => {
            entry.publicLogits.push(Buffer.from(trace.publicLogits.buffer, trace.publicLogits.byteOffset, trace.publicLogits.byteLength).toString('hex'));
            entry.tokens.push(trace.token);
            request.onStep?.(trace);
          },
        });
      },
    });

    for (const pair of Object.keys(ADVERSARIAL) as Pair[]) {
      releases[pair] = {};
      const datasets: string[] = [];
      for (const [side, organization] of sides.entries()) {
        const records = side === 0 ? BASE : [...BASE, ADVERSARIAL[pair]];
        datasets.push(await neighbour(organization.users.DATA_OWNER, `tickets-${pair}`, records));
      }
      for (const kind of KINDS[pair]) {
        const ids = [] as unknown as [string, string];
        for (const [side, organization] of sides.entries()) ids.push(await request(organization.users.DATA_OWNER, { datasetId: datasets[side], ...RELEASES[kind].input }));
        // The seeded generator: both releases of the kind get the same seed and partition key.
        await sql('UPDATE release SET random_seed = $2, partition_key = $3 WHERE id = ANY($1::uuid[])', [ids, randomBytes(32), randomBytes(32)]);
        releases[pair][kind] = ids;
      }
    }
    worker = await startTestWorker(gateway, { KV_CACHE_LIMIT_BYTES: String(KV_CACHE_LIMIT) });
    for (const pair of Object.keys(ADVERSARIAL) as Pair[]) {
      for (const kind of KINDS[pair]) {
        for (const [side, id] of releases[pair][kind]!.entries()) {
          const organization = sides[side]!;
          expect({ pair, kind, side, ...(await waitForRelease(gateway, organization.users.DATA_OWNER.token, id, 120_000)) }).toEqual({ pair, kind, side, status: 'SUCCEEDED', failureReason: null });
          await gateway.data(organization.users.DATA_OWNER.token, 'mutation($id: ID!, $orgs: [ID!]!) { publishRelease(id: $id, organizationIds: $orgs, overrideReplayCheck: true) { id } }', {
            id,
            orgs: [consumers.id],
          });
        }
      }
    }
  }, 300_000);

  afterAll(async () => {
    Object.defineProperty(GenerationModel.prototype, 'generateExample', original);
    await worker?.close();
    await gateway?.close();
  });

  async function sql(text: string, values: unknown[]): Promise<void> {
    const client = new Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    try {
      await client.query(text, values);
    } finally {
      await client.end();
    }
  }

  async function neighbour(owner: TestUser, name: string, records: readonly { text: string; label: string }[]): Promise<string> {
    const { createDataset } = await gateway.data<{ createDataset: { id: string } }>(owner.token, 'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }', {
      input: { name, labelField: 'label', labels: LABELS, replayThreshold: 1, budget: { epsilon: 1000, delta: 1e-6 } },
    });
    const body = records.map((record) => JSON.stringify(record)).join('\n');
    expect((await importRecords(gateway, owner.token, createDataset.id, body, 'application/x-ndjson')).body.imported).toBe(records.length);
    return createDataset.id;
  }

  async function request(owner: TestUser, input: Record<string, unknown>): Promise<string> {
    const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(owner.token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input });
    return createRelease.id;
  }

  /** Every field of a GraphQL type, to `depth` levels, found by introspection: a field added later is compared too. */
  async function selectionOf(typeName: string, depth: number): Promise<string> {
    const { __type } = await gateway.data<{ __type: { fields: IntrospectedField[] } }>(
      consumers.users.CONSUMER.token,
      'query($name: String!) { __type(name: $name) { fields { name args { name type { kind } } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }',
      { name: typeName },
    );
    const parts: string[] = [];
    for (const field of __type.fields) {
      if (field.args.some((arg) => arg.type.kind === 'NON_NULL')) continue;
      let type = field.type;
      while (type.ofType) type = type.ofType;
      if (type.kind === 'OBJECT') {
        if (depth >= 4) continue;
        // 20 records cover every release here (4 batches each) and keep the query under GRAPHQL_MAX_COMPLEXITY.
        parts.push(`${field.name}${field.name === 'records' ? '(first: 20)' : ''} { ${await selectionOf(type.name!, depth + 1)} }`);
      } else {
        parts.push(field.name);
      }
    }
    return parts.join(' ');
  }

  /** What the consumer reads of a release, with what may differ replaced: its own ids and request time, N, and DP outputs. */
  async function consumerView(id: string, kind: Kind): Promise<unknown> {
    const result: GraphQLResponse<{ release: Record<string, unknown> }> = await gateway.gql(consumers.users.CONSUMER.token, `query($id: ID!) { release(id: $id) { ${releaseSelection} } }`, { id });
    expect(result.errors).toBeUndefined();
    return normalise(result.data!.release, kind);
  }

  function normalise(release: Record<string, unknown>, kind: Kind): Record<string, unknown> {
    const view = structuredClone(release) as Record<string, unknown> & {
      records: { nodes: { text: string; values: { text: string }; fields: { name: string; stringValue: string | null }[] }[] };
    };
    // Identifiers and the request time are not computed from records (each release has its own).
    view.id = '<release id>';
    view.datasetId = '<dataset id>';
    view.createdAt = '<requested at>';
    // N is public by design (DESIGN.md section 4; README, Privacy): neighbours differ in it by one.
    view.recordCount = '<N>';
    if (!RELEASES[kind].publicText) {
      for (const record of view.records.nodes) {
        // The text, wherever the record carries it: as text, in its values and in its typed fields.
        record.text = '<DP output>';
        record.values.text = '<DP output>';
        for (const field of record.fields) if (field.name === 'text') field.stringValue = '<DP output>';
      }
    }
    if (RELEASES[kind].dpCounts) {
      // Drawn label counts, and the batches and records they allocate, are the DP count's output.
      view.labelCounts = '<DP output>';
      view.batchCount = '<DP output>';
      view.records = '<DP output>' as never;
    }
    return view;
  }

  it.each([
    ['labels', 'private'],
    ['labels', 'publicOnly'],
    ['labels', 'dpCount'],
    ['long', 'private'],
    ['long', 'publicOnly'],
  ] as [Pair, Kind][])('%s: the consumer reads the same %s release on both neighbours, field by field', async (pair, kind) => {
    const [without, withRecord] = releases[pair][kind]!;
    const left = await consumerView(without, kind);
    const right = await consumerView(withRecord, kind);
    expect(right).toEqual(left);
    // Item 3: no timing and no progress for consumers (equal above, and empty here).
    expect(left).toMatchObject({ progress: null, startedAt: null, finishedAt: null, qualityReport: null, status: 'SUCCEEDED' });
    // Item 1: only declared labels, whatever the records hold.
    expect((left as { parameters: { labels: string[] } }).parameters.labels).toEqual(LABELS);
  });

  it('exports the same records on both neighbours (texts of the public-only release included)', async () => {
    for (const pair of Object.keys(ADVERSARIAL) as Pair[]) {
      for (const kind of KINDS[pair].filter((k) => !RELEASES[k].dpCounts)) {
        const lines = await Promise.all(
          releases[pair][kind]!.map(async (id) => {
            const response = await fetch(`${gateway.url}/releases/${id}/export?format=jsonl`, { headers: { authorization: `Bearer ${consumers.users.CONSUMER.token}` } });
            expect(response.status).toBe(200);
            return (await response.text())
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line) as { ordinal: number; label: string; text: string })
              .map((record) => (RELEASES[kind].publicText ? record : { ...record, text: '<DP output>' }));
          }),
        );
        expect({ pair, kind, records: lines[1] }).toEqual({ pair, kind, records: lines[0] });
      }
    }
  });

  it('writes the same dataset card on both neighbours, but for the public record count N', async () => {
    for (const pair of Object.keys(ADVERSARIAL) as Pair[]) {
      for (const kind of KINDS[pair].filter((k) => !RELEASES[k].dpCounts)) {
        const cards = await Promise.all(
          releases[pair][kind]!.map(async (id) => {
            const response = await fetch(`${gateway.url}/releases/${id}/export?format=zip`, { headers: { authorization: `Bearer ${consumers.users.CONSUMER.token}` } });
            expect(response.status).toBe(200);
            const card = strFromU8(unzipSync(new Uint8Array(await response.arrayBuffer()))[`release-${id}/README.md`]!);
            // The release's id and creation time differ by construction; N is public (DESIGN.md section 4).
            return card
              .replaceAll(id, '<release id>')
              .replace(/created \S+\)/, 'created <time>)')
              .replace(/over \d+ sensitive records/, 'over <N> sensitive records')
              .replace(/dataset \(\d+ records\)/, 'dataset (<N> records)');
          }),
        );
        expect({ pair, kind, card: cards[1] }).toEqual({ pair, kind, card: cards[0] });
      }
    }
  });

  it('lists the same releases to the consumer from both sides', async () => {
    const { releases: listed } = await gateway.data<{ releases: { nodes: { id: string; datasetName: string; status: string; batchCount: number; labelCounts: unknown; progress: unknown; finishedAt: unknown }[] } }>(
      consumers.users.CONSUMER.token,
      '{ releases(first: 100) { nodes { id datasetName status batchCount labelCounts { label count } progress { batchesDone } finishedAt } } }',
    );
    const byId = new Map(listed.nodes.map((node) => [node.id, node]));
    for (const pair of Object.keys(ADVERSARIAL) as Pair[]) {
      for (const kind of KINDS[pair].filter((k) => !RELEASES[k].dpCounts)) {
        const [left, right] = releases[pair][kind]!.map((id) => ({ ...byId.get(id)!, id: '<release id>' }));
        expect(right).toEqual(left);
        expect(left).toMatchObject({ progress: null, finishedAt: null });
      }
    }
  });

  it('never shows the consumer the replay check, its outcome or an override (item 8)', async () => {
    const audit = await gateway.gql(consumers.users.CONSUMER.token, '{ auditEvents(first: 10) { nodes { action details } } }');
    expect(audit.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    for (const pair of Object.keys(ADVERSARIAL) as Pair[]) {
      for (const id of releases[pair].private!) {
        const { release } = await gateway.data<{ release: { qualityReport: unknown } }>(consumers.users.CONSUMER.token, 'query($id: ID!) { release(id: $id) { qualityReport { replay { replayShare } } } }', { id });
        expect(release.qualityReport).toBeNull();
      }
    }
  });

  it('keeps the public row bit-identical inside the worker when the long record joins its batch (item 5)', () => {
    const withLong = decoded.filter((entry) => entry.privatePrompts.some((prompt) => prompt.includes(LONG_MARKER)));
    expect(withLong.length).toBeGreaterThanOrEqual(1);
    for (const entry of withLong) {
      const others = entry.privatePrompts.filter((prompt) => !prompt.includes(LONG_MARKER));
      const neighbour = decoded.find((candidate) => candidate !== entry && candidate.publicPrompt === entry.publicPrompt && sameMultiset(candidate.privatePrompts, others) && candidate.publicLogits.length > 0);
      expect(neighbour).toBeDefined();
      // The same seed and the same public row: its logits bit for bit at every step up to the first
      // token the two runs chose differently (a private step may: the public row then reads a
      // different prefix). Step 0 always compares: before, the long record's width changed it there.
      let steps = 0;
      while (steps < Math.min(entry.tokens.length, neighbour!.tokens.length)) {
        steps += 1;
        if (entry.tokens[steps - 1] !== neighbour!.tokens[steps - 1]) break;
      }
      expect(steps).toBeGreaterThan(0);
      expect(entry.publicLogits.slice(0, steps)).toEqual(neighbour!.publicLogits.slice(0, steps));
    }
  });

  it('cut the long record to maxPromptTokens, keeping its label part (item 4)', () => {
    const prompt = decoded.flatMap((entry) => entry.privatePrompts).find((text) => text.includes(LONG_MARKER))!;
    expect(prompt.startsWith('Here is a text about hardware: ')).toBe(true);
    expect(prompt.endsWith('Here is another text about hardware:')).toBe(true);
    expect(prompt.length).toBeLessThan(ADVERSARIAL.long.text.length);
    // Its batch held more rows than KV_CACHE_LIMIT_BYTES keeps cached (7 with the public row): the
    // rest were decoded in row chunks, and the release still succeeded on both sides (above).
    expect(decoded.some((entry) => entry.privatePrompts.includes(prompt) && entry.privatePrompts.length + 1 > 7 && entry.publicLogits.length > 0)).toBe(true);
  });
});

function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');
}
