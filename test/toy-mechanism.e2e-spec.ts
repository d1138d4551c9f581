/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { Client } from 'pg';
import {
  defineMechanism,
  type LogitBuffer,
  mechanismRegistry,
  PrivacyError,
  TokenCandidates,
  type TokenDecision,
  type TokenSampler,
} from '@synthgate/privacy';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

/*
 * A mechanism added without touching a production file: its parameters, its cost and its sampler
 * live in this test, registered in a test-only registry that the worker is started with. The
 * worker runs a stored release of it end to end (partition, sampler per batch, stop at r, the
 * batch transactions), which shows the registry is the only joint a new mechanism needs.
 */

/** The toy's parameters: `s`, `r` and the token it prefers. */
interface ToyParameters {
  readonly mechanism: 'toy-greedy-mean';
  readonly expectedBatchSize: number;
  readonly privateTokenCap: number;
}

/** Greedy on the plain mean of the private rows (no privacy at all: a toy), public argmax without rows. */
class ToySampler implements TokenSampler {
  readonly lastStatistic = Number.NaN;
  private readonly candidates: TokenCandidates;
  private steps = 0;
  /** Steps decided without private rows (a batch the keyed hash left empty decodes from the public prompt alone). */
  publicSteps = 0;

  constructor(readonly vocabSize: number) {
    this.candidates = new TokenCandidates(vocabSize, 0);
  }

  get privateSteps(): number {
    return this.steps;
  }

  next(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): TokenDecision {
    if (privateRows === 0) {
      this.publicSteps += 1;
      return { token: this.samplePublic(publicLogits), private: false };
    }
    this.steps += 1;
    return { token: this.samplePrivate(logits, privateRows, publicLogits), private: true };
  }

  isPrivateStep(_logits: LogitBuffer, privateRows: number): boolean {
    if (privateRows > 0) this.steps += 1;
    return privateRows > 0;
  }

  samplePrivate(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): number {
    this.candidates.prepare(publicLogits);
    let best = -1;
    let bestSum = -Infinity;
    for (let position = 0; position < this.candidates.count; position++) {
      const token = this.candidates.tokenAt(position);
      let sum = 0;
      for (let row = 0; row < privateRows; row++) sum += logits[row * this.vocabSize + token]!;
      if (sum > bestSum) [best, bestSum] = [token, sum];
    }
    return best < 0 ? this.candidates.tokenAt(0) : best;
  }

  samplePublic(publicLogits: LogitBuffer): number {
    return this.samplePrivate(publicLogits, 1, publicLogits);
  }

