import { type Batching, type DatasetEntity, type LabelAllocation, type LabelPlanEntry, type ReleaseMode, type ReleaseParameters } from '@synthgate/persistence';

export { type Batching, type LabelAllocation, type ReleaseMode, type ReleaseParameters } from '@synthgate/persistence';
import { fillPrompt, GenerationError, publicPromptTemplate, recordTokenBound, recordWritingProblem, renderChatPromptTemplates } from '@synthgate/generation/catalog';
import { type MechanismParameters, mechanismRegistry, MIN_NORMAL_DOUBLE } from '@synthgate/privacy';
import { DomainError } from '../gateway.errors';

/** A release request as the API takes it (every field but the dataset optional or defaulted). */
export interface ReleaseRequestInput {
  readonly datasetId: string;
  readonly mode?: ReleaseMode | null;
  readonly model?: string | null;
  readonly expectedBatchSize: number;
  readonly clip?: number | null;
  readonly temperature?: number | null;
  readonly publicTemperature?: number | null;
  readonly drafter?: { readonly threshold: number; readonly sigma: number } | null;
  readonly privateTokenCap?: number | null;
  readonly targetEpsilon?: number | null;
  readonly maxTokens?: number | null;
  readonly maxPromptTokens?: number | null;
  readonly topK?: number | null;
  readonly labels?: readonly string[] | null;
  readonly labelAllocation?: {
    readonly mode: 'DECLARED' | 'DP_COUNT';
    readonly proportions?: readonly { readonly label: string; readonly weight: number }[] | null;
    readonly countSigma?: number | null;
  } | null;
  readonly batching?: {
    readonly mode: 'RANDOM' | 'CLUSTERED';
    readonly clusters?: number | null;
    readonly clusteringEpsilon?: number | null;
    readonly iterations?: number | null;
    readonly countSigma?: number | null;
  } | null;
}

/** CLUSTERED batching's defaults and bounds (the feature dimension is fixed: a public constant of the map). */
export const CLUSTERING_LIMITS = { clusters: 64, iterations: 20, clusteringEpsilon: 100, defaultIterations: 3, dimension: 64 } as const;

export const RELEASE_DEFAULTS = {
  clip: 10,
  temperature: 2,
  publicTemperature: 1,
  maxTokens: 64,
  /** Or the model's context room after maxTokens, when smaller. */
  maxPromptTokens: 256,
  topK: 0,
} as const;

const LIMITS = {
  expectedBatchSize: 100_000,
  clip: 1000,
  temperature: 100,
  svtSigma: 100,
  maxTokens: 2048,
  countSigma: 1e6,
  targetEpsilon: 1000,
} as const;

function finite(field: string, value: number, rule: (v: number) => boolean, description: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !rule(value)) throw DomainError.badInput(field, description);
  return value;
}

function integer(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw DomainError.badInput(field, `must be an integer from ${min} to ${max}`);
  return value;
}

/**
 * What a request resolves to before its private-token cap is known: the release's parameters and
 * the API's mechanism fields, which {@link mechanismOf} turns into the mechanism's parameters.
 */
export type ValidatedRequest = Omit<ReleaseParameters, 'maxPromptTokens' | 'batching'> & {
  /** `s`, the expected batch size. */
  readonly expectedBatchSize: number;
  readonly clip: number;
  readonly temperature: number;
  readonly publicTemperature: number;
  readonly drafter: { readonly threshold: number; readonly sigma: number } | null;
  readonly topK: number;
  /** null while a target epsilon is still to be resolved into a cap. */
  readonly privateTokenCap: number | null;
  readonly maxPromptTokens: number;
  /** RANDOM (also when absent), or CLUSTERED before its Lloyd noise is derived (release-cost.ts `resolveBatching`). */
  readonly batching?: ValidatedBatching;
};

/**
 * The mechanism's parameters of a request whose private-token cap is resolved: the one mapping
 * from the API's fields (a `mode` and its fields) to libs/privacy's `MechanismParameters`, which the
 * release stores once, the gateway prices and the worker runs. Checked by the mechanism's registry entry.
 */
