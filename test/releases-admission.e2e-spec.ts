import { epsilonFromRho, releaseCost } from '@synthgate/privacy';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';

function csv(count: number): string {
  return `text,label\n${Array.from({ length: count }, (_, i) => `record ${i},${i % 2 ? 'odd' : 'even'}`).join('\n')}\n`;
}

describe('release admission, input validation and access', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;
  let datasetId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
    datasetId = (await createDataset(gateway, acme.users.DATA_OWNER, { epsilon: 50, delta: 1e-6, labels: ['even', 'odd'] })).id;
    await importRecords(gateway, acme.users.DATA_OWNER.token, datasetId, csv(100));
  });
  afterAll(() => gateway.close());

  const owner = () => acme.users.DATA_OWNER;
  const base = { expectedBatchSize: 10, clip: 1, temperature: 2, privateTokenCap: 4, maxTokens: 16 };
  const create = 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }';
  const plan = 'query($input: ReleaseInput!) { planRelease(input: $input) { admitted } }';

  it('admits exactly as many of 40 simultaneous requests as the budget allows, and the ledger agrees', async () => {
    const k = 7;
    const perRelease = releaseCost({ clip: 1, expectedBatchSize: 10, temperature: 2 }, 4, 1e-6).rho;
    // A budget between the epsilon of k and of k + 1 releases.
    const epsilon = (epsilonFromRho(k * perRelease, 1e-6) + epsilonFromRho((k + 1) * perRelease, 1e-6)) / 2;
    const target = (await createDataset(gateway, owner(), { epsilon, delta: 1e-6, labels: ['even', 'odd'] })).id;
    await importRecords(gateway, owner().token, target, csv(100));
    const results = await Promise.all(Array.from({ length: 40 }, () => gateway.gql(owner().token, create, { input: { ...base, datasetId: target } })));
    const admitted = results.filter((r) => !r.errors);
    const refused = results.filter((r) => r.errors);
    expect(admitted).toHaveLength(k);
    expect(refused.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(new Array(40 - k).fill('BUDGET_EXHAUSTED'));
    const { dataset } = await gateway.data<{ dataset: { budget: { spentEpsilon: number; epsilon: number; spentRho: number; ledger: { nodes: unknown[] }; verification: { ok: boolean; entries: number } } } }>(
      acme.users.COMPLIANCE.token,
      'query($id: ID!) { dataset(id: $id) { budget { spentEpsilon epsilon spentRho ledger(first: 100) { nodes { sequence } } verification { ok entries } } } }',
      { id: target },
    );
    expect(dataset.budget.ledger.nodes).toHaveLength(k);
    expect(dataset.budget.verification).toEqual({ ok: true, entries: k });
    expect(dataset.budget.spentEpsilon).toBeLessThanOrEqual(dataset.budget.epsilon);
    expect(dataset.budget.spentRho).toBeCloseTo(k * perRelease, 12);
    const { releases } = await gateway.data<{ releases: { nodes: unknown[] } }>(owner().token, 'query($id: ID) { releases(first: 100, filter: { datasetId: $id }) { nodes { id } } }', { id: target });
    expect(releases.nodes).toHaveLength(k);
  });

  it('accounts the floating-point delta of sampling, and refuses a release whose share of delta is above 1% (issue 13, item 6)', async () => {
    const planned = await gateway.data<{ planRelease: { admitted: boolean; refusal: string | null; cost: { floatingPointDelta: number } } }>(
      owner().token,
      'query($input: ReleaseInput!) { planRelease(input: $input) { admitted refusal cost { floatingPointDelta } } }',
      { input: { ...base, datasetId } },
    );
    // r (1 + e^(2c/(s tau))) V 2^-52 with r = 4, c = 1, s = 10, tau = 2 and the tiny model's vocabulary.
    expect(planned.planRelease.admitted).toBe(true);
    expect(planned.planRelease.cost.floatingPointDelta).toBeGreaterThan(0);
    expect(planned.planRelease.cost.floatingPointDelta).toBeLessThan(1e-8);
    // tau = 0.01: 2c/(s tau) = 20, so e^20 V 2^-52 per token: far above 1% of delta 1e-6 (the budget would allow it).
    const rich = (await createDataset(gateway, owner(), { epsilon: 1000, delta: 1e-6, labels: ['even', 'odd'] })).id;
    await importRecords(gateway, owner().token, rich, csv(100));
    const sharp = { ...base, datasetId: rich, temperature: 0.01 };
    const refusedPlan = await gateway.data<{ planRelease: { admitted: boolean; refusal: string | null } }>(owner().token, 'query($input: ReleaseInput!) { planRelease(input: $input) { admitted refusal } }', {
      input: sharp,
    });
    expect(refusedPlan.planRelease.admitted).toBe(false);
    expect(refusedPlan.planRelease.refusal).toMatch(/floating-point delta of .* above 1% of the dataset's delta/);
    const refused = await gateway.gql(owner().token, create, { input: sharp });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.privateTokenCap' });
  });

  it('debits nothing for a refused request and says why in planRelease', async () => {
    const poor = (await createDataset(gateway, owner(), { epsilon: 0.01, delta: 1e-6, labels: ['even', 'odd'] })).id;
    await importRecords(gateway, owner().token, poor, csv(50));
    const refused = await gateway.gql(owner().token, create, { input: { ...base, datasetId: poor } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BUDGET_EXHAUSTED');
    const planned = await gateway.data<{ planRelease: { admitted: boolean; refusal: string; remainingEpsilon: number } }>(
      owner().token,
      'query($input: ReleaseInput!) { planRelease(input: $input) { admitted refusal remainingEpsilon } }',
      { input: { ...base, datasetId: poor } },
    );
    expect(planned.planRelease.admitted).toBe(false);
    expect(planned.planRelease.refusal).toMatch(/exhausted/);
    expect(planned.planRelease.remainingEpsilon).toBeLessThan(0);
    const { dataset } = await gateway.data<{ dataset: { budget: { spentRho: number; ledger: { nodes: unknown[] } } } }>(
      owner().token,
      'query($id: ID!) { dataset(id: $id) { budget { spentRho ledger { nodes { sequence } } } } }',
      { id: poor },
    );
    expect(dataset.budget).toEqual({ spentRho: 0, ledger: { nodes: [] } });
  });

  it.each([
    ['expectedBatchSize', { expectedBatchSize: 0 }],
    ['expectedBatchSize', { expectedBatchSize: 101 }],
    ['expectedBatchSize', { expectedBatchSize: 2.5 }],
    ['clip', { clip: 0 }],
    ['clip', { clip: -1 }],
    ['clip', { clip: 1001 }],
    ['temperature', { temperature: 0 }],
    ['temperature', { temperature: 101 }],
    ['publicTemperature', { publicTemperature: -0.1 }],
    ['publicTemperature', { publicTemperature: 101 }],
    ['drafter.threshold', { drafter: { threshold: -0.1, sigma: 1 } }],
    ['drafter.threshold', { drafter: { threshold: 2.1, sigma: 1 } }],
    ['drafter.sigma', { drafter: { threshold: 0.5, sigma: 0 } }],
    ['privateTokenCap', { privateTokenCap: 0 }],
    ['privateTokenCap', { privateTokenCap: 17 }],
    ['privateTokenCap', { privateTokenCap: null }],
    ['privateTokenCap', { targetEpsilon: 1 }],
    ['targetEpsilon', { privateTokenCap: null, targetEpsilon: 0 }],
    ['targetEpsilon', { privateTokenCap: null, targetEpsilon: 1e-9 }],
    ['targetEpsilon', { privateTokenCap: null, targetEpsilon: 5e-324 }],
    ['maxTokens', { maxTokens: 0 }],
    ['maxTokens', { maxTokens: 100_000 }],
    ['maxPromptTokens', { maxPromptTokens: 1 }],
    ['maxPromptTokens', { maxPromptTokens: 100_000 }],
    ['topK', { topK: -1 }],
    ['topK', { topK: 10_000 }],
    ['model', { model: 'no-such-model' }],
    ['model', { model: '../etc' }],
    ['labels', { labels: ['nonexistent'] }],
    ['labelAllocation.countSigma', { labelAllocation: { mode: 'DP_COUNT' } }],
    ['labelAllocation.countSigma', { labelAllocation: { mode: 'DP_COUNT', countSigma: 0 } }],
    ['labelAllocation.proportions', { labelAllocation: { mode: 'DECLARED', proportions: [{ label: 'odd', weight: 1 }] } }],
    ['labelAllocation.proportions', { labelAllocation: { mode: 'DECLARED', proportions: [{ label: 'odd', weight: 0 }, { label: 'even', weight: 1 }] } }],
  ])('refuses a bad %s (%j) as BAD_USER_INPUT naming the field, in plan and create', async (field, change) => {
    for (const operation of [plan, create]) {
      const result = await gateway.gql(owner().token, operation, { input: { ...base, datasetId, ...change } });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: `input.${field}` });
    }
  });

  it('refuses a dataset with no records, and one whose delta is not below 1/N', async () => {
    const empty = (await createDataset(gateway, owner(), { labels: ['even', 'odd'] })).id;
    const noRecords = await gateway.gql(owner().token, create, { input: { ...base, datasetId: empty } });
    expect(noRecords.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.datasetId' });
    expect(noRecords.errors?.[0]?.message).toMatch(/no records/);
    const loose = (await createDataset(gateway, owner(), { delta: 0.5, labels: ['even', 'odd'] })).id;
    await importRecords(gateway, owner().token, loose, csv(10));
    const deltaTooLarge = await gateway.gql(owner().token, create, { input: { ...base, expectedBatchSize: 2, datasetId: loose } });
    expect(deltaTooLarge.errors?.[0]?.message).toMatch(/not below 1\/record count/);
  });

  it('refuses a batch size that leaves a label without a batch', async () => {
    const result = await gateway.gql(owner().token, plan, { input: { ...base, expectedBatchSize: 100, datasetId } });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.expectedBatchSize' });
  });

  it('answers NOT_FOUND to other organisations and FORBIDDEN to roles that never release', async () => {
    for (const token of [globex.users.DATA_OWNER.token, globex.users.COMPLIANCE.token]) {
      for (const operation of [plan, create]) {
        const result = await gateway.gql(token, operation, { input: { ...base, datasetId } });
        expect(result.errors?.[0]?.extensions?.code).toMatch(/NOT_FOUND|FORBIDDEN/);
        if (token === globex.users.DATA_OWNER.token) expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      }
    }
    for (const role of ['COMPLIANCE', 'CONSUMER', 'ADMIN'] as const) {
      const result = await gateway.gql(acme.users[role].token, create, { input: { ...base, datasetId } });
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(owner().token, create, { input: { ...base, datasetId } });
    for (const mutation of [
      'mutation($id: ID!) { cancelRelease(id: $id) { id } }',
      `mutation($id: ID!) { publishRelease(id: $id, organizationIds: ["${globex.id}"]) { id } }`,
      `mutation($id: ID!) { revokeRelease(id: $id, organizationIds: ["${globex.id}"]) { id } }`,
    ]) {
      const result = await gateway.gql(globex.users.DATA_OWNER.token, mutation, { id: createRelease.id });
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    for (const role of ['CONSUMER', 'COMPLIANCE', 'DATA_OWNER', 'ADMIN'] as const) {
      const result = await gateway.gql(globex.users[role].token, 'query($id: ID!) { release(id: $id) { id records { nodes { text } } } }', { id: createRelease.id });
      expect(result.errors?.[0]?.extensions?.code).toMatch(/NOT_FOUND|FORBIDDEN/);
      expect(result.data?.release ?? null).toBeNull();
    }
    const compliance = await gateway.gql(acme.users.COMPLIANCE.token, 'query($id: ID!) { release(id: $id) { id records { nodes { text } } } }', { id: createRelease.id });
    expect(compliance.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const publishQueued = await gateway.gql(owner().token, `mutation($id: ID!) { publishRelease(id: $id, organizationIds: ["${globex.id}"]) { id } }`, { id: createRelease.id });
    expect(publishQueued.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });
});

describe('budget changes after releases', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway);
  });
  afterAll(() => gateway.close());

  it('keeps delta fixed and epsilon at or above what is spent once a release is charged', async () => {
    const owner = acme.users.DATA_OWNER;
    const id = (await createDataset(gateway, owner, { epsilon: 10, delta: 1e-6, labels: ['even', 'odd'] })).id;
    await importRecords(gateway, owner.token, id, csv(100));
    const update = 'mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { budget { epsilon delta } } }';
    expect((await gateway.data<{ updateDataset: unknown }>(owner.token, update, { input: { id, budget: { delta: 1e-7 } } })).updateDataset).toEqual({ budget: { epsilon: 10, delta: 1e-7 } });
    await gateway.data(owner.token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', {
      input: { datasetId: id, expectedBatchSize: 10, clip: 1, temperature: 2, privateTokenCap: 4, maxTokens: 16 },
    });
    const delta = await gateway.gql(owner.token, update, { input: { id, budget: { delta: 1e-6 } } });
    expect(delta.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.budget.delta' });
    const epsilon = await gateway.gql(owner.token, update, { input: { id, budget: { epsilon: 0.001 } } });
    expect(epsilon.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.budget.epsilon' });
    expect((await gateway.data<{ updateDataset: { budget: { epsilon: number } } }>(owner.token, update, { input: { id, budget: { epsilon: 12 } } })).updateDataset.budget.epsilon).toBe(12);
  });
});
