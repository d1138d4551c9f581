import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { type ReleaseStatus, type SyntheticRecordEntity } from '@synthgate/persistence';
import { type RecordSchema as DeclaredSchema } from '@synthgate/records';
import GraphQLJSON from '../graphql/json.scalar';
import { Connection } from '../graphql/pagination';
import { RecordFieldValue, toRecordFieldValues } from './record-values.types';
import { recordValues } from './release-files';
import { type ReleaseMode } from './release-request';

export const ReleaseStatusEnum = { QUEUED: 'QUEUED', RUNNING: 'RUNNING', SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED', CANCELLED: 'CANCELLED' } as const satisfies Record<ReleaseStatus, ReleaseStatus>;
registerEnumType(ReleaseStatusEnum, { name: 'ReleaseStatus' });
export const ReleaseModeEnum = { PRIVATE: 'PRIVATE', PUBLIC_ONLY: 'PUBLIC_ONLY', NON_PRIVATE_REFERENCE: 'NON_PRIVATE_REFERENCE' } as const satisfies Record<ReleaseMode, ReleaseMode>;
registerEnumType(ReleaseModeEnum, {
  name: 'ReleaseMode',
  description:
    'PRIVATE: private prediction over the records. PUBLIC_ONLY: the public prompt alone, no record read, nothing charged (a baseline). ' +
    'NON_PRIVATE_REFERENCE: the same decoding over the records without clipping, noise or drafter; NO privacy guarantee (epsilon infinite), ' +
    'not charged to the ledger, only on benchmark datasets and only publishable to the own organisation (a utility benchmark\'s reference).',
});
export const LabelAllocationModeEnum = { DECLARED: 'DECLARED', DP_COUNT: 'DP_COUNT' } as const;
registerEnumType(LabelAllocationModeEnum, {
  name: 'LabelAllocationMode',
  description: 'How batches are split over labels: owner-declared proportions (free), or a Gaussian-noised count per label (charged).',
});

export const BatchingModeEnum = { RANDOM: 'RANDOM', CLUSTERED: 'CLUSTERED' } as const;
registerEnumType(BatchingModeEnum, {
  name: 'BatchingMode',
  description:
    'How records are grouped into batches within each label. RANDOM: by keyed hash (default). CLUSTERED: a private k-means of each label\'s records on a public feature map ' +
    '(hashed word 1-2-grams), then by nearest noisy centroid and, within each cluster, by keyed hash: topic-coherent batches. Its clustering and its count per label and cluster are charged with the release.',
});

// ---- input

@InputType()
export class BatchingInput {
  @Field(() => BatchingModeEnum)
  mode!: 'RANDOM' | 'CLUSTERED';

  @Field(() => Int, { nullable: true, description: 'CLUSTERED: clusters per label (1 to 64).' })
  clusters?: number | null;

  @Field(() => Float, { nullable: true, description: "CLUSTERED, PRIVATE: the epsilon the private k-means may cost (alone, at the dataset's delta); included in the release's cost." })
  clusteringEpsilon?: number | null;

  @Field(() => Int, { nullable: true, description: 'CLUSTERED: Lloyd iterations (default 3); the clustering epsilon is split over them.' })
  iterations?: number | null;

  @Field(() => Float, {
    nullable: true,
    description: "CLUSTERED: the Gaussian noise sigma of the records counted per label and cluster (rho = 1/(2 sigma^2)); left out with a DP_COUNT label allocation, whose countSigma is used.",
  })
  countSigma?: number | null;
}

@InputType()
export class DrafterInput {
  @Field(() => Float, { description: 'theta: the sparse-vector threshold on the L1 distance, in [0, 2].' })
  threshold!: number;

  @Field(() => Float, { description: 'sigma: the sparse-vector noise scale, > 0.' })
  sigma!: number;
}

@InputType()
export class LabelProportionInput {
  @Field()
  label!: string;

  @Field(() => Float)
  weight!: number;
}

@InputType()
export class LabelAllocationInput {
  @Field(() => LabelAllocationModeEnum)
  mode!: 'DECLARED' | 'DP_COUNT';

  @Field(() => [LabelProportionInput], { nullable: true, description: 'DECLARED: a weight per label (default equal).' })
  proportions?: LabelProportionInput[] | null;

  @Field(() => Float, { nullable: true, description: 'DP_COUNT: the Gaussian noise sigma of the label counts (rho = 1/(2 sigma^2)).' })
  countSigma?: number | null;
}

@InputType({ description: 'A synthetic release: the same input plans it (dry run) and requests it.' })
export class ReleaseInput {
  @Field(() => ID)
  datasetId!: string;

  @Field(() => ReleaseModeEnum, { nullable: true, description: 'Default PRIVATE.' })
  mode?: ReleaseMode | null;

  @Field(() => String, { nullable: true, description: 'A model folder name in MODELS_DIR (default DEFAULT_MODEL).' })
  model?: string | null;

  @Field(() => Int, { description: 's: expected records per batch, the fixed divisor; batches = floor(records / s).' })
  expectedBatchSize!: number;

  @Field(() => Float, { nullable: true, description: 'c: logit clip bound (default 10).' })
  clip?: number | null;

  @Field(() => Float, { nullable: true, description: 'tau: private sampling temperature (default 2).' })
  temperature?: number | null;

  @Field(() => Float, { nullable: true, description: 'tau_pub: public sampling temperature, 0 = greedy (default 1).' })
  publicTemperature?: number | null;

  @Field(() => DrafterInput, { nullable: true, description: 'The public drafter (sparse vector technique); omit to make every token private.' })
  drafter?: DrafterInput | null;

  @Field(() => Int, { nullable: true, description: 'r: private tokens per synthetic example. Give this or targetEpsilon.' })
  privateTokenCap?: number | null;

  @Field(() => Float, { nullable: true, description: 'Epsilon this release may cost; the largest r that fits is used. Give this or privateTokenCap.' })
  targetEpsilon?: number | null;

  @Field(() => Int, { nullable: true, description: 'T: tokens per synthetic example at most (default 64). For a structured dataset, at least the record bound of the schema, so that every record closes.' })
  maxTokens?: number | null;

  @Field(() => Int, {
    nullable: true,
    description:
      "The public bound on each prompt's tokens (default 256, or the model's context less maxTokens when smaller): each record's text is cut so its prompt fits, keeping the label part, and a batch's memory is planned from it, never from the records.",
  })
  maxPromptTokens?: number | null;

  @Field(() => Int, { nullable: true, description: "Sample only among the public row's top k tokens; 0 = off (default)." })
  topK?: number | null;

  @Field(() => [String], { nullable: true, description: 'Labels to generate (default: all of the dataset).' })
  labels?: string[] | null;

  @Field(() => LabelAllocationInput, { nullable: true, description: 'Default: DECLARED with equal weights.' })
  labelAllocation?: LabelAllocationInput | null;

  @Field(() => BatchingInput, { nullable: true, description: 'Default: RANDOM.' })
  batching?: BatchingInput | null;
}

@InputType()
export class ReleaseFilter {
  @Field(() => ID, { nullable: true })
  datasetId?: string | null;

  @Field(() => ReleaseStatusEnum, { nullable: true })
  status?: ReleaseStatus | null;
}

// ---- output

@ObjectType()
export class Drafter {
  @Field(() => Float)
  threshold!: number;

  @Field(() => Float)
  sigma!: number;
}

@ObjectType()
export class LabelProportion {
  @Field()
  label!: string;

  @Field(() => Float)
  weight!: number;
}

@ObjectType()
export class LabelAllocation {
  @Field(() => LabelAllocationModeEnum)
  mode!: 'DECLARED' | 'DP_COUNT';

  @Field(() => [LabelProportion], { nullable: true })
  proportions!: LabelProportion[] | null;

  @Field(() => Float, { nullable: true })
  countSigma!: number | null;
}

@ObjectType({ description: 'How records were grouped into batches (see BatchingMode). CLUSTERED fields are null for RANDOM.' })
export class Batching {
  @Field(() => BatchingModeEnum)
  mode!: 'RANDOM' | 'CLUSTERED';

  @Field(() => Int, { nullable: true })
  clusters!: number | null;

  @Field(() => Int, { nullable: true })
  iterations!: number | null;

  @Field(() => Int, { nullable: true, description: 'Length of the public feature vectors.' })
  featureDimension!: number | null;

  @Field(() => Float, { nullable: true, description: "The clustering's epsilon alone at the dataset's delta (0 for a non-private reference)." })
  clusteringEpsilon!: number | null;

  @Field(() => Float, { nullable: true, description: 'Noise of each coordinate of each per-cluster sum, per Lloyd iteration (0: exact, non-private reference).' })
  sumSigma!: number | null;

  @Field(() => Float, { nullable: true, description: 'Noise of each per-cluster count, per Lloyd iteration (0: exact, non-private reference).' })
  lloydCountSigma!: number | null;

  @Field(() => Float, { nullable: true, description: 'Noise of the final count per label and cluster.' })
  countSigma!: number | null;
}

@ObjectType({ description: 'The public parameters of a release: its mechanism\'s (stored once; the cost is derived from them and the worker runs them) and the request\'s.' })
export class ReleaseParameters {
  @Field(() => ReleaseModeEnum)
  mode!: ReleaseMode;

  @Field({ description: 'The mechanism run (libs/privacy registry): private-prediction, public-only or non-private-reference.' })
  mechanism!: string;

  @Field()
  model!: string;

  @Field(() => Int, { description: 's: expected records per batch, the fixed divisor; batches = floor(records / s).' })
  expectedBatchSize!: number;

  @Field(() => Float, { nullable: true, description: 'c; null when the mechanism clips nothing (public-only, the non-private reference).' })
  clip!: number | null;

  @Field(() => Float, { nullable: true, description: 'tau; null for public-only.' })
  temperature!: number | null;

  @Field(() => Float, { nullable: true, description: 'tau_pub; null when the mechanism has no public sampling.' })
  publicTemperature!: number | null;

  @Field(() => Drafter, { nullable: true })
  drafter!: Drafter | null;

  @Field(() => Int)
  privateTokenCap!: number;

  @Field(() => Float, { nullable: true })
  targetEpsilon!: number | null;

  @Field(() => Int)
  maxTokens!: number;

  @Field(() => Int, { nullable: true, description: "The public bound on each prompt's tokens; null for releases made before it existed." })
  maxPromptTokens!: number | null;

  @Field(() => Int, { nullable: true, description: 'The public top-k (0: off); null for public-only.' })
  topK!: number | null;

  @Field(() => [String], { nullable: true })
  labels!: string[] | null;

  @Field(() => LabelAllocation, { nullable: true })
  labelAllocation!: LabelAllocation | null;

  @Field(() => Batching)
  batching!: Batching;

  @Field()
  promptTemplate!: string;

  @Field()
  publicPromptTemplate!: string;
}

@ObjectType({ description: "What a release costs, in rho-zCDP and as epsilon at the dataset's delta." })
export class PrivacyCost {
  @Field({ description: 'False only for a NON_PRIVATE_REFERENCE release: no privacy guarantee (epsilon infinite); rho, epsilon and rhoPerPrivateToken are then null and nothing is charged.' })
  differentiallyPrivate!: boolean;

  @Field(() => Float, { nullable: true, description: 'Null when not differentially private (unbounded).' })
  rho!: number | null;

  @Field(() => Float, { nullable: true, description: 'This release alone, at delta. Null when not differentially private (unbounded).' })
  epsilon!: number | null;

  @Field(() => Float)
  delta!: number;

  @Field({ description: 'tight (Canonne, Kamath, Steinke 2020) or closed; none when not differentially private.' })
  conversion!: string;

  @Field(() => Int)
  privateTokenCap!: number;

  @Field(() => Float, { nullable: true, description: 'rho of one private token: c^2/(2 s^2 tau^2) + 2/(s sigma)^2 with the drafter. Null when not differentially private.' })
  rhoPerPrivateToken!: number | null;

  @Field(() => Float, { description: 'rho of the noisy label count (DP_COUNT allocation), included in rho. Never refunded: the counts are drawn and shown when the release is created.' })
  labelCountRho!: number;

  @Field(() => Float, { description: 'rho of the private k-means (CLUSTERED batching), included in rho; 0 otherwise. Never refunded: it reads the records when the release is created.' })
  clusteringRho!: number;

  @Field(() => Float, { nullable: true, description: 'rho of the private tokens (privateTokenCap x rhoPerPrivateToken), included in rho. rho = tokensRho + labelCountRho + clusteringRho. Null when not differentially private.' })
  tokensRho!: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      "The delta that sampling in floating point adds: epsilon holds at delta plus this (r (1 + e^(2c/(s tau))) V 2^-52 over the V candidate tokens; at most 1% of delta). Null when not differentially private or not recorded.",
  })
  floatingPointDelta!: number | null;
}