export function mechanismOf(request: ValidatedRequest, privateTokenCap: number): MechanismParameters {
  const { expectedBatchSize, clip, temperature, publicTemperature, topK, drafter } = request;
  let mechanism: MechanismParameters;
  switch (request.mode) {
    case 'PUBLIC_ONLY':
      mechanism = { mechanism: 'public-only', expectedBatchSize, publicTemperature, privateTokenCap: 0 };
      break;
    case 'NON_PRIVATE_REFERENCE':
      mechanism = { mechanism: 'non-private-reference', expectedBatchSize, temperature, publicTemperature, topK, privateTokenCap };
      break;
    case 'PRIVATE':
      mechanism = { mechanism: 'private-prediction', expectedBatchSize, clip, temperature, publicTemperature, topK, drafter, privateTokenCap };
      break;
  }
  mechanismRegistry.parse(mechanism);
  return mechanism;
}

/** The release's stored parameters besides its mechanism's, with its batching as priced (`resolveBatching`). */
export function releaseParametersOf(request: ValidatedRequest, batching: Batching): ReleaseParameters {
  const { mode, model, targetEpsilon, maxTokens, maxPromptTokens, labels, labelAllocation, promptTemplate, publicPromptTemplate } = request;
  return { mode, model, targetEpsilon, maxTokens, maxPromptTokens, labels, labelAllocation, batching, promptTemplate, publicPromptTemplate };
}

/** What a release needs of its model: sizes, tokenizer, and its chat template when it has one. */
export interface ReleaseModel {
  readonly name: string;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly tokenizer: { encode(text: string): number[]; tokenBytes?(): readonly (Uint8Array | null)[] };
  /** The model's chat template and end-of-sequence text; null for a model without one. */
  readonly chat?: { readonly template: string; readonly eosToken: string } | null;
}

/**
 * The release's prompt templates: the dataset's chat prompt rendered through the model's chat
 * template when both exist (BOS left to the tokenizer, which adds it when encoding), else its plain
 * template and what follows {text}. A chat the template refuses (Gemma 2 refuses a system turn) is
 * BAD_USER_INPUT naming the model, in the template's words.
 */
export function releasePromptTemplates(dataset: Pick<DatasetEntity, 'promptTemplate' | 'promptChat'>, model: ReleaseModel): { promptTemplate: string; publicPromptTemplate: string } {
  if (dataset.promptChat && model.chat) {
    try {
      return renderChatPromptTemplates(model.chat.template, dataset.promptChat, { bosToken: '', eosToken: model.chat.eosToken });
    } catch (error) {
      if (error instanceof GenerationError) throw DomainError.badInput('input.model', `the chat template of model ${model.name} cannot render the dataset's promptChat: ${error.message}`);
      throw error;
    }
  }
  return { promptTemplate: dataset.promptTemplate, publicPromptTemplate: publicPromptTemplate(dataset.promptTemplate) };
}

/**
 * Checks a release request against its dataset and model, field by field: every bad value is
 * BAD_USER_INPUT naming the field (`input.<name>`) and the rule.
 */
