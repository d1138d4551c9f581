/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { Client } from 'pg';
import { epsilonFromRho, releaseCost } from '@synthgate/privacy';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

const RELEASE_FIELDS = `id status datasetName recordCount batchCount failureReason
  progress { batchesDone batchesTotal tokensGenerated }
  parameters { mode model expectedBatchSize clip temperature publicTemperature privateTokenCap maxTokens topK labels drafter { threshold sigma } }
  cost { rho epsilon delta conversion privateTokenCap rhoPerPrivateToken labelCountRho }
  model { name fingerprint files { path sha256 bytes } }
  labelCounts { label count }`;

function records(count: number, labels = ['billing', 'hardware']): string {
  const lines = ['text,label'];
  for (let i = 0; i < count; i++) lines.push(`"Ticket ${i}: the printer on floor ${i % 7} jams again",${labels[i % labels.length]}`);
  return `${lines.join('\n')}\n`;
}

describe('synthetic releases end to end', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let datasetId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    worker = await startTestWorker(gateway);
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
    datasetId = (await createDataset(gateway, acme.users.DATA_OWNER, { epsilon: 8, delta: 1e-6 })).id;
    expect((await importRecords(gateway, acme.users.DATA_OWNER.token, datasetId, records(120))).body.imported).toBe(120);
  });
  afterAll(async () => {
    await worker.close();
    await gateway.close();
  });

  const owner = () => acme.users.DATA_OWNER;
  const input = (overrides: Record<string, unknown> = {}) => ({
    datasetId,
    expectedBatchSize: 10,
    clip: 1,
    temperature: 2,
    drafter: { threshold: 0.5, sigma: 2 },
    privateTokenCap: 8,
    maxTokens: 12,
    ...overrides,
  });

  it('plans a release: the cost follows DESIGN.md section 5.7, and nothing is debited', async () => {
    const { planRelease } = await gateway.data<{ planRelease: Record<string, unknown> & { cost: { rho: number; epsilon: number; rhoPerPrivateToken: number } } }>(
      owner().token,
      'query($input: ReleaseInput!) { planRelease(input: $input) { cost { rho epsilon rhoPerPrivateToken privateTokenCap } epsilonBefore epsilonAfter remainingEpsilon admitted refusal batches expectedExamples labels { label batches } kvCacheBytesPerBatch estimatedPromptTokens } }',
      { input: input() },
    );
    const expected = releaseCost({ clip: 1, expectedBatchSize: 10, temperature: 2, svtSigma: 2 }, 8, 1e-6);
    // rho = r (c^2/(2 s^2 tau^2) + 2/(s sigma)^2) = 8 (1/800 + 2/400)
    expect(planRelease.cost.rhoPerPrivateToken).toBeCloseTo(1 / 800 + 2 / 400, 15);
    expect(planRelease.cost.rho).toBeCloseTo(8 * (1 / 800 + 2 / 400), 15);
    expect(planRelease.cost.rho).toBe(expected.rho);
    expect(planRelease.cost.epsilon).toBe(expected.epsilon);
    expect(planRelease).toMatchObject({ epsilonBefore: 0, admitted: true, refusal: null, batches: 12, expectedExamples: 12, labels: [{ label: 'billing', batches: 6 }, { label: 'hardware', batches: 6 }] });
    expect(planRelease.epsilonAfter).toBe(epsilonFromRho(expected.rho, 1e-6));
    expect(planRelease.kvCacheBytesPerBatch).toBeGreaterThan(0);
    const ledger = await gateway.data<{ dataset: { budget: { spentRho: number; ledger: { nodes: unknown[] } } } }>(
      owner().token,
      'query($id: ID!) { dataset(id: $id) { budget { spentRho ledger { nodes { sequence } } } } }',
      { id: datasetId },
    );
    expect(ledger.dataset.budget).toEqual({ spentRho: 0, ledger: { nodes: [] } });
  });

  it('creates a release, runs it on a worker, and publishes it to a consumer organisation', async () => {
    const { createRelease } = await gateway.data<{ createRelease: { id: string; status: string; batchCount: number; cost: { rho: number } } }>(
      owner().token,
      `mutation($input: ReleaseInput!) { createRelease(input: $input) { ${RELEASE_FIELDS} } }`,
      { input: input() },
    );
    expect(createRelease).toMatchObject({ status: 'QUEUED', batchCount: 12 });
    expect(await waitForRelease(gateway, owner().token, createRelease.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });

    const { release } = await gateway.data<{ release: { progress: { batchesDone: number }; labelCounts: unknown[]; records: { nodes: { ordinal: number; label: string; text: string }[] }; model: { name: string; files: unknown[] } } }>(
      owner().token,
      `query($id: ID!) { release(id: $id) { ${RELEASE_FIELDS} records(first: 100) { nodes { ordinal label text } } } }`,
      { id: createRelease.id },
    );
    expect(release.progress.batchesDone).toBe(12);
    expect(release.records.nodes.map((r) => r.ordinal)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(release.records.nodes.filter((r) => r.label === 'billing')).toHaveLength(6);
    expect(release.labelCounts).toEqual([{ label: 'billing', count: 6 }, { label: 'hardware', count: 6 }]);
    expect(release.model.name).toBe('tiny');
    expect(release.model.files.length).toBeGreaterThanOrEqual(3);

    // Not published yet: the consumer cannot tell it exists.
    const hidden = await gateway.gql(globex.users.CONSUMER.token, 'query($id: ID!) { release(id: $id) { id } }', { id: createRelease.id });
    expect(hidden.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const notListed = await gateway.data<{ releases: { nodes: unknown[] } }>(globex.users.CONSUMER.token, '{ releases { nodes { id } } }');
    expect(notListed.releases.nodes).toEqual([]);

    await gateway.data(owner().token, 'mutation($id: ID!, $orgs: [ID!]!) { publishRelease(id: $id, organizationIds: $orgs) { id } }', { id: createRelease.id, orgs: [globex.id] });
    const seen = await gateway.data<{ release: { id: string; publishedTo: { id: string }[]; createdBy: string | null; cost: { rho: number }; records: { nodes: unknown[] } } }>(
      globex.users.CONSUMER.token,
      'query($id: ID!) { release(id: $id) { id publishedTo { id } createdBy cost { rho } records(first: 100) { nodes { ordinal } } } }',
      { id: createRelease.id },
    );
    expect(seen.release).toMatchObject({ id: createRelease.id, publishedTo: [{ id: globex.id }], createdBy: null, cost: { rho: createRelease.cost.rho } });
    expect(seen.release.records.nodes).toHaveLength(12);

    const exported = await fetch(`${gateway.url}/releases/${createRelease.id}/export?format=jsonl`, { headers: { authorization: `Bearer ${globex.users.CONSUMER.token}` } });
    expect(exported.status).toBe(200);
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as { ordinal: number; label: string; text: string });
    expect(lines.map((line) => line.ordinal)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const csv = await fetch(`${gateway.url}/releases/${createRelease.id}/export?format=csv`, { headers: { authorization: `Bearer ${globex.users.CONSUMER.token}` } });
    expect((await csv.text()).split('\n')[0]).toBe('ordinal,label,text');

    // A consumer reaches no sensitive record, budget or ledger by any query.
    const dataset = await gateway.gql(globex.users.CONSUMER.token, 'query($id: ID!) { dataset(id: $id) { id budget { spentRho } records { nodes { text } } } }', { id: datasetId });
    expect(dataset.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const verification = await gateway.gql(globex.users.CONSUMER.token, 'query($id: ID!) { verifyLedger(datasetId: $id) { ok } }', { id: datasetId });
    expect(verification.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const otherExport = await fetch(`${gateway.url}/releases/${createRelease.id}/export`, { headers: { authorization: `Bearer ${acme.users.COMPLIANCE.token}` } });
    expect(otherExport.status).toBe(403);

    // Revoked: gone for the consumer again.
    await gateway.data(owner().token, 'mutation($id: ID!, $orgs: [ID!]!) { revokeRelease(id: $id, organizationIds: $orgs) { id } }', { id: createRelease.id, orgs: [globex.id] });
    const revoked = await gateway.gql(globex.users.CONSUMER.token, 'query($id: ID!) { release(id: $id) { id } }', { id: createRelease.id });
    expect(revoked.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const revokedExport = await fetch(`${gateway.url}/releases/${createRelease.id}/export`, { headers: { authorization: `Bearer ${globex.users.CONSUMER.token}` } });
    expect(revokedExport.status).toBe(404);
  });

  it('shows compliance the budget, the ledger with running epsilon, its verification and the release audit trail', async () => {
    const { dataset } = await gateway.data<{
      dataset: { budget: { epsilon: number; spentRho: number; spentEpsilon: number; closedFormSpentEpsilon: number; remainingEpsilon: number; ledger: { nodes: { sequence: number; kind: string; rho: number; totalRho: number; epsilonAfter: number; hash: string; previousHash: string; actorUserId: string }[] }; verification: { ok: boolean; entries: number } } };
    }>(
      acme.users.COMPLIANCE.token,
      'query($id: ID!) { dataset(id: $id) { budget { epsilon spentRho spentEpsilon closedFormSpentEpsilon remainingEpsilon ledger { nodes { sequence kind rho totalRho epsilonAfter hash previousHash actorUserId } } verification { ok entries } } } }',
      { id: datasetId },
    );
    const { budget } = dataset;
    expect(budget.ledger.nodes.length).toBeGreaterThanOrEqual(1);
    const last = budget.ledger.nodes.at(-1)!;
    expect(budget.spentRho).toBe(last.totalRho);
    expect(budget.spentEpsilon).toBe(epsilonFromRho(budget.spentRho, 1e-6, 'tight'));
    expect(budget.spentEpsilon).toBeLessThanOrEqual(budget.closedFormSpentEpsilon);
    expect(budget.remainingEpsilon).toBeCloseTo(8 - budget.spentEpsilon, 12);
    expect(budget.ledger.nodes[0]).toMatchObject({ sequence: 1, kind: 'DEBIT', previousHash: '0'.repeat(64), actorUserId: owner().id });
    expect(budget.verification).toEqual({ ok: true, entries: budget.ledger.nodes.length });
    const { auditEvents } = await gateway.data<{ auditEvents: { nodes: { action: string }[] } }>(
      acme.users.COMPLIANCE.token,
      '{ auditEvents(first: 100, filter: { actionPrefix: "release." }) { nodes { action } } }',
    );
    expect(new Set(auditEvents.nodes.map((e) => e.action))).toEqual(new Set(['release.requested', 'release.started', 'release.finished', 'release.published', 'release.revoked', 'release.exported']));
  });

  it('refunds a release cancelled before any batch ran, as its own ledger entry', async () => {
    await worker.processor.shutdown();
    try {
      const before = await spent(acme.users.COMPLIANCE.token);
      const { createRelease } = await gateway.data<{ createRelease: { id: string; cost: { rho: number } } }>(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id cost { rho } } }', { input: input() });
      expect(await spent(acme.users.COMPLIANCE.token)).toBeCloseTo(before + createRelease.cost.rho, 12);
      const { cancelRelease } = await gateway.data<{ cancelRelease: { status: string } }>(owner().token, 'mutation($id: ID!) { cancelRelease(id: $id) { status } }', { id: createRelease.id });
      expect(cancelRelease.status).toBe('CANCELLED');
      expect(await spent(acme.users.COMPLIANCE.token)).toBeCloseTo(before, 12);
      const again = await gateway.gql(owner().token, 'mutation($id: ID!) { cancelRelease(id: $id) { status } }', { id: createRelease.id });
      expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      const { dataset } = await gateway.data<{ dataset: { budget: { ledger: { nodes: { kind: string; releaseId: string; rho: number }[] }; verification: { ok: boolean } } } }>(
        acme.users.COMPLIANCE.token,
        'query($id: ID!) { dataset(id: $id) { budget { ledger(first: 100) { nodes { kind releaseId rho } } verification { ok } } } }',
        { id: datasetId },
      );
      expect(dataset.budget.ledger.nodes.filter((e) => e.releaseId === createRelease.id)).toEqual([
        { kind: 'DEBIT', releaseId: createRelease.id, rho: createRelease.cost.rho },
        { kind: 'REFUND', releaseId: createRelease.id, rho: -createRelease.cost.rho },
      ]);
      expect(dataset.budget.verification.ok).toBe(true);
    } finally {
      worker = await restartWorker(worker);
    }
  });

  async function spent(token: string): Promise<number> {
    const { dataset } = await gateway.data<{ dataset: { budget: { spentRho: number } } }>(token, 'query($id: ID!) { dataset(id: $id) { budget { spentRho } } }', { id: datasetId });
    return dataset.budget.spentRho;
  }

  async function restartWorker(old: typeof worker): Promise<typeof worker> {
    await old.close();
    return startTestWorker(gateway);
  }

  it('runs a public-only baseline that reads no record and charges nothing', async () => {
    const { createRelease } = await gateway.data<{ createRelease: { id: string; cost: { rho: number; epsilon: number } } }>(
      owner().token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id cost { rho epsilon } } }',
      { input: { datasetId, expectedBatchSize: 20, mode: 'PUBLIC_ONLY', maxTokens: 10 } },
    );
    expect(createRelease.cost).toEqual({ rho: 0, epsilon: 0 });
    expect((await waitForRelease(gateway, owner().token, createRelease.id)).status).toBe('SUCCEEDED');
  });

  it('resolves a target epsilon to the largest private-token cap that fits', async () => {
    const { planRelease } = await gateway.data<{ planRelease: { cost: { privateTokenCap: number; epsilon: number } } }>(
      owner().token,
      'query($input: ReleaseInput!) { planRelease(input: $input) { cost { privateTokenCap epsilon } } }',
      { input: input({ privateTokenCap: null, targetEpsilon: 0.5, maxTokens: 200, drafter: null }) },
    );
    const perToken = releaseCost({ clip: 1, expectedBatchSize: 10, temperature: 2 }, 1, 1e-6).rho;
    const r = planRelease.cost.privateTokenCap;
    expect(r).toBeGreaterThan(1);
    expect(epsilonFromRho(r * perToken, 1e-6)).toBeLessThanOrEqual(0.5);
    expect(epsilonFromRho((r + 1) * perToken, 1e-6)).toBeGreaterThan(0.5);
    expect(planRelease.cost.epsilon).toBeLessThanOrEqual(0.5);
  });

  it('charges a DP label count when batches per label come from one', async () => {
    const { createRelease } = await gateway.data<{ createRelease: { id: string; cost: { labelCountRho: number; rho: number }; labelCounts: { label: string; count: number }[] } }>(
      owner().token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id cost { labelCountRho rho } labelCounts { label count } } }',
      { input: input({ privateTokenCap: 1, labelAllocation: { mode: 'DP_COUNT', countSigma: 5 } }) },
    );
    expect(createRelease.cost.labelCountRho).toBeCloseTo(1 / 50, 15);
    const generation = releaseCost({ clip: 1, expectedBatchSize: 10, temperature: 2, svtSigma: 2 }, 1, 1e-6).rho;
    expect(createRelease.cost.rho).toBeCloseTo(generation + 1 / 50, 15);
    expect(createRelease.labelCounts.map((c) => c.label)).toEqual(['billing', 'hardware']);
    for (const { count } of createRelease.labelCounts) expect(count).toBeGreaterThanOrEqual(1);
    expect((await waitForRelease(gateway, owner().token, createRelease.id)).status).toBe('SUCCEEDED');
  });

  it('detects a ledger entry rewritten behind the application\'s back', async () => {
    const other = (await createDataset(gateway, owner(), { epsilon: 8, delta: 1e-6 })).id;
    await importRecords(gateway, owner().token, other, records(40));
    for (let i = 0; i < 3; i++) {
      await gateway.data(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input: input({ datasetId: other, privateTokenCap: 1 }) });
    }
    const verify = 'query($id: ID!) { verifyLedger(datasetId: $id) { ok entries firstBroken { sequence reason } } }';
    expect((await gateway.data<{ verifyLedger: unknown }>(acme.users.COMPLIANCE.token, verify, { id: other })).verifyLedger).toEqual({ ok: true, entries: 3, firstBroken: null });
    const admin = new Client({ connectionString: gateway.databaseUrl });
    await admin.connect();
    try {
      // As the application's role, the ledger refuses to change.
      await expect(admin.query('UPDATE budget_ledger_entry SET rho = 0 WHERE dataset_id = $1', [other])).rejects.toThrow(/append-only/);
      // A superuser can switch the trigger off; the hash chain still gives the rewrite away.
      await admin.query('ALTER TABLE budget_ledger_entry DISABLE TRIGGER budget_ledger_entry_append_only');
      await admin.query('UPDATE budget_ledger_entry SET rho = rho / 2 WHERE dataset_id = $1 AND sequence = 2', [other]);
      await admin.query('ALTER TABLE budget_ledger_entry ENABLE TRIGGER budget_ledger_entry_append_only');
    } finally {
      await admin.end();
    }
    const result = await gateway.data<{ verifyLedger: { ok: boolean; firstBroken: { sequence: number; reason: string } } }>(acme.users.COMPLIANCE.token, verify, { id: other });
    expect(result.verifyLedger.ok).toBe(false);
    expect(result.verifyLedger.firstBroken.sequence).toBe(2);
    expect(result.verifyLedger.firstBroken.reason).toMatch(/does not match its keyed hash/);
  });
});
