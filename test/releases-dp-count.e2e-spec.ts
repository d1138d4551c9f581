import { createOrganization, datasetWithRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';

/**
 * DP_COUNT label allocations on a 10-record dataset at batch size 5 (floor(N/s) = 2): countSigma
 * is bounded by N, and however the noise falls the batches stay within the declared public cap
 * max(L, floor(N/s) + min(floor(N/s), ceil(3 sigma sqrt(L) / s))) = 4. countSigma 20,000 once gave
 * 4,233 to 6,343 batches here.
 */
describe('DP_COUNT batch allocation bounds', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let datasetId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
    const rows = Array.from({ length: 10 }, (_, i) => [`record ${i}`, i < 7 ? 'billing' : 'hardware'] as const);
    datasetId = (await datasetWithRecords(gateway, acme.users.DATA_OWNER, { epsilon: 200, delta: 1e-3 }, rows)).id;
  });
  afterAll(() => gateway.close());

  const input = (countSigma: number) => ({ datasetId, expectedBatchSize: 5, clip: 1, temperature: 2, privateTokenCap: 1, maxTokens: 4, labelAllocation: { mode: 'DP_COUNT', countSigma } });
  const create = 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount labelCounts { label count } } }';

  it('refuses a countSigma above the record count, naming the field, and debits nothing', async () => {
    for (const operation of [create, 'query($input: ReleaseInput!) { planRelease(input: $input) { admitted } }']) {
      const result = await gateway.gql(acme.users.DATA_OWNER.token, operation, { input: input(20_000) });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.labelAllocation.countSigma' });
      expect(result.errors?.[0]?.message).toContain('at most 10');
    }
    const { dataset } = await gateway.data<{ dataset: { budget: { ledger: { nodes: unknown[] } } } }>(
      acme.users.DATA_OWNER.token,
      'query($id: ID!) { dataset(id: $id) { budget { ledger { nodes { sequence } } } } }',
      { id: datasetId },
    );
    expect(dataset.budget.ledger.nodes).toEqual([]);
  });

  it('plans the public cap, and 12 releases at the largest countSigma all stay within it', async () => {
    const { planRelease } = await gateway.data<{ planRelease: { batches: number | null; maxBatches: number } }>(
      acme.users.DATA_OWNER.token,
      'query($input: ReleaseInput!) { planRelease(input: $input) { batches maxBatches } }',
      { input: input(10) },
    );
    expect(planRelease).toEqual({ batches: null, maxBatches: 4 });
    for (let i = 0; i < 12; i++) {
      const { createRelease } = await gateway.data<{ createRelease: { batchCount: number; labelCounts: { label: string; count: number }[] } }>(acme.users.DATA_OWNER.token, create, {
        input: input(10),
      });
      expect(createRelease.batchCount).toBeLessThanOrEqual(4);
      expect(createRelease.labelCounts.map((entry) => entry.label)).toEqual(['billing', 'hardware']);
      for (const { count } of createRelease.labelCounts) expect(count).toBeGreaterThanOrEqual(1);
      expect(createRelease.labelCounts.reduce((sum, entry) => sum + entry.count, 0)).toBe(createRelease.batchCount);
    }
  });

  it('a declared allocation reports its exact batches as its maximum', async () => {
    const { planRelease } = await gateway.data<{ planRelease: { batches: number | null; maxBatches: number } }>(
      acme.users.DATA_OWNER.token,
      'query($input: ReleaseInput!) { planRelease(input: $input) { batches maxBatches } }',
      { input: { ...input(1), labelAllocation: { mode: 'DECLARED' } } },
    );
    expect(planRelease).toEqual({ batches: 2, maxBatches: 2 });
  });
});