export function validateReleaseRequest(
  input: ReleaseRequestInput,
  dataset: DatasetEntity,
  model: ReleaseModel,
): ValidatedRequest {
  const mode: ReleaseMode = input.mode ?? 'PRIVATE';
  if (dataset.archivedAt) throw DomainError.badInput('input.datasetId', 'the dataset is archived');
  // No privacy guarantee at all: never on an ordinary dataset (a database trigger enforces it too).
  if (mode === 'NON_PRIVATE_REFERENCE' && !dataset.benchmark) {
    throw DomainError.badInput('input.mode', 'NON_PRIVATE_REFERENCE releases have no privacy guarantee and are only possible on a dataset created with benchmark: true');
  }
  if (dataset.recordCount === 0) throw DomainError.badInput('input.datasetId', 'the dataset has no records; import some first');
  // A structured release writes JSON records token by token: the model must be able to.
  const writing = dataset.structured && model.tokenizer.tokenBytes ? recordWritingProblem(model.tokenizer.tokenBytes(), model.vocabSize) : null;
  if (writing) throw DomainError.badInput('input.model', `cannot write this dataset's structured records: ${writing}`);
  if (dataset.budgetDelta >= 1 / dataset.recordCount) {
    throw DomainError.badInput(
      'input.datasetId',
      `the dataset's delta ${dataset.budgetDelta} is not below 1/record count (${(1 / dataset.recordCount).toPrecision(3)}); lower it with updateDataset`,
    );
  }
  const expectedBatchSize = integer('input.expectedBatchSize', input.expectedBatchSize, 1, Math.min(LIMITS.expectedBatchSize, dataset.recordCount));
  const requestedMaxTokens = integer('input.maxTokens', input.maxTokens ?? RELEASE_DEFAULTS.maxTokens, 1, Math.min(LIMITS.maxTokens, model.maxPositions - 1));
  // A structured record always closes: the worker decodes up to the schema's token bound (a public
  // function of the schema), so the release is planned (context, memory) and stored with it.
  const recordBound = dataset.structured ? recordTokenBound(dataset.recordSchema) : 0;
  if (recordBound > model.maxPositions - 1) {
    throw DomainError.badInput('input.maxTokens', `a record of this dataset's schema can take ${recordBound} tokens, more than the ${model.maxPositions} positions of model ${model.name}; lower the schema's text maxTokens`);
  }
  const maxTokens = Math.max(requestedMaxTokens, recordBound);
  const topK = integer('input.topK', input.topK ?? RELEASE_DEFAULTS.topK, 0, model.vocabSize);
  const publicTemperature = finite('input.publicTemperature', input.publicTemperature ?? RELEASE_DEFAULTS.publicTemperature, (v) => v >= 0 && v <= LIMITS.temperature, `must be from 0 (greedy) to ${LIMITS.temperature}`);
  const clip = finite('input.clip', input.clip ?? RELEASE_DEFAULTS.clip, (v) => v > 0 && v <= LIMITS.clip, `must be above 0 and at most ${LIMITS.clip}`);
  const temperature = finite('input.temperature', input.temperature ?? RELEASE_DEFAULTS.temperature, (v) => v > 0 && v <= LIMITS.temperature, `must be above 0 and at most ${LIMITS.temperature}`);
  let drafter: ValidatedRequest['drafter'] = null;
  if (input.drafter && mode === 'NON_PRIVATE_REFERENCE') {
    throw DomainError.badInput('input.drafter', 'must be left out in NON_PRIVATE_REFERENCE mode: every token is sampled from the plain mean of the records\' logits');
  }
  if (input.drafter) {
    drafter = {
      // The drafter's statistic is an L1 distance between two distributions: it lies in [0, 2].
      threshold: finite('input.drafter.threshold', input.drafter.threshold, (v) => v >= 0 && v <= 2, 'must be from 0 to 2 (an L1 distance between distributions)'),
      sigma: finite('input.drafter.sigma', input.drafter.sigma, (v) => v > 0 && v <= LIMITS.svtSigma, `must be above 0 and at most ${LIMITS.svtSigma}`),
    };
  }
  let privateTokenCap: number | null = null;
  let targetEpsilon: number | null = null;
  if (mode === 'PRIVATE') {
    const hasCap = input.privateTokenCap !== undefined && input.privateTokenCap !== null;
    const hasTarget = input.targetEpsilon !== undefined && input.targetEpsilon !== null;
    if (hasCap === hasTarget) throw DomainError.badInput('input.privateTokenCap', 'give either privateTokenCap or targetEpsilon (exactly one)');
    if (hasCap) privateTokenCap = integer('input.privateTokenCap', input.privateTokenCap!, 1, maxTokens);
    if (hasTarget) {
      targetEpsilon = finite(
        'input.targetEpsilon',
        input.targetEpsilon!,
        (v) => v >= MIN_NORMAL_DOUBLE && v <= LIMITS.targetEpsilon,
        `must be above 0 (at least ${MIN_NORMAL_DOUBLE}: subnormal numbers are refused) and at most ${LIMITS.targetEpsilon}`,
      );
    }
  } else if (mode === 'NON_PRIVATE_REFERENCE') {
    for (const field of ['privateTokenCap', 'targetEpsilon'] as const) {
      if (input[field] !== undefined && input[field] !== null) {
        throw DomainError.badInput(`input.${field}`, 'must be left out in NON_PRIVATE_REFERENCE mode: every token reads the records, up to maxTokens, and nothing is charged');
      }
    }
    privateTokenCap = maxTokens;
  } else {
    // No record is read: nothing is private, and nothing is charged.
    privateTokenCap = 0;
  }

  const labelled = dataset.labelField !== null;
  let labels: string[] | null = null;
  let labelAllocation: LabelAllocation | null = null;
  if (!labelled) {
    if (input.labels?.length) throw DomainError.badInput('input.labels', 'the dataset has no label field');
    if (input.labelAllocation) throw DomainError.badInput('input.labelAllocation', 'the dataset has no label field');
  } else {
    labels = input.labels?.length ? [...new Set(input.labels)] : [...dataset.labels];
    for (const label of labels) {
      if (!dataset.labels.includes(label)) throw DomainError.badInput('input.labels', `unknown label "${label}"; the dataset's declared labels are ${dataset.labels.join(', ')}`);
    }
    if (labels.length === 0) throw DomainError.badInput('input.labels', 'the dataset declares no labels yet; declare them with updateDataset(input: { addLabels })');
    const allocation = input.labelAllocation ?? { mode: 'DECLARED' as const };
    if (allocation.mode === 'DP_COUNT') {
      if (mode === 'PUBLIC_ONLY') throw DomainError.badInput('input.labelAllocation.mode', 'a public-only release reads no record, so it cannot count them; use DECLARED');
      if (mode === 'NON_PRIVATE_REFERENCE') throw DomainError.badInput('input.labelAllocation.mode', 'a NON_PRIVATE_REFERENCE release is charged nothing, so it cannot pay for a DP count; use DECLARED');
      // Noise wider than the whole dataset drowns every count; the bound uses only the public size N.
      const maxSigma = Math.min(LIMITS.countSigma, dataset.recordCount);
      const countSigma = finite(
        'input.labelAllocation.countSigma',
        allocation.countSigma ?? Number.NaN,
        (v) => v > 0 && v <= maxSigma,
        `must be above 0 and at most ${maxSigma} (the dataset's record count, capped at ${LIMITS.countSigma}): noise wider than the dataset drowns every count`,
      );
      labelAllocation = { mode: 'DP_COUNT', countSigma };
    } else {
      const given = allocation.proportions ?? labels.map((label) => ({ label, weight: 1 }));
      const weights = new Map<string, number>();
      for (const { label, weight } of given) {
        if (!labels.includes(label)) throw DomainError.badInput('input.labelAllocation.proportions', `label "${label}" is not among the labels to generate`);
        weights.set(label, finite('input.labelAllocation.proportions', weight, (v) => v > 0 && v <= 1e6, `weight of "${label}" must be above 0`));
      }
      const missing = labels.filter((label) => !weights.has(label));
      if (missing.length) throw DomainError.badInput('input.labelAllocation.proportions', `no weight for label "${missing[0]}"`);
      labelAllocation = { mode: 'DECLARED', proportions: labels.map((label) => ({ label, weight: weights.get(label)! })) };
    }
  }

  const batching = validateBatching(input, mode, labels, labelAllocation, dataset);

  // Every per-batch resource bound is public (DESIGN.md section 4): prompts are cut to
  // maxPromptTokens (record text only) and memory is planned from it. It must hold the prompt's
  // label part for every generated label, and the public prompt, with room for some text.
  const { promptTemplate, publicPromptTemplate: publicTemplate } = releasePromptTemplates(dataset, model);
  const frame = Math.max(
    ...(labels ?? [null]).map((label) => model.tokenizer.encode(fillPrompt(promptTemplate, { text: '', label })).length),
    ...(labels ?? [null]).map((label) => model.tokenizer.encode(fillPrompt(publicTemplate, { label })).length),
  );
  const room = model.maxPositions - maxTokens;
  const maxPromptTokens = input.maxPromptTokens ?? Math.min(RELEASE_DEFAULTS.maxPromptTokens, room);
  if (!Number.isInteger(maxPromptTokens) || maxPromptTokens <= frame || maxPromptTokens > room) {
    throw DomainError.badInput(
      'input.maxPromptTokens',
      `must be an integer from ${frame + 1} (the prompt template with the longest label takes ${frame} tokens) to ${room} (the model's ${model.maxPositions} positions less maxTokens)`,
    );
  }

  return {
    mode,
    model: model.name,
    expectedBatchSize,
    clip,
    temperature,
    publicTemperature,
    drafter,
    privateTokenCap,
    targetEpsilon,
    maxTokens,
    maxPromptTokens,
    topK,
    labels,
    labelAllocation,
    batching,
    promptTemplate,
    publicPromptTemplate: publicTemplate,
  };
}

