import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { GatewayClient, output, withConnection, type ConnectionOptions } from './gateway-client';

function number(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError('must be a number.');
  return value;
}

function integer(text: string): number {
  const value = number(text);
  if (!Number.isInteger(value)) throw new InvalidArgumentError('must be a whole number.');
  return value;
}

function list(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter(Boolean);
}

interface ReleaseFlags extends ConnectionOptions {
  dataset: string;
  expectedBatchSize: number;
  model?: string;
  clip?: number;
  temperature?: number;
  publicTemperature?: number;
  drafterThreshold?: number;
  drafterSigma?: number;
  privateTokens?: number;
  epsilon?: number;
  maxTokens?: number;
  maxPromptTokens?: number;
  topK?: number;
  labels?: string[];
  countSigma?: number;
  batching?: string;
  clusters?: number;
  clusteringEpsilon?: number;
  clusteringIterations?: number;
  clusterCountSigma?: number;
  publicOnly?: boolean;
  watch?: boolean;
}

/** The ReleaseInput of planRelease and createRelease, from the flags. */
function releaseInput(flags: ReleaseFlags): Record<string, unknown> {
  if ((flags.drafterThreshold === undefined) !== (flags.drafterSigma === undefined)) {
    throw new InvalidArgumentError('--drafter-threshold and --drafter-sigma go together (or neither: every token private).');
  }
  return {
    datasetId: flags.dataset,
    mode: flags.publicOnly ? 'PUBLIC_ONLY' : 'PRIVATE',
    model: flags.model ?? null,
    expectedBatchSize: flags.expectedBatchSize,
    clip: flags.clip ?? null,
    temperature: flags.temperature ?? null,
    publicTemperature: flags.publicTemperature ?? null,
    drafter: flags.drafterThreshold !== undefined ? { threshold: flags.drafterThreshold, sigma: flags.drafterSigma } : null,
    privateTokenCap: flags.privateTokens ?? null,
    targetEpsilon: flags.epsilon ?? null,
    maxTokens: flags.maxTokens ?? null,
    maxPromptTokens: flags.maxPromptTokens ?? null,
    topK: flags.topK ?? null,
    labels: flags.labels ?? null,
    labelAllocation: flags.countSigma !== undefined ? { mode: 'DP_COUNT', countSigma: flags.countSigma } : null,
    batching: batchingInput(flags),
  };
}

/** The batching of the release: RANDOM unless --batching clustered (the gateway checks the numbers). */
function batchingInput(flags: ReleaseFlags): Record<string, unknown> | null {
  const mode = (flags.batching ?? 'random').toLowerCase();
  const clusteredFlags = [flags.clusters, flags.clusteringEpsilon, flags.clusteringIterations, flags.clusterCountSigma];
  if (mode === 'random') {
    if (clusteredFlags.some((value) => value !== undefined)) throw new InvalidArgumentError('--clusters, --clustering-epsilon, --clustering-iterations and --cluster-count-sigma need --batching clustered.');
    return flags.batching === undefined ? null : { mode: 'RANDOM' };
  }
  if (mode !== 'clustered') throw new InvalidArgumentError(`--batching must be random or clustered, got ${flags.batching}.`);
  return {
    mode: 'CLUSTERED',
    clusters: flags.clusters ?? null,
    clusteringEpsilon: flags.clusteringEpsilon ?? null,
    iterations: flags.clusteringIterations ?? null,
    countSigma: flags.clusterCountSigma ?? null,
  };
}

function releaseFlags(command: Command): Command {
  return withConnection(command)
    .requiredOption('--dataset <id>', 'dataset id')
    .requiredOption('--expected-batch-size <s>', 'expected records per batch (the divisor s)', integer)
    .option('--model <name>', 'model folder in MODELS_DIR (default DEFAULT_MODEL)')
    .option('--clip <c>', 'logit clip bound (default 10)', number)
    .option('--temperature <tau>', 'private temperature (default 2)', number)
    .option('--public-temperature <tau>', 'public temperature, 0 = greedy (default 1)', number)
    .option('--drafter-threshold <theta>', 'sparse-vector threshold in [0, 2] (with --drafter-sigma)', number)
    .option('--drafter-sigma <sigma>', 'sparse-vector noise scale (with --drafter-threshold)', number)
    .option('--private-tokens <r>', 'private tokens per example (or --epsilon)', integer)
    .option('--epsilon <epsilon>', 'target epsilon of this release (or --private-tokens)', number)
    .option('--max-tokens <T>', 'tokens per example at most (default 64)', integer)
    .option('--max-prompt-tokens <P>', 'public bound on each prompt in tokens; longer record texts are cut (default 256 or the model context left)', integer)
    .option('--top-k <k>', "sample among the public row's top k tokens (default off)", integer)
    .option('--labels <labels>', 'labels to generate, comma-separated (default all)', list)
    .option('--count-sigma <sigma>', 'split batches over labels by a DP count with this noise (charged)', number)
    .option('--batching <mode>', 'random (default) or clustered: topic-coherent batches from a private k-means of each label\'s records (charged)')
    .option('--clusters <k>', 'clusters per label (--batching clustered)', integer)
    .option('--clustering-epsilon <epsilon>', 'epsilon of the private k-means alone, part of the cost (--batching clustered)', number)
    .option('--clustering-iterations <n>', 'Lloyd iterations (--batching clustered; default 3)', integer)
    .option('--cluster-count-sigma <sigma>', 'noise of the count per label and cluster (--batching clustered, without --count-sigma)', number)
    .option('--public-only', 'a baseline from the public prompt alone: reads no record, costs nothing');
}

