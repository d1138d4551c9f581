import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accuracy, distinguishingAuc, TextClassifier, type TextClassifierOptions } from '@synthgate/text-classifier';
import { GatewayClient } from '../../apps/cli/src/gateway-client';
import { balancedAccuracy, bestConstantAccuracy, blindFidelity, type BucketCounts, histogramQuantile, labelFidelity, type Spread, spread } from './metrics';
import { type Example, stratifiedSample, type Task } from './tasks';

/** Decoding and accounting parameters shared by every release of a run. */
export interface ReleaseSettings {
  /** Model folder name; null for the gateway's DEFAULT_MODEL. */
  readonly model: string | null;
  readonly expectedBatchSize: number;
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
  /**
   * CLUSTERED batching (issue 19): clusters per label, Lloyd iterations, and the share of each
   * private release's target epsilon given to the clustering; null: RANDOM batching. The public-only
   * baseline reads no record and stays RANDOM; the non-private reference clusters exactly.
   */
  readonly batching?: { readonly clusters: number; readonly iterations: number; readonly clusteringShare: number } | null;
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
  /**
   * Runs of each setting (default 1): each is a fresh release (fresh randomness and partition key),
   * scored with classifier seed `seed + run`; the report gives their mean and spread.
   */
  readonly runs?: number;
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

/** Quantiles of the drafter's sparse-vector statistic over the steps of one release (from the fleet histogram). */
export interface StatisticQuantiles {
  /** Steps that ran the sparse-vector test. */
  readonly steps: number;
  readonly p10: number;
  readonly p25: number;
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
}

/** One row of the table (one release), with exactly the fields of `--json`. */
export interface UtilityRow {
  readonly task: string;
  readonly setting: Setting;
  /** The release's target epsilon; 0 for public-only; "inf" for the non-private reference. */
  readonly epsilon: number | 'inf';
  /** Which run of the setting (0 .. runs - 1). */
  readonly run: number;
  readonly syntheticExamples: number;
  /** Test accuracy of the classifier trained on the synthetic examples. */
  readonly accuracy: number;
  /** Its balanced accuracy (mean per-label recall on the test part; chance is 1 / labels). */
  readonly balancedAccuracy: number;
  /** Test accuracy of the same classifier trained on the imported private records. */
  readonly realDataAccuracy: number;
  readonly realDataBalancedAccuracy: number;
  /** Accuracy of the best single label answered for every test example (the test part's largest label share). */
  readonly bestConstantAccuracy: number;
  /** Share of synthetic examples whose attached label the real-data classifier predicts for their text. */
  readonly labelFidelity: number;
  /** What a label-blind generator would score: sum over labels of (attached share x predicted share). */
  readonly blindFidelity: number;
  /** Cross-validated ROC AUC of a classifier telling synthetic from real held-out text (0.5: indistinguishable); null with fewer than two examples. */
  readonly distinguishAuc: number | null;
  /** Public (drafter) tokens over all tokens the workers generated for this release. */
  readonly publicTokenShare: number | null;
  /** The sparse-vector statistic's distribution over this release's tested steps; null when no step was tested. */
  readonly drafterStatistic: StatisticQuantiles | null;
  readonly examplesPerMinute: number;
}

/** Mean and spread of one setting over its runs. */
export interface SettingSummary {
  readonly setting: Setting;
  readonly epsilon: number | 'inf';
  readonly runs: number;
  readonly accuracy: Spread;
  readonly balancedAccuracy: Spread;
  readonly labelFidelity: Spread;
  readonly blindFidelity: Spread;
  readonly publicTokenShare: Spread | null;
  /** Median of the drafter statistic, over runs (each run's median); null without drafter steps. */
  readonly drafterStatisticMedian: Spread | null;
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
  /** Test accuracy of always answering the private part's most frequent label. */
  readonly majorityAccuracy: number;
  /** Test accuracy of the best single label (the test part's largest label share): the floor of accuracy. */
  readonly bestConstantAccuracy: number;
  /** Balanced accuracy of chance (and of any constant answer): 1 / labels of the test part. */
  readonly chanceBalancedAccuracy: number;
  /** One entry per setting, in run order. */
  readonly summaries: readonly SettingSummary[];
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
export interface FleetCounters {
  readonly batches: number;
  readonly privateTokens: number;
  readonly publicTokens: number;
  /** The drafter statistic's histogram (non-cumulative counts); empty before any drafter step. */
  readonly drafterStatistic: BucketCounts;
}

/** Reads a Prometheus histogram's buckets (cumulative in the text) back into non-cumulative counts. */
export function parseHistogram(text: string, name: string): BucketCounts {
  const bounds: number[] = [];
  const cumulative: number[] = [];
  let overflow = 0;
  for (const match of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))) {
    if (match[1] === '+Inf') overflow = Number(match[2]);
    else {
      bounds.push(Number(match[1]));
      cumulative.push(Number(match[2]));
    }
  }
  const counts = cumulative.map((value, i) => value - (i === 0 ? 0 : cumulative[i - 1]!));
  if (bounds.length > 0) counts.push(overflow - cumulative[cumulative.length - 1]!);
  return { bounds, counts };
}

