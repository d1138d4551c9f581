import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accuracy, distinguishingAuc, TextClassifier, type TextClassifierOptions } from '@synthgate/text-classifier';
import { GatewayClient } from '../../apps/cli/src/gateway-client';
import { type Example, stratifiedSample, type Task } from './tasks';

/** Decoding and accounting parameters shared by every release of a run. */
export interface ReleaseSettings {
  /** Model folder name; null for the gateway's DEFAULT_MODEL. */
  readonly model: string | null;
  readonly batchSize: number;
  readonly maxTokens: number;
  readonly clip: number;
  readonly temperature: number;
  readonly publicTemperature: number;
  readonly topK: number;
  readonly drafter: { readonly threshold: number; readonly sigma: number } | null;
  /** The dataset's delta. */
  readonly delta: number;
  /** Gaussian sigma of the DP label count that allocates batches to labels in private releases. */
  readonly countSigma: number;
}

export interface BenchmarkOptions {
  readonly task: Task;
  /** Finite epsilons, one private release each. */
  readonly epsilons: readonly number[];
  /** Also run the non-private reference (epsilon = inf). */
  readonly reference: boolean;
  /** Also run the public-only baseline. */
  readonly publicOnly: boolean;
  readonly release: ReleaseSettings;
  /** Import at most this many records of the private part (seeded, stratified); null for all. */
  readonly privateRecords: number | null;
  readonly seed: number;
  readonly classifier?: TextClassifierOptions;
  /** Give up on a release after this long. */
  readonly releaseTimeoutMs?: number;
  /** Where to write each release's exported synthetic records (JSONL), if anywhere. */
  readonly exportDir?: string | null;
  readonly log?: (message: string) => void;
}

/** The gateway to run against: its URL, the bootstrap admin token, and the METRICS_TOKEN. */
export interface GatewayAccess {
  readonly url: string;
  readonly adminToken: string;
  readonly metricsToken: string;
}

export type Setting = 'public-only' | 'private' | 'non-private-reference';

/** One row of the table, with exactly the fields of `--json`. */
export interface UtilityRow {
  readonly task: string;
  readonly setting: Setting;
  /** The release's target epsilon; 0 for public-only; "inf" for the non-private reference. */
  readonly epsilon: number | 'inf';
  readonly syntheticExamples: number;
  /** Test accuracy of the classifier trained on the synthetic examples. */
  readonly accuracy: number;
  /** Test accuracy of the same classifier trained on the imported private records. */
  readonly realDataAccuracy: number;
  /** Cross-validated ROC AUC of a classifier telling synthetic from real held-out text (0.5: indistinguishable); null with fewer than two examples. */
  readonly distinguishAuc: number | null;
  /** Public (drafter) tokens over all tokens the workers generated for this release. */
  readonly publicTokenShare: number | null;
  readonly examplesPerMinute: number;
}

/** What the markdown report shows beyond the JSON row. */
export interface RowDetails {
  readonly releaseId: string;
  readonly batches: number;
  readonly privateTokenCap: number;
  readonly spentEpsilon: number | null;
  readonly seconds: number;
  readonly meanWords: number;
  readonly replayShare: number | null;
  readonly longestSharedNgram: number | null;
  readonly duplicates: number | null;
}

export interface BenchmarkResult {
  readonly rows: readonly UtilityRow[];
  readonly details: readonly RowDetails[];
  readonly importedRecords: number;
  readonly testRecords: number;
  /** Test accuracy of always answering the private part's most frequent label: the floor. */
  readonly majorityAccuracy: number;
  readonly labels: readonly string[];
  readonly datasetId: string;
  readonly model: { readonly name: string; readonly fingerprint: string };
}

interface ReleaseView {
  id: string;
  status: string;
  failureReason: string | null;
  batchCount: number;
  progress: { batchesDone: number; elapsedSeconds: number | null };
  cost: { epsilon: number | null; privateTokenCap: number };
  model: { name: string; fingerprint: string };
}

