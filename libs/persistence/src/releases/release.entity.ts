import { type StructuredRecord } from '@synthgate/records';
import { type MechanismParameters } from '@synthgate/privacy';
import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export const releaseStatuses = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type ReleaseStatus = (typeof releaseStatuses)[number];
/**
 * PRIVATE: private prediction over the records (charged). PUBLIC_ONLY: the public prompt alone, no
 * record read (free). NON_PRIVATE_REFERENCE: the same decoding over the records with no clipping,
 * no noise and no drafter (epsilon infinite): a utility benchmark's upper reference, allowed only
 * on benchmark datasets.
 */
export const releaseModes = ['PRIVATE', 'PUBLIC_ONLY', 'NON_PRIVATE_REFERENCE'] as const;
export type ReleaseMode = (typeof releaseModes)[number];

export type LabelAllocation =
  | { readonly mode: 'DECLARED'; readonly proportions: readonly { readonly label: string; readonly weight: number }[] }
  | { readonly mode: 'DP_COUNT'; readonly countSigma: number };

/**
 * How records are grouped into batches within each label (issue 19). RANDOM: by keyed hash, as
 * always. CLUSTERED: each label's records are first clustered by private k-means on a public feature
 * map (`recordFeatureVector` of libs/text-classifier, `dimension` long), `iterations` Lloyd steps
 * with noise `sumSigma` on the per-cluster sums and `lloydCountSigma` on the counts; every record
 * then goes to its nearest noisy centroid and, within the cluster, to a batch by keyed hash. The
 * label's batches are split among its clusters by a DP count per label and cluster, with noise
 * `countSigma` (the label allocation's when it is DP_COUNT). Absent in releases made before it
 * existed: RANDOM.
 */
export type Batching =
  | { readonly mode: 'RANDOM' }
  | {
      readonly mode: 'CLUSTERED';
      readonly clusters: number;
      readonly iterations: number;
      readonly dimension: number;
      /** The epsilon the owner gave the clustering, at the dataset's delta; the sigmas below are derived from it. */
      readonly clusteringEpsilon: number;
      readonly sumSigma: number;
      readonly lloydCountSigma: number;
      /** Noise of the final per-(label, cluster) counts. */
      readonly countSigma: number;
    };

/**
 * The public parameters of a release besides its mechanism's (those are {@link ReleaseEntity.mechanism},
 * stored once), written by the gateway, read by the workers and shown to everyone who may see it.
 */
export interface ReleaseParameters {
  readonly mode: ReleaseMode;
  readonly model: string;
  /** The epsilon the private-token cap was resolved from, if one was given instead of a cap. */
  readonly targetEpsilon: number | null;
  readonly maxTokens: number;
  /**
   * The public bound on every prompt's length in tokens: each record's text is cut so its prompt
   * fits, keeping the label part, and a batch's memory is planned from it. Absent in releases made
   * before it existed (the worker then uses the model's context room, the old cut).
   */
  readonly maxPromptTokens?: number;
  /** Labels generated; null for an unlabelled dataset. */
  readonly labels: readonly string[] | null;
  readonly labelAllocation: LabelAllocation | null;
  /** Absent in releases made before batching existed: RANDOM. */
  readonly batching?: Batching;
  readonly promptTemplate: string;
  readonly publicPromptTemplate: string;
}
export type BatchStatus = 'PENDING' | 'RUNNING' | 'DONE';

/** One group of batches: all batches of one label (or of the whole unlabelled dataset), or of one cluster of a label (CLUSTERED batching). */
export interface LabelPlanEntry {
  /** null for an unlabelled dataset. */
  readonly label: string | null;
  /** Number of batches (= synthetic examples) of this label. */
  readonly batches: number;
  /** Ordinal of this group's first batch. */
  readonly offset: number;
  /** The DP-noised record count the batches were derived from (DP_COUNT allocation only). */
  readonly noisyCount?: number;
  /** CLUSTERED batching: the cluster's index within its label and its noisy centroid (a DP output). */
  readonly cluster?: number;
  readonly centroid?: readonly number[];
}

/**
 * A synthetic release. `partitionKey` and `randomSeed` are secrets of the mechanism: they never
 * leave the database except to the worker (DESIGN.md section 4), and they exist only while batches
 * can still run: a database trigger erases both when the release reaches a final state.
 */