const PLAN = `cost { rho epsilon delta privateTokenCap labelCountRho clusteringRho tokensRho } epsilonBefore epsilonAfter remainingEpsilon admitted refusal
  batches expectedExamples expectedExamplesPerCluster labels { label batches } estimatedPromptTokens kvCacheBytesPerBatch kvCacheLimitBytes`;

interface Plan {
  cost: { rho: number; epsilon: number; delta: number; privateTokenCap: number; labelCountRho: number; clusteringRho: number; tokensRho: number | null };
  expectedExamplesPerCluster: number | null;
  epsilonBefore: number;
  epsilonAfter: number;
  remainingEpsilon: number;
  admitted: boolean;
  refusal: string | null;
  batches: number | null;
  labels: { label: string | null; batches: number | null }[];
  kvCacheBytesPerBatch: number;
  kvCacheLimitBytes: number;
}

function describePlan(plan: Plan): string {
  const labels = plan.labels.map((l) => `${l.label ?? 'all'}: ${l.batches ?? 'from a DP count'}`).join(', ');
  return [
    `private tokens per example  ${plan.cost.privateTokenCap}`,
    `cost                        rho ${plan.cost.rho.toPrecision(4)}, epsilon ${plan.cost.epsilon.toFixed(3)} at delta ${plan.cost.delta}`,
    `budget split (rho)          tokens ${(plan.cost.tokensRho ?? 0).toPrecision(4)}, counts ${plan.cost.labelCountRho.toPrecision(4)}, clustering ${plan.cost.clusteringRho.toPrecision(4)}`,
    ...(plan.expectedExamplesPerCluster === null ? [] : [`examples per cluster        ${plan.expectedExamplesPerCluster.toFixed(1)} expected`]),
    `dataset epsilon             ${plan.epsilonBefore.toFixed(3)} -> ${plan.epsilonAfter.toFixed(3)} (remaining ${plan.remainingEpsilon.toFixed(3)})`,
    `synthetic examples          ${plan.batches ?? 'from a DP label count'} (${labels})`,
    `KV cache per batch          ${(plan.kvCacheBytesPerBatch / 2 ** 20).toFixed(1)} MiB of ${(plan.kvCacheLimitBytes / 2 ** 20).toFixed(0)} MiB`,
    plan.admitted ? 'admitted' : `would be refused: ${plan.refusal}`,
  ].join('\n');
}

interface Progress {
  status: string;
  failureReason: string | null;
  /** Null for anyone but the owning organisation's DATA_OWNER and COMPLIANCE (pace depends on the records). */
  progress: { batchesDone: number; batchesTotal: number; tokensPerSecond: number | null; estimatedSecondsLeft: number | null } | null;
}

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One line of progress: status, a bar of batches, tokens per second and time left. */
export function progressLine(release: Progress, width = 30): string {
  if (release.progress === null) return `${release.status.padEnd(9)} (progress is shown to the owning organisation only)`;
  const { batchesDone, batchesTotal, tokensPerSecond, estimatedSecondsLeft } = release.progress;
  const filled = batchesTotal > 0 ? Math.round((batchesDone / batchesTotal) * width) : 0;
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const rate = tokensPerSecond === null ? '-- tok/s' : `${tokensPerSecond.toFixed(1)} tok/s`;
  return `${release.status.padEnd(9)} [${bar}] ${batchesDone}/${batchesTotal} batches  ${rate}  ${duration(estimatedSecondsLeft)} left`;
}