/** The worker fleet's token counters from GET /metrics (Prometheus text format). */
export async function fleetCounters(access: GatewayAccess): Promise<{ batches: number; privateTokens: number; publicTokens: number }> {
  const response = await fetch(`${access.url}/metrics`, { headers: { authorization: `Bearer ${access.metricsToken}` } });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}; start the gateway with METRICS_TOKEN`);
  const text = await response.text();
  const value = (pattern: RegExp) => {
    const match = pattern.exec(text);
    return match ? Number(match[1]) : 0;
  };
  return {
    batches: value(/^synthgate_worker_batches_total (\S+)$/m),
    privateTokens: value(/^synthgate_worker_tokens_total\{kind="private"\} (\S+)$/m),
    publicTokens: value(/^synthgate_worker_tokens_total\{kind="public"\} (\S+)$/m),
  };
}

/** The first non-empty line of a generated continuation: the prompt asks for one record, the model may go on. */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.length > 0) ?? ''
  );
}

function labelCounts(examples: readonly Example[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const example of examples) counts.set(example.label, (counts.get(example.label) ?? 0) + 1);
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The utility benchmark through the product: a data owner imports the private part as a labelled
 * benchmark dataset, requests a public-only baseline, one private release per epsilon and the
 * non-private reference, one at a time (so the fleet's token counters attribute to one release);
 * a consumer of the owner's organisation exports each; classifiers trained on each synthetic set
 * and on the imported records are scored on the held-out test part.
 */
export async function runUtilityBenchmark(access: GatewayAccess, options: BenchmarkOptions): Promise<BenchmarkResult> {
  const log = options.log ?? (() => undefined);
  const { task, release: settings } = options;
  const admin = new GatewayClient(access.url, access.adminToken);
  const stamp = `${task.name}-${Date.now().toString(36)}`;

  // People: an organisation with a data owner and a consumer.
  const { createOrganization } = await admin.graphql<{ createOrganization: { id: string } }>('mutation($name: String!) { createOrganization(input: { name: $name }) { id } }', {
    name: `utility-bench-${stamp}`,
  });
  const person = async (role: 'DATA_OWNER' | 'CONSUMER') => {
    const { createUser } = await admin.graphql<{ createUser: { id: string } }>('mutation($org: ID!, $email: String!, $role: Role!) { createUser(input: { organizationId: $org, email: $email, role: $role }) { id } }', {
      org: createOrganization.id,
      email: `${role.toLowerCase()}-${stamp}@bench.example`,
      role,
    });
    const { createApiToken } = await admin.graphql<{ createApiToken: { secret: string } }>('mutation($user: ID!) { createApiToken(input: { userId: $user, name: "utility bench" }) { secret } }', {
      user: createUser.id,
    });
    return new GatewayClient(access.url, createApiToken.secret);
  };
  const owner = await person('DATA_OWNER');
  const consumer = await person('CONSUMER');

  // The sensitive dataset: the private part (subsampled), as a benchmark dataset.
  const privateRecords = options.privateRecords === null ? [...task.privatePart] : stratifiedSample(task.privatePart, options.privateRecords, options.seed);
  const labels = [...labelCounts(privateRecords).keys()].sort();
  // Each private release spends at most its target; their sum covers them all (zCDP composes below it).
  const budgetEpsilon = Math.min(1000, Math.max(1, options.epsilons.reduce((sum, epsilon) => sum + epsilon, 0) * 1.01));
  const { createDataset } = await owner.graphql<{ createDataset: { id: string } }>(
    'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }',
    {
      input: {
        name: `utility-${stamp}`,
        description: `utility benchmark: ${task.description}`,
        textField: 'text',
        labelField: 'label',
        // The task's label set is its public schema (here read off the private part, which the
        // benchmark owns); an import with any other label would be refused.
        labels,
        promptTemplate: task.promptTemplate,
        benchmark: options.reference,
        // Every release is published to the owner's own organisation for export; replay is reported, not gated.
        replayThreshold: 1,
        budget: { epsilon: budgetEpsilon, delta: settings.delta },
      },
    },
  );
  const datasetId = createDataset.id;
  const body = privateRecords.map((example) => JSON.stringify(example)).join('\n');
  const imported = (await (await owner.fetch(`/datasets/${datasetId}/records`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })).json()) as { imported: number };
  if (imported.imported !== privateRecords.length) throw new Error(`imported ${imported.imported} of ${privateRecords.length} records`);
  log(`imported ${imported.imported} records (${labels.length} labels) into benchmark dataset ${datasetId}`);

  // The label mix: a DP count (charged) for private releases; the private part's proportions for
  // the public-only baseline and the non-private reference (which have no count to pay with).
  const counts = labelCounts(privateRecords);
  // A weight of at least one batch's worth of records gives every label a batch, as a DP count does.
  const declared = { mode: 'DECLARED', proportions: labels.map((label) => ({ label, weight: Math.max(counts.get(label)!, settings.batchSize) })) };
  const common = {
    datasetId,
    ...(settings.model ? { model: settings.model } : {}),
    batchSize: settings.batchSize,
    maxTokens: settings.maxTokens,
    temperature: settings.temperature,
    publicTemperature: settings.publicTemperature,
    topK: settings.topK,
  };
  const plans: { setting: Setting; epsilon: number | 'inf'; input: Record<string, unknown> }[] = [];
  if (options.publicOnly) plans.push({ setting: 'public-only', epsilon: 0, input: { ...common, mode: 'PUBLIC_ONLY', labelAllocation: declared } });
  for (const epsilon of options.epsilons) {
    plans.push({
      setting: 'private',
      epsilon,
      input: { ...common, clip: settings.clip, drafter: settings.drafter, targetEpsilon: epsilon, labelAllocation: { mode: 'DP_COUNT', countSigma: settings.countSigma } },
    });
  }
  if (options.reference) plans.push({ setting: 'non-private-reference', epsilon: 'inf', input: { ...common, mode: 'NON_PRIVATE_REFERENCE', labelAllocation: declared } });

  // The same classifier on the real records: the ceiling the synthetic sets are compared with.
  const testTexts = task.test.map((example) => example.text);
  const testLabels = task.test.map((example) => example.label);
  const real = TextClassifier.train(
    privateRecords.map((example) => example.text),
    privateRecords.map((example) => example.label),
    options.classifier,
  );
  const realDataAccuracy = accuracy(real.predict(testTexts), testLabels);
  log(`classifier trained on the ${privateRecords.length} imported records: test accuracy ${realDataAccuracy.toFixed(4)}`);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  const majorityAccuracy = accuracy(
    testLabels.map(() => majority),
    testLabels,
  );

  const rows: UtilityRow[] = [];
  const details: RowDetails[] = [];
  let model = { name: '', fingerprint: '' };
  for (const plan of plans) {
    const before = await fleetCounters(access);
    const { createRelease } = await owner.graphql<{ createRelease: { id: string; batchCount: number; cost: { privateTokenCap: number } } }>(
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount cost { privateTokenCap } } }',
      { input: plan.input },
    );
    log(`${plan.setting} epsilon ${plan.epsilon}: release ${createRelease.id}, ${createRelease.batchCount} batches, up to ${createRelease.cost.privateTokenCap} private tokens each`);
    const done = await waitForRelease(owner, createRelease.id, options.releaseTimeoutMs ?? 4 * 3600_000);
    model = done.model;
    // The workers publish their totals every heartbeat: wait until this release's batches show.
    let after = await fleetCounters(access);
    for (let waited = 0; after.batches - before.batches < done.batchCount && waited < 60_000; waited += 250) {
      await sleep(250);
      after = await fleetCounters(access);
    }
    const privateTokens = after.privateTokens - before.privateTokens;
    const publicTokens = after.publicTokens - before.publicTokens;

    await owner.graphql('mutation($id: ID!, $orgs: [ID!]!) { publishRelease(id: $id, organizationIds: $orgs) { id } }', { id: done.id, orgs: [createOrganization.id] });
    const exported = await (await consumer.fetch(`/releases/${done.id}/export?format=jsonl`, { method: 'GET' })).text();
    const synthetic = exported
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { ordinal: number; label: string; text: string })
      .map((record) => ({ label: record.label, text: firstLine(record.text) }));
    if (options.exportDir) writeFileSync(join(options.exportDir, `${task.name}-${plan.setting}-${plan.epsilon}.jsonl`), `${synthetic.map((s) => JSON.stringify(s)).join('\n')}\n`);

    const classifier = TextClassifier.train(
      synthetic.map((s) => s.text),
      synthetic.map((s) => s.label),
      options.classifier,
    );
    const distinguish = distinguishingAuc(
      testTexts,
      synthetic.map((s) => s.text),
      { ...options.classifier, seed: options.seed },
    );
    const { release: reviewed } = await owner.graphql<{ release: { qualityReport: { words: { mean: number }; duplicates: { duplicateRecords: number }; replay: { replayShare: number; longestSharedNgram: number } } | null } }>(
      'query($id: ID!) { release(id: $id) { qualityReport { words { mean } duplicates { duplicateRecords } replay { replayShare longestSharedNgram } } } }',
      { id: done.id },
    );
    const seconds = done.progress.elapsedSeconds ?? 0;
    const row: UtilityRow = {
      task: task.name,
      setting: plan.setting,
      epsilon: plan.epsilon,
      syntheticExamples: synthetic.length,
      accuracy: accuracy(classifier.predict(testTexts), testLabels),
      realDataAccuracy,
      distinguishAuc: distinguish?.auc ?? null,
      publicTokenShare: privateTokens + publicTokens > 0 ? publicTokens / (privateTokens + publicTokens) : null,
      examplesPerMinute: seconds > 0 ? (done.progress.batchesDone / seconds) * 60 : 0,
    };
    rows.push(row);
    details.push({
      releaseId: done.id,
      batches: done.batchCount,
      privateTokenCap: done.cost.privateTokenCap,
      spentEpsilon: done.cost.epsilon,
      seconds,
      meanWords: reviewed.qualityReport?.words.mean ?? 0,
      replayShare: reviewed.qualityReport?.replay.replayShare ?? null,
      longestSharedNgram: reviewed.qualityReport?.replay.longestSharedNgram ?? null,
      duplicates: reviewed.qualityReport?.duplicates.duplicateRecords ?? null,
    });
    log(
      `  ${row.syntheticExamples} examples in ${seconds.toFixed(0)} s: accuracy ${row.accuracy.toFixed(4)}, distinguishing AUC ${row.distinguishAuc?.toFixed(3) ?? 'n/a'}, public token share ${row.publicTokenShare?.toFixed(3) ?? 'n/a'}`,
    );
  }
  return { rows, details, importedRecords: privateRecords.length, testRecords: task.test.length, majorityAccuracy, labels, datasetId, model };
}

async function waitForRelease(owner: GatewayClient, id: string, timeoutMs: number): Promise<ReleaseView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { release } = await owner.graphql<{ release: ReleaseView }>(
      'query($id: ID!) { release(id: $id) { id status failureReason batchCount progress { batchesDone elapsedSeconds } cost { epsilon privateTokenCap } model { name fingerprint } } }',
      { id },
    );
    if (release.status === 'SUCCEEDED') return release;
    if (release.status !== 'QUEUED' && release.status !== 'RUNNING') throw new Error(`release ${id} ended ${release.status}: ${release.failureReason ?? 'no reason given'}`);
    if (Date.now() > deadline) throw new Error(`release ${id} still ${release.status} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(1000);
  }
}