@ObjectType()
export class ModelFile {
  @Field()
  path!: string;

  @Field(() => Float)
  bytes!: number;

  @Field()
  sha256!: string;
}

@ObjectType()
export class ModelInfo {
  @Field()
  name!: string;

  @Field({ description: 'sha256 over the file list: the exact model that generated the release.' })
  fingerprint!: string;

  @Field(() => [ModelFile])
  files!: ModelFile[];
}

@ObjectType()
export class LabelCount {
  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class ReleaseProgress {
  @Field(() => Int)
  batchesDone!: number;

  @Field(() => Int)
  batchesTotal!: number;

  @Field(() => Float)
  tokensGenerated!: number;

  @Field(() => Float, { nullable: true })
  tokensPerSecond!: number | null;

  @Field(() => Float, { nullable: true })
  elapsedSeconds!: number | null;

  @Field(() => Float, { nullable: true, description: 'Estimated from the batches done so far.' })
  estimatedSecondsLeft!: number | null;
}

@ObjectType({ description: 'A synthetic example: one per batch of sensitive records.' })
export class SyntheticRecord {
  @Field(() => Int)
  ordinal!: number;

  @Field()
  text!: string;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => GraphQLJSON, {
    description:
      "The record's values keyed by field name (see the release's recordSchema): typed JSON (strings, numbers, booleans, null). A text-and-label release's records have text and label.",
  })
  values!: Record<string, string | number | boolean | null>;

