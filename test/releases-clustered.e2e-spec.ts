/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { loadConfig } from '@synthgate/config';
import { connectDatabase, loadLedgerKey } from '@synthgate/persistence';
import { dpKMeansRho, gaussianCountRho } from '@synthgate/privacy';
import { createOrganization, datasetWithRecords, readLedger, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

/**
 * Issue 19: CLUSTERED batching through the product. The private k-means and the count per label and
 * cluster are charged with the release, in its one ledger entry (rho = tokens + counts + clustering),
 * never refunded; bad batching input is refused naming the field and debits nothing; a clustered
 * release runs to the end.
 */
describe('CLUSTERED batching', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let datasetId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
    const topics = ['the printer jams on page two', 'my invoice shows a double charge', 'the screen flickers after boot', 'refund for the cancelled plan'];
    const rows = Array.from({ length: 80 }, (_, i) => [`${topics[i % 4]} (ticket ${i})`, i % 2 ? 'billing' : 'hardware'] as const);
    datasetId = (await datasetWithRecords(gateway, acme.users.DATA_OWNER, { epsilon: 50, delta: 1e-6 }, rows)).id;
  });
  afterAll(() => gateway.close());

  const owner = () => acme.users.DATA_OWNER;
  const clustered = { mode: 'CLUSTERED', clusters: 2, clusteringEpsilon: 1, iterations: 2 };
  const input = (overrides: Record<string, unknown> = {}) => ({
    datasetId,
    expectedBatchSize: 5,
    clip: 1,
    temperature: 2,
    privateTokenCap: 2,
    maxTokens: 4,
    labelAllocation: { mode: 'DP_COUNT', countSigma: 3 },
    batching: clustered,
    ...overrides,
  });
  const COST = 'cost { rho epsilon tokensRho labelCountRho clusteringRho privateTokenCap }';
  type Cost = { rho: number; epsilon: number; tokensRho: number; labelCountRho: number; clusteringRho: number; privateTokenCap: number };

  const ledger = () => readLedger(gateway, acme.users.COMPLIANCE, datasetId);

  it('refuses bad batching input naming the field, and debits nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ batching: { mode: 'CLUSTERED', clusteringEpsilon: 1 } }, 'input.batching.clusters'],
      [{ batching: { mode: 'CLUSTERED', clusters: 0, clusteringEpsilon: 1 } }, 'input.batching.clusters'],
      [{ batching: { mode: 'CLUSTERED', clusters: 20, clusteringEpsilon: 1 } }, 'input.batching.clusters'], // 40 groups > 16 batches
      [{ batching: { mode: 'CLUSTERED', clusters: 2 } }, 'input.batching.clusteringEpsilon'],
      [{ batching: { mode: 'CLUSTERED', clusters: 2, clusteringEpsilon: -1 } }, 'input.batching.clusteringEpsilon'],
      [{ batching: { ...clustered, countSigma: 3 } }, 'input.batching.countSigma'], // the DP_COUNT's sigma counts per cluster
      [{ labelAllocation: null }, 'input.batching.countSigma'], // declared labels: a count per cluster is needed
      [{ batching: { mode: 'RANDOM', clusters: 2 } }, 'input.batching.clusters'],
      [{ mode: 'PUBLIC_ONLY', privateTokenCap: null, labelAllocation: null }, 'input.batching.mode'],
    ];
    for (const [overrides, field] of cases) {
      const result = await gateway.gql(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input: input(overrides) });
      expect({ overrides, extensions: result.errors?.[0]?.extensions }).toMatchObject({ overrides, extensions: { code: 'BAD_USER_INPUT', field } });
    }
    expect((await ledger()).nodes).toEqual([]);
  });

  it('plans the budget split (tokens, counts, clustering) and the expected examples per cluster', async () => {
    const { planRelease } = await gateway.data<{ planRelease: { cost: Cost; expectedExamplesPerCluster: number; maxBatches: number; parameters: { batching: Record<string, unknown> } } }>(
      owner().token,
      `query($input: ReleaseInput!) { planRelease(input: $input) { ${COST} expectedExamplesPerCluster maxBatches
        parameters { batching { mode clusters iterations featureDimension clusteringEpsilon sumSigma lloydCountSigma countSigma } } } }`,
      { input: input() },
    );
    const batching = planRelease.parameters.batching as { sumSigma: number; lloydCountSigma: number };
    expect(planRelease.parameters.batching).toMatchObject({ mode: 'CLUSTERED', clusters: 2, iterations: 2, featureDimension: 64, clusteringEpsilon: 1, countSigma: 3 });
    expect(planRelease.cost.clusteringRho).toBe(dpKMeansRho({ clusters: 2, iterations: 2, dimension: 64, sumSigma: batching.sumSigma, countSigma: batching.lloydCountSigma }));
    expect(planRelease.cost.labelCountRho).toBe(gaussianCountRho(3));
    expect(planRelease.cost.rho).toBe(planRelease.cost.tokensRho + planRelease.cost.labelCountRho + planRelease.cost.clusteringRho);
    expect(planRelease.expectedExamplesPerCluster).toBe(16 / (2 * 2)); // floor(80/5) over 2 labels x 2 clusters
  });

  it('charges the sum of its parts in one ledger entry, never refunds the counts or the clustering, and runs to the end', async () => {
    const before = (await ledger()).spentRho;
    const create = async () =>
      (
        await gateway.data<{ createRelease: { id: string; batchCount: number; labelCounts: { label: string; count: number }[] } & { cost: Cost } }>(
          owner().token,
          `mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount labelCounts { label count } ${COST} } }`,
          { input: input() },
        )
      ).createRelease;
    const cancelled = await create();
    const parts = cancelled.cost.tokensRho + cancelled.cost.labelCountRho + cancelled.cost.clusteringRho;
    expect(cancelled.cost.rho).toBe(parts);
    // One entry per label, summed over its clusters.
    expect(cancelled.labelCounts.map((entry) => entry.label)).toEqual(['billing', 'hardware']);
    expect(cancelled.labelCounts.reduce((sum, entry) => sum + entry.count, 0)).toBe(cancelled.batchCount);
    await gateway.data(owner().token, 'mutation($id: ID!) { cancelRelease(id: $id) { status } }', { id: cancelled.id });
    let after = await ledger();
    expect(after.nodes.filter((entry) => entry.releaseId === cancelled.id)).toEqual([
      { kind: 'DEBIT', releaseId: cancelled.id, rho: cancelled.cost.rho },
      { kind: 'REFUND', releaseId: cancelled.id, rho: -(cancelled.cost.rho - cancelled.cost.labelCountRho - cancelled.cost.clusteringRho) },
    ]);
    expect(after.spentRho).toBeCloseTo(before + cancelled.cost.labelCountRho + cancelled.cost.clusteringRho, 12);
    expect(after.ok).toBe(true);

    const release = await create();
    const worker = await startTestWorker(gateway);
    try {
      expect(await waitForRelease(gateway, owner().token, release.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    } finally {
      await worker.close();
    }
    after = await ledger();
    expect(after.nodes.filter((entry) => entry.releaseId === release.id)).toEqual([{ kind: 'DEBIT', releaseId: release.id, rho: release.cost.rho }]);
    expect(after.ok).toBe(true);
    const { release: done } = await gateway.data<{ release: { records: { nodes: { label: string }[] } } }>(owner().token, 'query($id: ID!) { release(id: $id) { records(first: 100) { nodes { label } } } }', { id: release.id });
    expect(done.records.nodes).toHaveLength(release.batchCount);
  });

  it('reads every record exactly once, in id order, whatever the page size (the keyset pages clustering reads)', async () => {
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: gateway.databaseUrl, SYNTHGATE_DATA_DIR: gateway.dataDir, MODELS_DIR: gateway.config.models.dir, DEFAULT_MODEL: gateway.config.models.defaultModel, LOG_LEVEL: 'silent' });
    const database = await connectDatabase({ url: gateway.databaseUrl, ledgerKey: loadLedgerKey(config), poolSize: 1, applicationName: 'synthgate-test-pages', migrate: false });
    try {
      const records = database.repositories.records;
      const maxId = await records.maxId(datasetId);
      for (const pageSize of [1, 7, 79, 80, 5000]) {
        const ids: string[] = [];
        for await (const page of records.recordPages(datasetId, maxId, pageSize)) ids.push(...page.map((record) => record.id));
        expect(ids).toHaveLength(80);
        expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
        expect(new Set(ids).size).toBe(80);
        let texts = 0;
        for await (const page of records.textPages(datasetId, maxId, pageSize)) texts += page.length;
        expect(texts).toBe(80);
      }
    } finally {
      await database.close();
    }
  });
});
