/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { Client } from 'pg';
import { gaussianCountRho } from '@synthgate/privacy';
import { createOrganization, datasetWithRecords, readLedger, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

/**
 * Issue 13, items 2 and 7: what a release keeps and gives back after it ends. Its random seed and
 * partition key exist only while batches can run; a cancelled DP_COUNT release keeps its label
 * count charged (the noisy counts were shown at creation).
 */
describe('release secrets and refunds', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let datasetId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
    const rows = Array.from({ length: 40 }, (_, i) => [`ticket ${i} about the printer`, i % 2 ? 'billing' : 'hardware'] as const);
    datasetId = (await datasetWithRecords(gateway, acme.users.DATA_OWNER, { epsilon: 50, delta: 1e-6 }, rows)).id;
  });
  afterAll(() => gateway.close());

  async function sql<T>(text: string, values: unknown[]): Promise<T[]> {
    const client = new Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  const owner = () => acme.users.DATA_OWNER;
  const input = (overrides: Record<string, unknown> = {}) => ({ datasetId, expectedBatchSize: 10, clip: 1, temperature: 2, privateTokenCap: 4, maxTokens: 6, ...overrides });

  async function secrets(id: string): Promise<{ status: string; partitionKey: number | null; randomSeed: number | null }> {
    const [row] = await sql<{ status: string; partitionKey: number | null; randomSeed: number | null }>(
      'SELECT status, length(partition_key) AS "partitionKey", length(random_seed) AS "randomSeed" FROM release WHERE id = $1',
      [id],
    );
    return row!;
  }

  async function create(overrides: Record<string, unknown> = {}): Promise<{ id: string; cost: { rho: number; labelCountRho: number } }> {
    const { createRelease } = await gateway.data<{ createRelease: { id: string; cost: { rho: number; labelCountRho: number } } }>(
      owner().token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id cost { rho labelCountRho } } }',
      { input: input(overrides) },
    );
    return createRelease;
  }

  const ledger = () => readLedger(gateway, acme.users.COMPLIANCE, datasetId);

  it('keeps the seed and the partition key while a release is queued, and erases both when it is cancelled', async () => {
    const release = await create();
    expect(await secrets(release.id)).toEqual({ status: 'QUEUED', partitionKey: 32, randomSeed: 32 });
    await gateway.data(owner().token, 'mutation($id: ID!) { cancelRelease(id: $id) { status } }', { id: release.id });
    expect(await secrets(release.id)).toEqual({ status: 'CANCELLED', partitionKey: null, randomSeed: null });
  });

  it('never refunds the noisy label count of a cancelled DP_COUNT release, only the generation', async () => {
    const before = (await ledger()).spentRho;
    const countSigma = 4;
    const release = await create({ labelAllocation: { mode: 'DP_COUNT', countSigma } });
    expect(release.cost.labelCountRho).toBe(gaussianCountRho(countSigma));
    await gateway.data(owner().token, 'mutation($id: ID!) { cancelRelease(id: $id) { status } }', { id: release.id });
    const after = await ledger();
    expect(after.nodes.filter((entry) => entry.releaseId === release.id)).toEqual([
      { kind: 'DEBIT', releaseId: release.id, rho: release.cost.rho },
      { kind: 'REFUND', releaseId: release.id, rho: -(release.cost.rho - release.cost.labelCountRho) },
    ]);
    expect(after.spentRho).toBeCloseTo(before + gaussianCountRho(countSigma), 12);
    expect(after.ok).toBe(true);
  });

  it('erases them when a release succeeds; a final release can never hold them again', async () => {
    const release = await create();
    const worker = await startTestWorker(gateway);
    try {
      expect(await waitForRelease(gateway, owner().token, release.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    } finally {
      await worker.close();
    }
    expect(await secrets(release.id)).toEqual({ status: 'SUCCEEDED', partitionKey: null, randomSeed: null });
    // Whatever the application does: the trigger erases them again, and the CHECK refuses a live release without them.
    await sql(`UPDATE release SET random_seed = decode(repeat('ab', 32), 'hex') WHERE id = $1`, [release.id]);
    expect(await secrets(release.id)).toMatchObject({ randomSeed: null });
    await expect(sql(`UPDATE release SET status = 'RUNNING' WHERE id = $1`, [release.id])).rejects.toThrow(/release_secrets_while_live/);
  });

  it('erases them when a release fails', async () => {
    const release = await create();
    await sql(`UPDATE release SET status = 'FAILED', failure_reason = 'test' WHERE id = $1`, [release.id]);
    expect(await secrets(release.id)).toEqual({ status: 'FAILED', partitionKey: null, randomSeed: null });
  });
});