  restrictTo(allowed: Uint8Array | null): void {
    this.candidates.restrictTo(allowed);
  }
}

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be an integer >= 1, got ${String(value)}`);
  return value;
}

const samplersCreated: ToySampler[] = [];
const toy = defineMechanism<ToyParameters>({
  name: 'toy-greedy-mean',
  charged: true,
  partition: 'keyed-hash',
  parse: (value) => ({
    mechanism: 'toy-greedy-mean',
    expectedBatchSize: positiveInteger('expectedBatchSize', value.expectedBatchSize),
    privateTokenCap: positiveInteger('privateTokenCap', value.privateTokenCap),
  }),
  rhoPerPrivateToken: () => 0.001,
  createSampler: (_parameters, vocabSize) => {
    const sampler = new ToySampler(vocabSize);
    samplersCreated.push(sampler);
    return sampler;
  },
});

function records(count: number): string {
  const lines = ['text,label'];
  for (let i = 0; i < count; i++) lines.push(`"Ticket ${i}: the printer on floor ${i % 7} jams again",${i % 2 === 0 ? 'billing' : 'hardware'}`);
  return `${lines.join('\n')}\n`;
}

describe('a mechanism registered by a test runs through the worker', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let datasetId: string;
  let admin: Client;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
    datasetId = (await createDataset(gateway, acme.users.DATA_OWNER, { epsilon: 8, delta: 1e-6 })).id;
    expect((await importRecords(gateway, acme.users.DATA_OWNER.token, datasetId, records(40))).body.imported).toBe(40);
    admin = new Client({ connectionString: gateway.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
    await gateway.close();
  });

  const owner = () => acme.users.DATA_OWNER;

  /** A release requested through the API with no worker running, its mechanism then swapped for the toy's. */
  async function toyRelease(privateTokenCap: number): Promise<{ id: string; batchCount: number }> {
    const { createRelease } = await gateway.data<{ createRelease: { id: string; batchCount: number } }>(
      owner().token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount } }',
      { input: { datasetId, expectedBatchSize: 5, clip: 1, temperature: 2, privateTokenCap: 2, maxTokens: 6 } },
    );
    const parameters: ToyParameters = { mechanism: 'toy-greedy-mean', expectedBatchSize: 5, privateTokenCap };
    await admin.query('UPDATE release SET mechanism = $2 WHERE id = $1', [createRelease.id, JSON.stringify(parameters)]);
    return createRelease;
  }

  it('decodes every batch with the toy sampler and stops each example at its r', async () => {
    const release = await toyRelease(3);
    const worker = await startTestWorker(gateway, {}, mechanismRegistry.with(toy));
    try {
      expect(await waitForRelease(gateway, owner().token, release.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    } finally {
      await worker.close();
    }
    expect(release.batchCount).toBe(8);
    expect(samplersCreated).toHaveLength(8);
    const { release: done } = await gateway.data<{ release: { parameters: { mechanism: string; expectedBatchSize: number; privateTokenCap: number }; records: { nodes: { ordinal: number }[] } } }>(
      owner().token,
      'query($id: ID!) { release(id: $id) { parameters { mechanism expectedBatchSize privateTokenCap } records(first: 100) { nodes { ordinal } } } }',
      { id: release.id },
    );
    expect(done.parameters).toEqual({ mechanism: 'toy-greedy-mean', expectedBatchSize: 5, privateTokenCap: 3 });
    expect(done.records.nodes.map((r) => r.ordinal)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Every step of the toy that reads records is private, so an example stops after r = 3 of them.
    // The keyed hash can leave a batch without records (40 records, 8 batches: a few percent of
    // runs); its example reads none, is all public and runs to maxTokens (6).
    expect(samplersCreated.every((sampler) => sampler.privateSteps <= 3)).toBe(true);
    expect(samplersCreated.every((sampler) => sampler.privateSteps === 0 || sampler.publicSteps === 0)).toBe(true);
    const withRecords = samplersCreated.filter((sampler) => sampler.privateSteps > 0).length;
    expect(withRecords).toBeGreaterThan(0);
    const tokens = await admin.query<{ tokens: number }>('SELECT tokens FROM release_batch WHERE release_id = $1', [release.id]);
    expect(tokens.rows).toHaveLength(8);
    expect(tokens.rows.every((row) => row.tokens <= 6)).toBe(true);
    expect(tokens.rows.filter((row) => row.tokens <= 3).length).toBeGreaterThanOrEqual(withRecords);
  });

  it('a worker without the toy fails its release before reading a record, and the release is refunded by the one settlement rule', async () => {
    const release = await toyRelease(3);
    const worker = await startTestWorker(gateway);
    try {
      expect(await waitForRelease(gateway, owner().token, release.id)).toEqual({
        status: 'FAILED',
        failureReason: 'the release\'s mechanism cannot run: mechanism must be one of private-prediction, public-only, non-private-reference, invisible-ink, got "toy-greedy-mean"',
      });
    } finally {
      await worker.close();
    }
    const { rows } = await admin.query<{ kind: string; rho: number }>('SELECT kind, rho FROM budget_ledger_entry WHERE release_id = $1 ORDER BY sequence', [release.id]);
    expect(rows.map((row) => row.kind)).toEqual(['DEBIT', 'REFUND']);
    expect(rows[1]!.rho).toBe(-rows[0]!.rho);
  });

  it('parameters its entry refuses fail the release before a record is read, naming the field', async () => {
    const release = await toyRelease(0);
    const worker = await startTestWorker(gateway, {}, mechanismRegistry.with(toy));
    try {
      expect(await waitForRelease(gateway, owner().token, release.id)).toEqual({
        status: 'FAILED',
        failureReason: "the release's mechanism cannot run: privateTokenCap must be an integer >= 1, got 0",
      });
    } finally {
      await worker.close();
    }
    const { rows } = await admin.query<{ kind: string }>('SELECT kind FROM budget_ledger_entry WHERE release_id = $1 ORDER BY sequence', [release.id]);
    expect(rows.map((row) => row.kind)).toEqual(['DEBIT', 'REFUND']);
  });
});
