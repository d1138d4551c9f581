/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { Client } from 'pg';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

const REPORT_FIELDS = `qualityReport {
  computedAt records labelCounts { label count } emptyRecords
  words { min max mean median } characters { min max mean median }
  duplicates { distinctTexts duplicateRecords largestGroup }
  replay { ngramSize sensitiveRecordsCompared exactMatches recordsSharingNgram ngramShare replayShare longestSharedNgram meanLongestSharedNgram flagged { ordinal label longestSharedNgram exactMatch } }
}`;

interface Report {
  records: number;
  labelCounts: { label: string; count: number }[];
  words: { min: number; max: number; mean: number; median: number };
  duplicates: { distinctTexts: number; duplicateRecords: number; largestGroup: number };
  replay: { sensitiveRecordsCompared: number; exactMatches: number; recordsSharingNgram: number; replayShare: number; longestSharedNgram: number; flagged: { ordinal: number; exactMatch: boolean }[] };
}

function records(count: number, labels = ['billing', 'hardware']): string {
  const lines = ['text,label'];
  for (let i = 0; i < count; i++) lines.push(`"Ticket ${i}: the printer on floor ${i % 7} jams again",${labels[i % labels.length]}`);
  return `${lines.join('\n')}\n`;
}

describe('release quality reports and the replay check', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', ALLOW_BENCHMARK_DATASETS: 'true' });
    worker = await startTestWorker(gateway);
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
  });
  afterAll(async () => {
    await worker.close();
    await gateway.close();
  });

  const owner = () => acme.users.DATA_OWNER;

  async function release(input: Record<string, unknown>): Promise<string> {
    const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input });
    expect(await waitForRelease(gateway, owner().token, createRelease.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    return createRelease.id;
  }

  async function report(token: string, id: string): Promise<Report | null> {
    const { release: found } = await gateway.data<{ release: { qualityReport: Report | null } }>(token, `query($id: ID!) { release(id: $id) { ${REPORT_FIELDS} } }`, { id });
    return found.qualityReport;
  }

  const publish = (id: string, orgs: string[], override?: boolean) =>
    gateway.gql(owner().token, 'mutation($id: ID!, $orgs: [ID!]!, $override: Boolean) { publishRelease(id: $id, organizationIds: $orgs, overrideReplayCheck: $override) { id } }', {
      id,
      orgs,
      override,
    });

  it('computes a report when a release succeeds, for the owner and compliance only, never consumers', async () => {
    const datasetId = (await createDataset(gateway, owner(), { epsilon: 8 })).id;
    await importRecords(gateway, owner().token, datasetId, records(40));
    const id = await release({ datasetId, expectedBatchSize: 10, clip: 1, privateTokenCap: 4, maxTokens: 8 });

    const ownerView = (await report(owner().token, id))!;
    expect(ownerView).toMatchObject({
      records: 4,
      labelCounts: [
        { label: 'billing', count: 2 },
        { label: 'hardware', count: 2 },
      ],
      replay: { sensitiveRecordsCompared: 40, exactMatches: 0, recordsSharingNgram: 0, replayShare: 0 },
    });
    expect(ownerView.duplicates.distinctTexts + ownerView.duplicates.duplicateRecords).toBe(4);
    expect(ownerView.words.min).toBeLessThanOrEqual(ownerView.words.median);
    expect(ownerView.words.median).toBeLessThanOrEqual(ownerView.words.max);
    expect(await report(acme.users.COMPLIANCE.token, id)).toEqual(ownerView);

    // Nothing replays, so the default threshold (0) lets it through without an override.
    expect((await publish(id, [globex.id, acme.id])).errors).toBeUndefined();
    expect(await report(globex.users.CONSUMER.token, id)).toBeNull();
    expect(await report(acme.users.CONSUMER.token, id)).toBeNull();
    const other = await gateway.gql(globex.users.COMPLIANCE.token, `query($id: ID!) { release(id: $id) { ${REPORT_FIELDS} } }`, { id });
    expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('flags a planted record the release replays, refuses to publish it, and publishes with an audited override', async () => {
    const datasetId = (await createDataset(gateway, owner(), { epsilon: 8, labels: ['billing'] })).id;
    await importRecords(gateway, owner().token, datasetId, records(20, ['billing']));
    // Greedy public decoding is deterministic: every release of this dataset writes the same text.
    const baseline = { datasetId, expectedBatchSize: 10, mode: 'PUBLIC_ONLY', publicTemperature: 0, maxTokens: 24 };
    const first = await release(baseline);
    expect((await report(owner().token, first))!.replay.exactMatches).toBe(0);
    const { release: seen } = await gateway.data<{ release: { records: { nodes: { text: string }[] } } }>(owner().token, 'query($id: ID!) { release(id: $id) { records(first: 1) { nodes { text } } } }', {
      id: first,
    });
    const text = seen.records.nodes[0]!.text;
    expect(text.trim().split(/\s+/).length).toBeGreaterThanOrEqual(2);

    // Plant that text as a sensitive record: the next identical release now copies it.
    const planted = await importRecords(gateway, owner().token, datasetId, `${JSON.stringify({ text, label: 'billing' })}\n`, 'application/x-ndjson');
    expect(planted.body.imported).toBe(1);
    const second = await release(baseline);
    const flagged = (await report(owner().token, second))!;
    expect(flagged.records).toBe(2);
    expect(flagged.replay).toMatchObject({ sensitiveRecordsCompared: 21, exactMatches: 2, replayShare: 1 });
    expect(flagged.replay.flagged.map((r) => r.ordinal)).toEqual([0, 1]);
    expect(flagged.replay.flagged.every((r) => r.exactMatch)).toBe(true);
    expect(flagged.duplicates).toEqual({ distinctTexts: 1, duplicateRecords: 1, largestGroup: 2 });

    const refused = await publish(second, [globex.id]);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'overrideReplayCheck' });
    expect(refused.errors?.[0]?.message).toMatch(/100\.0% of its synthetic records replay sensitive text .* above the dataset's replay threshold of 0\.0%/);
    const consumerView = await gateway.gql(globex.users.CONSUMER.token, 'query($id: ID!) { release(id: $id) { id } }', { id: second });
    expect(consumerView.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    expect((await publish(second, [globex.id], true)).errors).toBeUndefined();
    const { auditEvents } = await gateway.data<{ auditEvents: { nodes: { action: string; subjectId: string; actorUserId: string; details: { replayCheck: Record<string, unknown> } }[] } }>(
      acme.users.COMPLIANCE.token,
      '{ auditEvents(first: 100, filter: { action: "release.published" }) { nodes { action subjectId actorUserId details } } }',
    );
    const event = auditEvents.nodes.find((e) => e.subjectId === second)!;
    expect(event.actorUserId).toBe(owner().id);
    expect(event.details.replayCheck).toMatchObject({ passed: false, replayShare: 1, threshold: 0, overridden: true });

    // An owner who accepts replays raises the threshold; then no override is needed (and none recorded).
    await gateway.data(owner().token, 'mutation($id: ID!) { updateDataset(input: { id: $id, replayThreshold: 1 }) { replayThreshold } }', { id: datasetId });
    expect((await publish(second, [acme.id])).errors).toBeUndefined();
    const bad = await gateway.gql(owner().token, 'mutation($id: ID!) { updateDataset(input: { id: $id, replayThreshold: 1.5 }) { id } }', { id: datasetId });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.replayThreshold' });
  });

  describe('NON_PRIVATE_REFERENCE', () => {
    const reference = (datasetId: string, extra: Record<string, unknown> = {}) => ({ datasetId, expectedBatchSize: 10, mode: 'NON_PRIVATE_REFERENCE', maxTokens: 8, ...extra });

    it('is refused on an ordinary dataset, in the API and in the database', async () => {
      const datasetId = (await createDataset(gateway, owner(), { epsilon: 8 })).id;
      await importRecords(gateway, owner().token, datasetId, records(20));
      const refused = await gateway.gql(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input: reference(datasetId) });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.mode' });
      const { dataset } = await gateway.data<{ dataset: { benchmark: boolean } }>(owner().token, 'query($id: ID!) { dataset(id: $id) { benchmark } }', { id: datasetId });
      expect(dataset.benchmark).toBe(false);

      const sql = new Client({ connectionString: gateway.databaseUrl });
      await sql.connect();
      try {
        await expect(sql.query('UPDATE dataset SET benchmark = true WHERE id = $1', [datasetId])).rejects.toThrow(/never changes/);
        const released = await release({ datasetId, expectedBatchSize: 10, mode: 'PUBLIC_ONLY', maxTokens: 4 });
        await expect(sql.query(`UPDATE release SET mode = 'NON_PRIVATE_REFERENCE', rho = 'Infinity', epsilon = 'Infinity' WHERE id = $1`, [released])).rejects.toThrow(/needs a benchmark dataset/);
        await expect(sql.query(`UPDATE release SET rho = 'Infinity', epsilon = 'Infinity' WHERE id = $1`, [released])).rejects.toThrow(/release_non_private_cost/);
      } finally {
        await sql.end();
      }
    });

    it('runs on a benchmark dataset: labelled with no guarantee, not charged, publishable only to its own organisation', async () => {
      const { createDataset: created } = await gateway.data<{ createDataset: { id: string; benchmark: boolean; replayThreshold: number } }>(
        owner().token,
        'mutation { createDataset(input: { name: "benchmark-trec", labelField: "label", labels: ["billing", "hardware"], benchmark: true, replayThreshold: 1, budget: { epsilon: 5, delta: 1e-6 } }) { id benchmark replayThreshold } }',
      );
      expect(created).toMatchObject({ benchmark: true, replayThreshold: 1 });
      const datasetId = created.id;
      await importRecords(gateway, owner().token, datasetId, records(30));

      for (const [field, extra] of [
        ['input.drafter', { drafter: { threshold: 0.5, sigma: 1 } }],
        ['input.targetEpsilon', { targetEpsilon: 1 }],
        ['input.privateTokenCap', { privateTokenCap: 2 }],
        ['input.labelAllocation.mode', { labelAllocation: { mode: 'DP_COUNT', countSigma: 5 } }],
      ] as const) {
        const refused = await gateway.gql(owner().token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input: reference(datasetId, extra) });
        expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      }

      const { planRelease } = await gateway.data<{ planRelease: { admitted: boolean; epsilonAfter: number; cost: Record<string, unknown> } }>(
        owner().token,
        'query($input: ReleaseInput!) { planRelease(input: $input) { admitted epsilonAfter cost { differentiallyPrivate rho epsilon rhoPerPrivateToken privateTokenCap conversion } } }',
        { input: reference(datasetId) },
      );
      expect(planRelease).toEqual({
        admitted: true,
        epsilonAfter: 0,
        cost: { differentiallyPrivate: false, rho: null, epsilon: null, rhoPerPrivateToken: null, privateTokenCap: 8, conversion: 'none' },
      });
      const id = await release(reference(datasetId));
      const { release: done } = await gateway.data<{ release: { parameters: { mode: string; drafter: unknown; privateTokenCap: number }; cost: { differentiallyPrivate: boolean; epsilon: number | null }; batchCount: number } }>(
        owner().token,
        'query($id: ID!) { release(id: $id) { batchCount parameters { mode drafter { threshold } privateTokenCap } cost { differentiallyPrivate epsilon } } }',
        { id },
      );
      expect(done).toEqual({ batchCount: 3, parameters: { mode: 'NON_PRIVATE_REFERENCE', drafter: null, privateTokenCap: 8 }, cost: { differentiallyPrivate: false, epsilon: null } });

      // Not in the ledger, and the budget says so.
      const { dataset } = await gateway.data<{ dataset: { budget: { spentRho: number; nonPrivateReleases: number; warnings: string[]; ledger: { nodes: unknown[] }; verification: { ok: boolean } } } }>(
        acme.users.COMPLIANCE.token,
        'query($id: ID!) { dataset(id: $id) { budget { spentRho nonPrivateReleases warnings ledger { nodes { sequence } } verification { ok } } } }',
        { id: datasetId },
      );
      expect(dataset.budget).toMatchObject({ spentRho: 0, nonPrivateReleases: 1, ledger: { nodes: [] }, verification: { ok: true } });
      expect(dataset.budget.warnings.join(' ')).toMatch(/1 NON_PRIVATE_REFERENCE release\(s\) .* no privacy guarantee/);
      const row = await gateway.database.repositories.releases.findById(id);
      expect([row!.rho, row!.epsilon]).toEqual([Infinity, Infinity]);

      const elsewhere = await publish(id, [globex.id]);
      expect(elsewhere.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'organizationIds' });
      expect((await publish(id, [acme.id])).errors).toBeUndefined();
      const exported = await fetch(`${gateway.url}/releases/${id}/export?format=jsonl`, { headers: { authorization: `Bearer ${acme.users.CONSUMER.token}` } });
      expect(exported.status).toBe(200);
      expect((await exported.text()).trim().split('\n')).toHaveLength(3);

      const { auditEvents } = await gateway.data<{ auditEvents: { nodes: { action: string; subjectId: string; details: Record<string, unknown> }[] } }>(
        acme.users.COMPLIANCE.token,
        '{ auditEvents(first: 100) { nodes { action subjectId details } } }',
      );
      expect(auditEvents.nodes.find((e) => e.action === 'dataset.create' && e.subjectId === datasetId)?.details).toMatchObject({ benchmark: true, replayThreshold: 1 });
      expect(auditEvents.nodes.find((e) => e.action === 'release.requested' && e.subjectId === id)?.details).toMatchObject({ mode: 'NON_PRIVATE_REFERENCE', rho: null });
    });
  });

  it('refuses benchmark datasets on a gateway that does not allow them', async () => {
    const strict = await startTestGateway();
    try {
      const org = await createOrganization(strict);
      const refused = await strict.gql(org.users.DATA_OWNER.token, 'mutation { createDataset(input: { name: "b", benchmark: true }) { id } }');
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.benchmark' });
    } finally {
      await strict.close();
    }
  });
});