  @Field(() => [RecordFieldValue], { description: "The same values in schema order, each in the typed accessor of its field's kind." })
  fields!: RecordFieldValue[];
}

export const SyntheticRecordConnection = Connection(SyntheticRecord, 'SyntheticRecord');

@ObjectType({ description: 'A synthetic release of a dataset.' })
export class Release {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  datasetId!: string;

  @Field({ description: "The dataset's name (public metadata)." })
  datasetName!: string;

  @Field(() => ReleaseStatusEnum)
  status!: ReleaseStatus;

  @Field(() => ReleaseProgress, {
    nullable: true,
    description:
      "How far the run is, for the release's own organisation's DATA_OWNER and COMPLIANCE; null for everyone else (consumers included): its pace depends on the records (DESIGN.md section 4).",
  })
  progress!: ReleaseProgress | null;

  @Field(() => ReleaseParameters)
  parameters!: ReleaseParameters;

  @Field(() => PrivacyCost)
  cost!: PrivacyCost;

  @Field(() => ModelInfo)
  model!: ModelInfo;

  @Field(() => Int, { description: 'The public record count N when the release was created.' })
  recordCount!: number;

  @Field(() => Int)
  batchCount!: number;

  @Field(() => [LabelCount], { description: 'Synthetic examples per label (planned before any record was read).' })
  labelCounts!: LabelCount[];