/** Polls a release until it ends, drawing its progress; resolves with its final state. */
export async function watchRelease(client: GatewayClient, id: string, intervalMs = 1000, out: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  const tty = out.isTTY === true;
  let lastPrinted = 0;
  for (;;) {
    const { release } = await client.graphql<{ release: Progress }>(
      'query($id: ID!) { release(id: $id) { status failureReason progress { batchesDone batchesTotal tokensPerSecond estimatedSecondsLeft } } }',
      { id },
    );
    const line = progressLine(release);
    const over = release.status !== 'QUEUED' && release.status !== 'RUNNING';
    if (tty) out.write(`\r${line}${over ? '\n' : ''}`);
    else if (over || Date.now() - lastPrinted > 5000) {
      out.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    if (over) return release;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `synthgate release ...` and `synthgate ledger`: plan, request, watch, publish and read releases. */
export function registerReleaseCommands(program: Command): void {
  const release = program.command('release').description('synthetic releases: plan, create, watch, publish, export');

  releaseFlags(release.command('plan').description('dry run: cost, examples and memory; debits nothing')).action(async (flags: ReleaseFlags) => {
    const { planRelease } = await GatewayClient.fromOptions(flags).graphql<{ planRelease: Plan }>(`query($input: ReleaseInput!) { planRelease(input: $input) { ${PLAN} } }`, {
      input: releaseInput(flags),
    });
    output(flags, planRelease, describePlan(planRelease));
  });

  releaseFlags(release.command('create').description('request a release (debits the budget) and optionally watch it').option('--watch', 'show progress until it ends')).action(
    async (flags: ReleaseFlags) => {
      const client = GatewayClient.fromOptions(flags);
      const { createRelease } = await client.graphql<{ createRelease: { id: string; batchCount: number; cost: { epsilon: number; privateTokenCap: number } } }>(
        'mutation($input: ReleaseInput!) { createRelease(input: $input) { id batchCount cost { epsilon privateTokenCap } } }',
        { input: releaseInput(flags) },
      );
      if (!flags.watch) {
        output(flags, createRelease, `release ${createRelease.id} queued: ${createRelease.batchCount} examples, epsilon ${createRelease.cost.epsilon.toFixed(3)}`);
        return;
      }
      process.stderr.write(`release ${createRelease.id} queued: ${createRelease.batchCount} examples, epsilon ${createRelease.cost.epsilon.toFixed(3)}\n`);
      const final = await watchRelease(client, createRelease.id);
      output(flags, { id: createRelease.id, status: final.status }, createRelease.id);
      if (final.status !== 'SUCCEEDED') throw new Error(`release ${createRelease.id} ended ${final.status}${final.failureReason ? `: ${final.failureReason}` : ''}`);
    },
  );

  withConnection(release.command('watch').description('show progress until the release ends').argument('<id>', 'release id')).action(async (id: string, options: ConnectionOptions) => {
    const final = await watchRelease(GatewayClient.fromOptions(options), id);
    if (final.status !== 'SUCCEEDED') throw new Error(`release ${id} ended ${final.status}${final.failureReason ? `: ${final.failureReason}` : ''}`);
  });

  withConnection(
    release
      .command('list')
      .description('releases you may see')
      .option('--dataset <id>', 'only this dataset')
      .addOption(new Option('--status <status>', 'only this status').choices(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'])),
  ).action(async (options: ConnectionOptions & { dataset?: string; status?: string }) => {
    const { releases } = await GatewayClient.fromOptions(options).graphql<{
      releases: { nodes: { id: string; status: string; datasetName: string; batchCount: number; cost: { epsilon: number | null }; createdAt: string }[] };
    }>('query($filter: ReleaseFilter) { releases(first: 100, filter: $filter) { nodes { id status datasetName batchCount cost { epsilon } createdAt } } }', {
      filter: { datasetId: options.dataset ?? null, status: options.status ?? null },
    });
    output(
      options,
      releases.nodes,
      releases.nodes.map((r) => `${r.id}  ${r.status.padEnd(9)}  ${String(r.batchCount).padStart(5)} examples  epsilon ${r.cost.epsilon === null ? 'inf (non-private)' : r.cost.epsilon.toFixed(3)}  ${r.datasetName}`).join('\n'),
    );
  });

  withConnection(
    release
      .command('publish')
      .description('publish a succeeded release to organisations')
      .argument('<id>', 'release id')
      .requiredOption('--to <organizationIds>', 'comma-separated organisation ids', list)
      .option('--override-replay-check', "publish although the release's replay share exceeds the dataset's replay threshold (audited)"),
  ).action(async (id: string, options: ConnectionOptions & { to: string[]; overrideReplayCheck?: boolean }) => {
    await GatewayClient.fromOptions(options).graphql('mutation($id: ID!, $orgs: [ID!]!, $override: Boolean) { publishRelease(id: $id, organizationIds: $orgs, overrideReplayCheck: $override) { id } }', {
      id,
      orgs: options.to,
      override: options.overrideReplayCheck ?? false,
    });
    output(options, { id, publishedTo: options.to }, `published ${id} to ${options.to.join(', ')}`);
  });

  withConnection(
    release.command('revoke').description('stop publishing a release to organisations').argument('<id>', 'release id').requiredOption('--from <organizationIds>', 'comma-separated organisation ids', list),
  ).action(async (id: string, options: ConnectionOptions & { from: string[] }) => {
    await GatewayClient.fromOptions(options).graphql('mutation($id: ID!, $orgs: [ID!]!) { revokeRelease(id: $id, organizationIds: $orgs) { id } }', { id, orgs: options.from });
    output(options, { id, revokedFrom: options.from }, `revoked ${id} from ${options.from.join(', ')}`);
  });

  withConnection(release.command('cancel').description('cancel a queued or running release (refunded only if no record was read)').argument('<id>', 'release id')).action(
    async (id: string, options: ConnectionOptions) => {
      const { cancelRelease } = await GatewayClient.fromOptions(options).graphql<{ cancelRelease: { status: string } }>('mutation($id: ID!) { cancelRelease(id: $id) { status } }', { id });
      output(options, cancelRelease, `release ${id} ${cancelRelease.status}`);
    },
  );

  withConnection(
    release
      .command('export')
      .description('download every synthetic record')
      .argument('<id>', 'release id')
      .addOption(
        new Option('--format <format>', 'jsonl or csv (one column per field), parquet (typed columns), zip (Parquet, a Hugging Face dataset card and the schema)')
          .choices(['jsonl', 'csv', 'parquet', 'zip'])
          .default('jsonl'),
      )
      .option('--output <file>', 'write to this file (default stdout; parquet and zip need --output)'),
  ).action(async (id: string, options: ConnectionOptions & { format: string; output?: string }) => {
    if ((options.format === 'parquet' || options.format === 'zip') && !options.output) throw new Error(`--format ${options.format} is binary: give --output <file>`);
    const response = await GatewayClient.fromOptions(options).fetch(`/releases/${encodeURIComponent(id)}/export?format=${options.format}`, { method: 'GET' });
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    await pipeline(body, options.output ? createWriteStream(options.output) : process.stdout, options.output ? {} : { end: false });
  });

  withConnection(program.command('ledger').description("a dataset's budget ledger, as compliance sees it").argument('<datasetId>', 'dataset id')).action(
    async (datasetId: string, options: ConnectionOptions) => {
      const { dataset, verifyLedger } = await GatewayClient.fromOptions(options).graphql<{
        dataset: { name: string; budget: { epsilon: number; delta: number; spentEpsilon: number; remainingEpsilon: number; ledger: { nodes: { sequence: number; kind: string; rho: number; epsilonAfter: number; releaseId: string | null; createdAt: string; hash: string }[] } } | null };
        verifyLedger: { ok: boolean; entries: number; firstBroken: { sequence: number; reason: string } | null };
      }>(
        'query($id: ID!) { dataset(id: $id) { name budget { epsilon delta spentEpsilon remainingEpsilon ledger(first: 100) { nodes { sequence kind rho epsilonAfter releaseId createdAt hash } } } } verifyLedger(datasetId: $id) { ok entries firstBroken { sequence reason } } }',
        { id: datasetId },
      );
      const budget = dataset.budget;
      if (!budget) throw new Error('your role may not read this budget');
      const rows = budget.ledger.nodes.map(
        (e) => `  #${String(e.sequence).padEnd(3)} ${e.createdAt}  ${e.kind.padEnd(6)}  rho ${e.rho.toPrecision(4).padStart(10)}  epsilon after ${e.epsilonAfter.toFixed(3)}  ${e.hash.slice(0, 12)}…`,
      );
      const verdict = verifyLedger.ok ? `verified: ${verifyLedger.entries} entries, hash chain intact` : `BROKEN at entry ${verifyLedger.firstBroken?.sequence}: ${verifyLedger.firstBroken?.reason}`;
      output(
        options,
        { budget, verification: verifyLedger },
        [`${dataset.name}: spent epsilon ${budget.spentEpsilon.toFixed(3)} of ${budget.epsilon} at delta ${budget.delta} (remaining ${budget.remainingEpsilon.toFixed(3)})`, ...rows, verdict].join('\n'),
      );
    },
  );
}