@Entity({ name: 'release' })
export class ReleaseEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @Column({ name: 'organization_id', type: 'uuid' })
  organizationId!: string;

  @Column({ type: 'text' })
  status!: ReleaseStatus;

  @Column({ type: 'text' })
  mode!: ReleaseMode;

  /**
   * The mechanism's parameters (libs/privacy `MechanismParameters`, discriminated by `mechanism`;
   * `privateTokenCap` resolved): the gateway priced exactly these, and the worker builds its
   * sampler from them through the same registry entry.
   */
  @Column({ type: 'jsonb' })
  mechanism!: MechanismParameters;

  /** The request's other public parameters (model, caps, labels, templates). */
  @Column({ type: 'jsonb' })
  parameters!: ReleaseParameters;

  /** The ReleaseCost of libs/privacy, as charged. */
  @Column({ type: 'jsonb' })
  cost!: Record<string, unknown>;

  /** rho-zCDP charged; Infinity (and so `epsilon`) exactly for a NON_PRIVATE_REFERENCE release, which has no guarantee. */
  @Column({ type: 'double precision' })
  rho!: number;

  @Column({ type: 'double precision' })
  epsilon!: number;

  @Column({ type: 'double precision' })
  delta!: number;

  @Column({ type: 'text' })
  conversion!: 'tight' | 'closed';

  @Column({ name: 'model_name', type: 'text' })
  modelName!: string;

  @Column({ name: 'model_fingerprint', type: 'text' })
  modelFingerprint!: string;

  @Column({ name: 'model_files', type: 'jsonb' })
  modelFiles!: { path: string; bytes: number; sha256: string }[];

  @Column({ name: 'label_plan', type: 'jsonb' })
  labelPlan!: LabelPlanEntry[];

  /** The public record count N when the release was created. */
  @Column({ name: 'record_count', type: 'integer' })
  recordCount!: number;

  /** Records with a larger id were imported later and are not part of this release. */
  @Column({ name: 'max_record_id', type: 'bigint' })
  maxRecordId!: string;

  @Column({ name: 'batch_count', type: 'integer' })
  batchCount!: number;

  @Column({ name: 'batches_done', type: 'integer', default: 0 })
  batchesDone!: number;

  @Column({ name: 'tokens_generated', type: 'bigint', default: 0 })
  tokensGenerated!: string;

  /** Null once the release is SUCCEEDED, FAILED or CANCELLED (erased by a trigger). */
  @Column({ name: 'partition_key', type: 'bytea', select: false, nullable: true })
  partitionKey!: Buffer | null;

  /** Null once the release is SUCCEEDED, FAILED or CANCELLED (erased by a trigger): nothing can replay its noise. */
  @Column({ name: 'random_seed', type: 'bytea', select: false, nullable: true })
  randomSeed!: Buffer | null;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;

  /** libs/quality's ReleaseQualityReport, written when the release succeeds; sensitive (owner and compliance only). */
  @Column({ name: 'quality_report', type: 'jsonb', nullable: true })
  qualityReport!: Record<string, unknown> | null;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}

/** One batch of a release: the unit of work, and of the partition. */
@Entity({ name: 'release_batch' })
export class ReleaseBatchEntity {
  @PrimaryColumn({ name: 'release_id', type: 'uuid' })
  releaseId!: string;

  @PrimaryColumn({ name: 'batch_index', type: 'integer' })
  batchIndex!: number;

  @Column({ type: 'text', nullable: true })
  label!: string | null;

  @Column({ type: 'text' })
  status!: BatchStatus;

  @Column({ name: 'job_id', type: 'uuid', nullable: true })
  jobId!: string | null;

  @Column({ name: 'worker_id', type: 'text', nullable: true })
  workerId!: string | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'heartbeat_at', type: 'timestamptz', nullable: true })
  heartbeatAt!: Date | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'integer', nullable: true })
  tokens!: number | null;
}

/** One synthetic example: the output of one batch. */
@Entity({ name: 'synthetic_record' })
export class SyntheticRecordEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ name: 'release_id', type: 'uuid' })
  releaseId!: string;

  @Column({ type: 'integer' })
  ordinal!: number;

  @Column({ type: 'text' })
  text!: string;

  @Column({ type: 'text', nullable: true })
  label!: string | null;

  /**
   * The typed values of a structured release's record, keyed by field name (they satisfy the
   * dataset's schema); null for a text-and-label release. `text` then holds the record as
   * generated (one JSON object), `label` its condition field's value.
   */
  @Column({ type: 'jsonb', nullable: true })
  values!: StructuredRecord | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** A release made visible to an organisation; revoking ends it without deleting it. */
@Entity({ name: 'release_publication' })
export class ReleasePublicationEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ name: 'release_id', type: 'uuid' })
  releaseId!: string;

  @Column({ name: 'organization_id', type: 'uuid' })
  organizationId!: string;

  @Column({ name: 'published_by', type: 'uuid', nullable: true })
  publishedBy!: string | null;

  @CreateDateColumn({ name: 'published_at', type: 'timestamptz' })
  publishedAt!: Date;

  @Column({ name: 'revoked_by', type: 'uuid', nullable: true })
  revokedBy!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