/**
 * The batching of a request. CLUSTERED needs the number of clusters and the clustering's epsilon
 * (PRIVATE) and the noise of the final counts per label and cluster: the label allocation's
 * countSigma when it is DP_COUNT (one histogram counts both), otherwise batching.countSigma.
 * The Lloyd noise is derived from the epsilon when the release is priced (release-clustering.ts).
 */
function validateBatching(
  input: ReleaseRequestInput,
  mode: ReleaseMode,
  labels: readonly string[] | null,
  labelAllocation: LabelAllocation | null,
  dataset: DatasetEntity,
): ValidatedBatching {
  const given = input.batching;
  if (!given || given.mode === 'RANDOM') {
    for (const field of ['clusters', 'clusteringEpsilon', 'iterations', 'countSigma'] as const) {
      if (given && given[field] !== undefined && given[field] !== null) throw DomainError.badInput(`input.batching.${field}`, 'must be left out with RANDOM batching');
    }
    return { mode: 'RANDOM' };
  }
  if (given.mode !== 'CLUSTERED') throw DomainError.badInput('input.batching.mode', 'must be RANDOM or CLUSTERED');
  if (mode === 'PUBLIC_ONLY') throw DomainError.badInput('input.batching.mode', 'a public-only release reads no record, so there is nothing to cluster; use RANDOM');
  const clusters = integer('input.batching.clusters', given.clusters ?? Number.NaN, 1, CLUSTERING_LIMITS.clusters);
  const iterations = integer('input.batching.iterations', given.iterations ?? CLUSTERING_LIMITS.defaultIterations, 1, CLUSTERING_LIMITS.iterations);
  const perLabel = labels?.length ?? 1;
  if (clusters * perLabel > totalBatches(dataset.recordCount, input.expectedBatchSize)) {
    throw DomainError.badInput('input.batching.clusters', `${clusters} clusters in each of ${perLabel} label(s) is more than the ${totalBatches(dataset.recordCount, input.expectedBatchSize)} batches of this release; use fewer clusters or a smaller expectedBatchSize`);
  }
  let clusteringEpsilon = 0;
  if (mode === 'PRIVATE') {
    clusteringEpsilon = finite(
      'input.batching.clusteringEpsilon',
      given.clusteringEpsilon ?? Number.NaN,
      (v) => v >= MIN_NORMAL_DOUBLE && v <= CLUSTERING_LIMITS.clusteringEpsilon,
      `must be above 0 and at most ${CLUSTERING_LIMITS.clusteringEpsilon}: the epsilon the private k-means may cost, at the dataset's delta`,
    );
  } else if (given.clusteringEpsilon !== undefined && given.clusteringEpsilon !== null) {
    throw DomainError.badInput('input.batching.clusteringEpsilon', 'must be left out in NON_PRIVATE_REFERENCE mode: its clustering is exact and charged nothing');
  }
  let countSigma: number;
  if (labelAllocation?.mode === 'DP_COUNT') {
    if (given.countSigma !== undefined && given.countSigma !== null) {
      throw DomainError.badInput('input.batching.countSigma', "must be left out with a DP_COUNT label allocation: its countSigma counts the records per label and cluster");
    }
    countSigma = labelAllocation.countSigma;
  } else if (mode === 'NON_PRIVATE_REFERENCE') {
    countSigma = 1; // unused: the reference counts exactly
  } else {
    const maxSigma = Math.min(LIMITS.countSigma, dataset.recordCount);
    countSigma = finite(
      'input.batching.countSigma',
      given.countSigma ?? Number.NaN,
      (v) => v > 0 && v <= maxSigma,
      `must be above 0 and at most ${maxSigma}: the noise of the records counted per label and cluster, which split each label's batches among its clusters`,
    );
  }
  return { mode: 'CLUSTERED', clusters, iterations, dimension: CLUSTERING_LIMITS.dimension, clusteringEpsilon, countSigma };
}