/** The difference of two snapshots of one histogram (after minus before); bounds must agree. */
function histogramDelta(after: BucketCounts, before: BucketCounts): BucketCounts {
  if (before.counts.length === 0) return after;
  if (before.bounds.length !== after.bounds.length) return { bounds: after.bounds, counts: [] };
  return { bounds: after.bounds, counts: after.counts.map((count, i) => count - (before.counts[i] ?? 0)) };
}

/** Quantiles of a histogram of drafter statistics; null when it holds no step. */
export function statisticQuantiles(histogram: BucketCounts): StatisticQuantiles | null {
  const steps = histogram.counts.reduce((a, c) => a + c, 0);
  if (steps === 0) return null;
  const q = (p: number) => Number(histogramQuantile(histogram, p)!.toFixed(4));
  return { steps, p10: q(0.1), p25: q(0.25), p50: q(0.5), p75: q(0.75), p90: q(0.9) };
}

export async function fleetCounters(access: GatewayAccess): Promise<FleetCounters> {
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
    drafterStatistic: parseHistogram(text, 'synthgate_drafter_statistic'),
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
    const { createApiToken } = await admin.graphql<{ createApiToken: { secret: string } }>('mutation($user: ID!) { createApiToken(input: { userId: $user, name: "utility bench", reason: "utility benchmark: a token for its own benchmark user" }) { secret } }', {
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
  const runs = options.runs ?? 1;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a whole number >= 1, got ${runs}`);
  const budgetEpsilon = Math.min(1000, Math.max(1, options.epsilons.reduce((sum, epsilon) => sum + epsilon, 0) * runs * 1.01));
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
  const declared = { mode: 'DECLARED', proportions: labels.map((label) => ({ label, weight: Math.max(counts.get(label)!, settings.expectedBatchSize) })) };
  const common = {
    datasetId,
    ...(settings.model ? { model: settings.model } : {}),
    expectedBatchSize: settings.expectedBatchSize,
    maxTokens: settings.maxTokens,
    temperature: settings.temperature,
    publicTemperature: settings.publicTemperature,
    topK: settings.topK,
  };
  const plans: { setting: Setting; epsilon: number | 'inf'; input: Record<string, unknown> }[] = [];
  const clustered = settings.batching ?? null;
  if (options.publicOnly) plans.push({ setting: 'public-only', epsilon: 0, input: { ...common, mode: 'PUBLIC_ONLY', labelAllocation: declared } });
  for (const epsilon of options.epsilons) {
    plans.push({
      setting: 'private',
      epsilon,
      input: {
        ...common,
        clip: settings.clip,
        drafter: settings.drafter,
        targetEpsilon: epsilon,
        labelAllocation: { mode: 'DP_COUNT', countSigma: settings.countSigma },
        ...(clustered ? { batching: { mode: 'CLUSTERED', clusters: clustered.clusters, iterations: clustered.iterations, clusteringEpsilon: clustered.clusteringShare * epsilon } } : {}),
      },
    });
  }
  if (options.reference) {
    const batching = clustered ? { batching: { mode: 'CLUSTERED', clusters: clustered.clusters, iterations: clustered.iterations } } : {};
    plans.push({ setting: 'non-private-reference', epsilon: 'inf', input: { ...common, mode: 'NON_PRIVATE_REFERENCE', labelAllocation: declared, ...batching } });
  }

  // The same classifier on the real records: the ceiling the synthetic sets are compared with.
  const testTexts = task.test.map((example) => example.text);
  const testLabels = task.test.map((example) => example.label);
  const real = TextClassifier.train(
    privateRecords.map((example) => example.text),
    privateRecords.map((example) => example.label),
    options.classifier,
  );
  const realPredictions = real.predict(testTexts);
  const realDataAccuracy = accuracy(realPredictions, testLabels);
  const realDataBalancedAccuracy = balancedAccuracy(realPredictions, testLabels);
  log(`classifier trained on the ${privateRecords.length} imported records: test accuracy ${realDataAccuracy.toFixed(4)}, balanced ${realDataBalancedAccuracy.toFixed(4)}`);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  const majorityAccuracy = accuracy(
    testLabels.map(() => majority),
    testLabels,
  );
  const bestConstant = bestConstantAccuracy(testLabels);
  const chanceBalancedAccuracy = 1 / new Set(testLabels).size;

  const rows: UtilityRow[] = [];
  const details: RowDetails[] = [];
  let model = { name: '', fingerprint: '' };
  for (const plan of plans) {
    for (let run = 0; run < runs; run += 1) {
      const { row, detail, modelInfo } = await runRelease(plan, run);
      rows.push(row);
      details.push(detail);
      model = modelInfo;
    }
  }
  const summaries = summarise(rows);
  return {
    rows,
    details,
    summaries,
    importedRecords: privateRecords.length,
    testRecords: task.test.length,
    majorityAccuracy,
    bestConstantAccuracy: bestConstant,
    chanceBalancedAccuracy,
    labels,
    datasetId,
    model,
  };

  async function runRelease(plan: (typeof plans)[number], run: number): Promise<{ row: UtilityRow; detail: RowDetails; modelInfo: { name: string; fingerprint: string } }> {
    const before = await fleetCounters(access);
    const { createRelease } = await owner.graphql<{ createRelease: { id: string; batchCount: number; cost: { privateTokenCap: number } } }>(
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount cost { privateTokenCap } } }',
      { input: plan.input },
    );
    log(`${plan.setting} epsilon ${plan.epsilon} run ${run + 1}/${runs}: release ${createRelease.id}, ${createRelease.batchCount} batches, up to ${createRelease.cost.privateTokenCap} private tokens each`);
    const done = await waitForRelease(owner, createRelease.id, options.releaseTimeoutMs ?? 4 * 3600_000);
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
    if (options.exportDir) {
      const suffix = runs > 1 ? `-run${run + 1}` : '';
      writeFileSync(join(options.exportDir, `${task.name}-${plan.setting}-${plan.epsilon}${suffix}.jsonl`), `${synthetic.map((example) => JSON.stringify(example)).join('\n')}\n`);
    }

    const classifierOptions = { ...options.classifier, model: { ...options.classifier?.model, seed: options.seed + run } };
    const syntheticTexts = synthetic.map((example) => example.text);
    const attached = synthetic.map((example) => example.label);
    const classifier = TextClassifier.train(syntheticTexts, attached, classifierOptions);
    const predictions = classifier.predict(testTexts);
    const distinguish = distinguishingAuc(testTexts, syntheticTexts, { ...classifierOptions, seed: options.seed + run });
    // The real-data classifier labels each synthetic text: does the text carry its attached label?
    const realOnSynthetic = syntheticTexts.length > 0 ? real.predict(syntheticTexts) : [];
    const { release: reviewed } = await owner.graphql<{ release: { qualityReport: { words: { mean: number }; duplicates: { duplicateRecords: number }; replay: { replayShare: number; longestSharedNgram: number } } | null } }>(
      'query($id: ID!) { release(id: $id) { qualityReport { words { mean } duplicates { duplicateRecords } replay { replayShare longestSharedNgram } } } }',
      { id: done.id },
    );
    const seconds = done.progress.elapsedSeconds ?? 0;
    const row: UtilityRow = {
      task: task.name,
      setting: plan.setting,
      epsilon: plan.epsilon,
      run,
      syntheticExamples: synthetic.length,
      accuracy: accuracy(predictions, testLabels),
      balancedAccuracy: balancedAccuracy(predictions, testLabels),
      realDataAccuracy,
      realDataBalancedAccuracy,
      bestConstantAccuracy: bestConstant,
      labelFidelity: labelFidelity(realOnSynthetic, attached),
      blindFidelity: blindFidelity(realOnSynthetic, attached),
      distinguishAuc: distinguish?.auc ?? null,
      publicTokenShare: privateTokens + publicTokens > 0 ? publicTokens / (privateTokens + publicTokens) : null,
      drafterStatistic: statisticQuantiles(histogramDelta(after.drafterStatistic, before.drafterStatistic)),
      examplesPerMinute: seconds > 0 ? (done.progress.batchesDone / seconds) * 60 : 0,
    };
    const detail: RowDetails = {
      releaseId: done.id,
      batches: done.batchCount,
      privateTokenCap: done.cost.privateTokenCap,
      spentEpsilon: done.cost.epsilon,
      seconds,
      meanWords: reviewed.qualityReport?.words.mean ?? 0,
      replayShare: reviewed.qualityReport?.replay.replayShare ?? null,
      longestSharedNgram: reviewed.qualityReport?.replay.longestSharedNgram ?? null,
      duplicates: reviewed.qualityReport?.duplicates.duplicateRecords ?? null,
    };
    log(
      `  ${row.syntheticExamples} examples in ${seconds.toFixed(0)} s: accuracy ${row.accuracy.toFixed(4)} (balanced ${row.balancedAccuracy.toFixed(4)}), label fidelity ${row.labelFidelity.toFixed(3)} (blind ${row.blindFidelity.toFixed(3)}), distinguishing AUC ${row.distinguishAuc?.toFixed(3) ?? 'n/a'}, public token share ${row.publicTokenShare?.toFixed(3) ?? 'n/a'}${row.drafterStatistic ? `, drafter statistic median ${row.drafterStatistic.p50}` : ''}`,
    );
    return { row, detail, modelInfo: done.model };
  }
}

/** Mean and spread per setting, in the order the settings first appear. */
export function summarise(rows: readonly UtilityRow[]): SettingSummary[] {
  const groups = new Map<string, UtilityRow[]>();
  for (const row of rows) {
    const key = `${row.setting}:${row.epsilon}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const shares = group.map((row) => row.publicTokenShare).filter((share): share is number => share !== null);
    const medians = group.map((row) => row.drafterStatistic?.p50).filter((median): median is number => median !== undefined);
    return {
      setting: group[0]!.setting,
      epsilon: group[0]!.epsilon,
      runs: group.length,
      accuracy: spread(group.map((row) => row.accuracy)),
      balancedAccuracy: spread(group.map((row) => row.balancedAccuracy)),
      labelFidelity: spread(group.map((row) => row.labelFidelity)),
      blindFidelity: spread(group.map((row) => row.blindFidelity)),
      publicTokenShare: shares.length > 0 ? spread(shares) : null,
      drafterStatisticMedian: medians.length > 0 ? spread(medians) : null,
    };
  });
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