  @Field(() => String, { nullable: true, description: 'Why it failed, without any record text.' })
  failureReason!: string | null;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: "When the first batch started; null for anyone but the release's own organisation's DATA_OWNER and COMPLIANCE (timing depends on the records)." })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "When the release ended; null for anyone but the release's own organisation's DATA_OWNER and COMPLIANCE (timing depends on the records)." })
  finishedAt!: Date | null;

  /** Resolved by field resolvers with access checks. */
  organizationId!: string;
  createdById!: string | null;
}

export const ReleaseConnection = Connection(Release, 'Release');

@ObjectType()
export class PlannedLabel {
  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => Int, { nullable: true, description: 'Null when batches come from a DP count, drawn when the release is created.' })
  batches!: number | null;

  @Field(() => Float, { nullable: true, description: "CLUSTERED: this label's batches over its clusters (the split among them is drawn when the release is created); null for RANDOM or before a DP count." })
  expectedExamplesPerCluster!: number | null;
}

@ObjectType({ description: 'The dry run of a release: what it would cost and produce. Nothing is debited.' })
export class ReleasePlan {
  @Field(() => PrivacyCost)
  cost!: PrivacyCost;

  @Field(() => Float, { description: "The dataset's spent epsilon before this release." })
  epsilonBefore!: number;