/** Batching as validated; CLUSTERED's Lloyd noise is filled in when the release is priced. */
export type ValidatedBatching =
  | { readonly mode: 'RANDOM' }
  | { readonly mode: 'CLUSTERED'; readonly clusters: number; readonly iterations: number; readonly dimension: number; readonly clusteringEpsilon: number; readonly countSigma: number };

/** Number of batches (= synthetic examples) of a dataset of N records at expected batch size s. */
export function totalBatches(recordCount: number, expectedBatchSize: number): number {
  return Math.max(1, Math.floor(recordCount / expectedBatchSize));
}

/**
 * Splits `total` batches over labels by declared weights (largest remainder, ties to the earlier
 * label). Uses public inputs only: the weights and the public record count.
 */
export function allocateDeclared(total: number, proportions: readonly { label: string; weight: number }[]): LabelPlanEntry[] {
  const sum = proportions.reduce((acc, p) => acc + p.weight, 0);
  const exact = proportions.map((p) => (total * p.weight) / sum);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of order) {
    if (left === 0) break;
    counts[index]! += 1;
    left -= 1;
  }
  return withOffsets(proportions.map((p, index) => ({ label: p.label, batches: counts[index]! })));
}

/**
 * How far above `floor(N/s)` a DP count's batches may go: three standard deviations of the noisy
 * total (L labels, each count noised with sigma: the total's standard deviation is
 * `sigma * sqrt(L)`), in batches, and never more than `floor(N/s)` itself.
 */
export function dpCountMargin(recordCount: number, expectedBatchSize: number, countSigma: number, labelCount: number): number {
  return Math.min(Math.floor(recordCount / expectedBatchSize), Math.ceil((3 * countSigma * Math.sqrt(labelCount)) / expectedBatchSize));
}

/**
 * The most batches a DP_COUNT release may have:
 * `max(L, floor(N/s) + min(floor(N/s), ceil(3 sigma sqrt(L) / s)))`.
 *
 * Public by construction: N (the record count, public by DESIGN section 4), s, sigma and the label
 * set L are all known before any record is read, so the bound reveals nothing and planRelease can
 * show it. It lets the noisy total exceed N by three standard deviations (a 0.13% tail, where the
 * counts are informative) but never doubles the batches of a DECLARED release of the same N and s:
 * a large sigma no longer turns a 10-record dataset into thousands of batches.
 */
export function maxDpCountBatches(recordCount: number, expectedBatchSize: number, countSigma: number, labelCount: number): number {
  return Math.max(labelCount, totalBatches(recordCount, expectedBatchSize) + dpCountMargin(recordCount, expectedBatchSize, countSigma, labelCount));
}

/**
 * Batches per label from DP-noised counts: `floor(max(0, noisy) / s)`, at least one per label.
 * When that sums to more than `maxBatches` (see {@link maxDpCountBatches}), each label gets one
 * batch and the other `maxBatches - L` are shared in proportion to `max(0, noisy)` (largest
 * remainder). The noisy counts are a DP release themselves (charged), and the cap is public, so
 * the allocation is post-processing and costs nothing more.
 */
export function allocateFromNoisyCounts(noisy: readonly { label: string; noisyCount: number }[], expectedBatchSize: number, maxBatches: number): LabelPlanEntry[] {
  if (maxBatches < noisy.length) throw new Error(`maxBatches ${maxBatches} is below one batch per label (${noisy.length})`);
  const batches = noisy.map(({ noisyCount }) => Math.max(1, Math.floor(Math.max(0, noisyCount) / expectedBatchSize)));
  if (batches.reduce((sum, count) => sum + count, 0) > maxBatches) {
    // Some label has more than one batch, so some weight is positive.
    const shares = allocateDeclared(
      maxBatches - noisy.length,
      noisy.map(({ label, noisyCount }) => ({ label, weight: Math.max(0, noisyCount) })),
    );
    shares.forEach((share, index) => (batches[index] = 1 + share.batches));
  }
  return withOffsets(noisy.map(({ label, noisyCount }, index) => ({ label, batches: batches[index]!, noisyCount })));
}

export function withOffsets(groups: readonly { label: string | null; batches: number; noisyCount?: number }[]): LabelPlanEntry[] {
  let offset = 0;
  return groups.map((group) => {
    const entry = { ...group, offset };
    offset += group.batches;
    return entry;
  });
}