  @Field(() => Float, { description: "The dataset's spent epsilon after this release (from the total rho)." })
  epsilonAfter!: number;

  @Field(() => Float, { description: 'Budget epsilon left after this release (negative: it would be refused).' })
  remainingEpsilon!: number;

  @Field()
  admitted!: boolean;

  @Field(() => String, { nullable: true })
  refusal!: string | null;

  @Field(() => Int, { nullable: true, description: 'Batches (= synthetic examples); null until a DP label count is drawn.' })
  batches!: number | null;

  @Field(() => Int, {
    description: 'The most batches the release can have: batches itself, or for a DP label count the public cap max(L, floor(N/s) + min(floor(N/s), ceil(3 countSigma sqrt(L) / s))).',
  })
  maxBatches!: number;

  @Field(() => Int, { nullable: true })
  expectedExamples!: number | null;

  @Field(() => [PlannedLabel])
  labels!: PlannedLabel[];

  @Field(() => Float, { nullable: true, description: 'CLUSTERED: expected synthetic examples per cluster over all labels, floor(N/s) / (labels x clusters); null for RANDOM.' })
  expectedExamplesPerCluster!: number | null;

  @Field(() => Float, { description: 'Expected records per batch (the divisor s) and the actual average N/batches.' })
  expectedBatchSize!: number;

  @Field(() => Int, { description: "Prompt tokens per row at most: the release's maxPromptTokens (public; never estimated from the records)." })
  estimatedPromptTokens!: number;

  @Field(() => Float, {
    description:
      'KV-cache bytes of the expected batch: s private rows and the public row at maxPromptTokens plus maxTokens positions, counted twice (the upper bound of the engine: one buffer for graphs this project built, two for graphs run as stored). Must fit KV_CACHE_LIMIT_BYTES; a batch that happens to hold more rows decodes the extra rows without a cache instead of failing.',
  })
  kvCacheBytesPerBatch!: number;

  @Field(() => Float)
  kvCacheLimitBytes!: number;

  @Field(() => Float, { description: "Memory a worker needs: the model's weights plus WORKER_CONCURRENCY batches' KV caches." })
  workerMemoryBytes!: number;

  @Field(() => Float, { description: 'GENERATION_MEMORY_LIMIT_BYTES: a release needing more is refused before anything is charged.' })
  workerMemoryLimitBytes!: number;

  @Field(() => ReleaseParameters)
  parameters!: ReleaseParameters;
}

/** A synthetic record as the API shows it, its values typed by `schema` (the release's record schema). */
export function toSyntheticRecord(entity: SyntheticRecordEntity, schema: DeclaredSchema, structured: boolean): SyntheticRecord {
  const values = recordValues(entity, structured);
  return { ordinal: entity.ordinal, text: entity.text, label: entity.label, values: { ...values }, fields: toRecordFieldValues(schema, values) };
}
