// Every GraphQL operation the console sends, with the shape of its answer. Plain strings and
// types only (no DOM, no imports): test/console.e2e-spec.ts validates each document against the
// gateway's schema, so a renamed field fails a test instead of a page.

export type Role = 'OPERATOR' | 'ADMIN' | 'DATA_OWNER' | 'CONSUMER' | 'COMPLIANCE';
export type ReleaseStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export type AuditOutcome = 'SUCCESS' | 'FAILURE' | 'DENIED';

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Connection<T> {
  nodes: T[];
  pageInfo: PageInfo;
}

export interface Me {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  organizationId: string;
  organization: { id: string; name: string } | null;
}

export const ME = /* GraphQL */ `
  query ConsoleMe {
    me { id email displayName role organizationId organization { id name } }
  }
`;
export interface MeResult {
  me: Me;
}

// ---- datasets and budgets

export interface BudgetSummary {
  epsilon: number;
  delta: number;
  spentEpsilon: number;
  remainingEpsilon: number;
}

export interface DatasetSummary {
  id: string;
  name: string;
  description: string;
  recordCount: number;
  labels: string[];
  archived: boolean;
  createdAt: string;
  budget: BudgetSummary | null;
}

export const DATASETS = /* GraphQL */ `
  query ConsoleDatasets($first: Int, $after: String) {
    datasets(first: $first, after: $after) {
      nodes { id name description recordCount labels archived createdAt budget { epsilon delta spentEpsilon remainingEpsilon } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
export interface DatasetsResult {
  datasets: Connection<DatasetSummary>;
}

export interface DatasetDetail extends DatasetSummary {
  textField: string;
  labelField: string | null;
  labelsDerivedFromData: boolean;
  promptTemplate: string;
  benchmark: boolean;
  replayThreshold: number;
  /** True for a dataset with a schema of its own (its records have several typed fields). */
  structured: boolean;
  recordSchema: { conditionField: string | null; fields: RecordFieldSummary[] };
  budget: (BudgetSummary & { spentRho: number; closedFormSpentEpsilon: number; warnings: string[]; nonPrivateReleases: number }) | null;
}

export const DATASET = /* GraphQL */ `
  query ConsoleDataset($id: ID!) {
    dataset(id: $id) {
      id name description recordCount labels labelsDerivedFromData archived createdAt textField labelField promptTemplate benchmark replayThreshold
      structured recordSchema { conditionField fields { name kind optional maxTokens values min max decimals } }
      budget { epsilon delta spentRho spentEpsilon closedFormSpentEpsilon remainingEpsilon warnings nonPrivateReleases }
    }
  }
`;
export interface DatasetResult {
  dataset: DatasetDetail;
}

export const ADD_DATASET_LABELS = /* GraphQL */ `
  mutation ConsoleAddDatasetLabels($input: UpdateDatasetInput!) {
    updateDataset(input: $input) { id labels }
  }
`;
export interface AddDatasetLabelsResult {
  updateDataset: { id: string; labels: string[] };
}

export interface LedgerEntry {
  sequence: number;
  kind: 'DEBIT' | 'REFUND';
  rho: number;
  totalRho: number;
  epsilonAfter: number;
  createdAt: string;
  releaseId: string | null;
  actorUserId: string | null;
  hash: string;
}

/** One page of a dataset's ledger (oldest first); the console follows pageInfo to read it all. */
export const LEDGER_PAGE = /* GraphQL */ `
  query ConsoleLedger($id: ID!, $first: Int, $after: String) {
    dataset(id: $id) {
      id
      budget {
        epsilon
        ledger(first: $first, after: $after) {
          nodes { sequence kind rho totalRho epsilonAfter createdAt releaseId actorUserId hash }
          pageInfo { hasNextPage endCursor }
        }
      }
    }
  }
`;
export interface LedgerPageResult {
  dataset: { id: string; budget: { epsilon: number; ledger: Connection<LedgerEntry> } | null };
}

export interface LedgerVerification {
  ok: boolean;
  entries: number;
  totalRho: number;
  spentEpsilon: number;
  firstBroken: { sequence: number; reason: string } | null;
}

export const VERIFY_LEDGER = /* GraphQL */ `
  query ConsoleVerifyLedger($datasetId: ID!) {
    verifyLedger(datasetId: $datasetId) { ok entries totalRho spentEpsilon firstBroken { sequence reason } }
  }
`;
export interface VerifyLedgerResult {
  verifyLedger: LedgerVerification;
}

// ---- releases

export interface ReleaseProgress {
  batchesDone: number;
  batchesTotal: number;
  tokensGenerated: number;
  tokensPerSecond: number | null;
  elapsedSeconds: number | null;
  estimatedSecondsLeft: number | null;
}

/** rho, epsilon and rhoPerPrivateToken are null only when differentiallyPrivate is false (a benchmark's non-private reference). */
export interface PrivacyCost {
  differentiallyPrivate: boolean;
  rho: number | null;
  epsilon: number | null;
  delta: number;
  conversion: string;
  privateTokenCap: number;
  rhoPerPrivateToken: number | null;
  labelCountRho: number;
  /** CLUSTERED batching's private k-means; 0 otherwise. */
  clusteringRho: number;
  /** The private tokens' part of rho; null when not differentially private. */
  tokensRho: number | null;
}

export type ReleaseMode = 'PRIVATE' | 'PUBLIC_ONLY' | 'NON_PRIVATE_REFERENCE';

export interface ReleaseParameters {
  mode: ReleaseMode;
  /** The mechanism run: private-prediction, public-only or non-private-reference. */
  mechanism: string;
  model: string;
  expectedBatchSize: number;
  /** Null when the mechanism has none (clip: public-only and the non-private reference; temperature and topK: public-only). */
  clip: number | null;
  temperature: number | null;
  publicTemperature: number | null;
  drafter: { threshold: number; sigma: number } | null;
  privateTokenCap: number;
  targetEpsilon: number | null;
  maxTokens: number;
  /** Null for releases made before prompts had a public bound. */
  maxPromptTokens: number | null;
  topK: number | null;
  labels: string[] | null;
  labelAllocation: { mode: 'DECLARED' | 'DP_COUNT'; proportions: { label: string; weight: number }[] | null; countSigma: number | null } | null;
  promptTemplate: string;
  publicPromptTemplate: string;
}

const COST_FIELDS = 'differentiallyPrivate rho epsilon delta conversion privateTokenCap rhoPerPrivateToken labelCountRho clusteringRho tokensRho';
const PARAMETER_FIELDS = `mode mechanism model expectedBatchSize clip temperature publicTemperature drafter { threshold sigma } privateTokenCap targetEpsilon
  maxTokens maxPromptTokens topK labels labelAllocation { mode proportions { label weight } countSigma } promptTemplate publicPromptTemplate`;
const PROGRESS_FIELDS = 'batchesDone batchesTotal tokensGenerated tokensPerSecond elapsedSeconds estimatedSecondsLeft';

export interface ReleaseSummary {
  id: string;
  datasetId: string;
  datasetName: string;
  status: ReleaseStatus;
  batchCount: number;
  createdAt: string;
  finishedAt: string | null;
  /** Null (as are startedAt and finishedAt) for anyone but the owning organisation's DATA_OWNER and COMPLIANCE. */
  progress: ReleaseProgress | null;
  cost: { differentiallyPrivate: boolean; epsilon: number | null; rho: number | null; delta: number };
}

export const RELEASES = /* GraphQL */ `
  query ConsoleReleases($filter: ReleaseFilter, $first: Int, $after: String) {
    releases(filter: $filter, first: $first, after: $after) {
      nodes { id datasetId datasetName status batchCount createdAt finishedAt progress { ${PROGRESS_FIELDS} } cost { differentiallyPrivate epsilon rho delta } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
export interface ReleasesResult {
  releases: Connection<ReleaseSummary>;
}

export interface ReleaseDetail extends ReleaseSummary {
  recordCount: number;
  failureReason: string | null;
  startedAt: string | null;
  createdBy: string | null;
  parameters: ReleaseParameters;
  cost: PrivacyCost;
  model: { name: string; fingerprint: string };
  labelCounts: { label: string | null; count: number }[];
  publishedTo: { id: string; name: string }[];
}

export const RELEASE = /* GraphQL */ `
  query ConsoleRelease($id: ID!) {
    release(id: $id) {
      id datasetId datasetName status batchCount recordCount createdAt startedAt finishedAt failureReason createdBy
      progress { ${PROGRESS_FIELDS} }
      parameters { ${PARAMETER_FIELDS} }
      cost { ${COST_FIELDS} }
      model { name fingerprint }
      labelCounts { label count }
      publishedTo { id name }
    }
  }
`;
export interface ReleaseResult {
  release: ReleaseDetail;
}

/** Polled while a release is QUEUED or RUNNING: only what changes. */
export const RELEASE_PROGRESS = /* GraphQL */ `
  query ConsoleReleaseProgress($id: ID!) {
    release(id: $id) { id status failureReason startedAt finishedAt progress { ${PROGRESS_FIELDS} } }
  }
`;
export interface ReleaseProgressResult {
  release: Pick<ReleaseDetail, 'id' | 'status' | 'failureReason' | 'startedAt' | 'finishedAt' | 'progress'>;
}

export interface SyntheticRecord {
  ordinal: number;
  label: string | null;
  text: string;
  /** Typed values keyed by field name (a text-and-label record: text and label). */
  values: Record<string, string | number | boolean | null>;
}

export type RecordFieldKind = 'TEXT' | 'CATEGORY' | 'INTEGER' | 'NUMBER' | 'BOOLEAN';

/** One declared field of a record schema, as the console shows it. */
export interface RecordFieldSummary {
  name: string;
  kind: RecordFieldKind;
  optional: boolean;
  maxTokens: number | null;
  values: string[] | null;
  min: number | null;
  max: number | null;
  decimals: number | null;
}

export const RELEASE_RECORDS = /* GraphQL */ `
  query ConsoleReleaseRecords($id: ID!, $first: Int, $after: String, $label: String) {
    release(id: $id) {
      id
      structured
      recordSchema { fields { name kind } }
      records(first: $first, after: $after, label: $label) {
        nodes { ordinal label text values }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`;
export interface ReleaseRecordsResult {
  release: { id: string; structured: boolean; recordSchema: { fields: { name: string; kind: RecordFieldKind }[] }; records: Connection<SyntheticRecord> };
}

export const ORGANIZATIONS = /* GraphQL */ `
  query ConsoleOrganizations($first: Int, $after: String) {
    organizations(first: $first, after: $after) {
      nodes { id name }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
export interface OrganizationsResult {
  organizations: Connection<{ id: string; name: string }>;
}

/** What planRelease and createRelease take; the form builds it. */
export interface ReleaseInput {
  datasetId: string;
  mode?: ReleaseMode;
  model?: string;
  expectedBatchSize: number;
  clip?: number;
  temperature?: number;
  publicTemperature?: number;
  drafter?: { threshold: number; sigma: number } | null;
  privateTokenCap?: number;
  targetEpsilon?: number;
  maxTokens?: number;
  maxPromptTokens?: number;
  topK?: number;
  labels?: string[];
  batching?: { mode: 'RANDOM' | 'CLUSTERED'; clusters?: number; clusteringEpsilon?: number; iterations?: number; countSigma?: number };
}

export interface ReleasePlan {
  cost: PrivacyCost;
  epsilonBefore: number;
  epsilonAfter: number;
  remainingEpsilon: number;
  admitted: boolean;
  refusal: string | null;
  batches: number | null;
  expectedExamples: number | null;
  labels: { label: string | null; batches: number | null }[];
  /** CLUSTERED batching: expected synthetic examples per cluster; null for RANDOM. */
  expectedExamplesPerCluster: number | null;
  expectedBatchSize: number;
  estimatedPromptTokens: number;
  kvCacheBytesPerBatch: number;
  kvCacheLimitBytes: number;
  workerMemoryBytes: number;
  workerMemoryLimitBytes: number;
}

export const PLAN_RELEASE = /* GraphQL */ `
  query ConsolePlanRelease($input: ReleaseInput!) {
    planRelease(input: $input) {
      cost { ${COST_FIELDS} }
      epsilonBefore epsilonAfter remainingEpsilon admitted refusal batches expectedExamples expectedExamplesPerCluster
      labels { label batches }
      expectedBatchSize estimatedPromptTokens kvCacheBytesPerBatch kvCacheLimitBytes workerMemoryBytes workerMemoryLimitBytes
    }
  }
`;
export interface PlanReleaseResult {
  planRelease: ReleasePlan;
}

export const CREATE_RELEASE = /* GraphQL */ `
  mutation ConsoleCreateRelease($input: ReleaseInput!) {
    createRelease(input: $input) { id status }
  }
`;
export interface CreateReleaseResult {
  createRelease: { id: string; status: ReleaseStatus };
}

export const CANCEL_RELEASE = /* GraphQL */ `
  mutation ConsoleCancelRelease($id: ID!) {
    cancelRelease(id: $id) { id status }
  }
`;

export const PUBLISH_RELEASE = /* GraphQL */ `
  mutation ConsolePublishRelease($id: ID!, $organizationIds: [ID!]!, $overrideReplayCheck: Boolean) {
    publishRelease(id: $id, organizationIds: $organizationIds, overrideReplayCheck: $overrideReplayCheck) { id publishedTo { id name } }
  }
`;
export const REVOKE_RELEASE = /* GraphQL */ `
  mutation ConsoleRevokeRelease($id: ID!, $organizationIds: [ID!]!) {
    revokeRelease(id: $id, organizationIds: $organizationIds) { id publishedTo { id name } }
  }
`;
export interface PublicationResult {
  publishRelease?: { id: string; publishedTo: { id: string; name: string }[] };
  revokeRelease?: { id: string; publishedTo: { id: string; name: string }[] };
}

export interface LengthStatistics {
  min: number;
  max: number;
  mean: number;
  median: number;
}

export interface QualityReport {
  computedAt: string;
  records: number;
  labelCounts: { label: string | null; count: number }[];
  emptyRecords: number;
  words: LengthStatistics;
  characters: LengthStatistics;
  duplicates: { distinctTexts: number; duplicateRecords: number; largestGroup: number };
  replay: {
    ngramSize: number;
    sensitiveRecordsCompared: number;
    exactMatches: number;
    recordsSharingNgram: number;
    ngramShare: number;
    replayShare: number;
    longestSharedNgram: number;
    meanLongestSharedNgram: number;
    flagged: { ordinal: number; label: string | null; longestSharedNgram: number; exactMatch: boolean }[];
  };
}

/** The quality and replay report (DATA_OWNER and COMPLIANCE of the release's organisation; null for others) and the threshold it is held to. */
export const QUALITY_REPORT = /* GraphQL */ `
  query ConsoleQualityReport($id: ID!, $datasetId: ID!) {
    release(id: $id) {
      id
      qualityReport {
        computedAt records labelCounts { label count } emptyRecords
        words { min max mean median }
        characters { min max mean median }
        duplicates { distinctTexts duplicateRecords largestGroup }
        replay {
          ngramSize sensitiveRecordsCompared exactMatches recordsSharingNgram ngramShare replayShare longestSharedNgram meanLongestSharedNgram
          flagged { ordinal label longestSharedNgram exactMatch }
        }
      }
    }
    dataset(id: $datasetId) { id replayThreshold }
  }
`;
export interface QualityReportResult {
  release: { id: string; qualityReport: QualityReport | null };
  dataset: { id: string; replayThreshold: number };
}

// ---- audit

export interface AuditFilter {
  action?: string;
  actionPrefix?: string;
  subjectId?: string;
  outcome?: AuditOutcome;
  since?: string;
  until?: string;
}

export interface AuditEvent {
  id: string;
  action: string;
  outcome: AuditOutcome;
  subjectType: string | null;
  subjectId: string | null;
  actorUserId: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

export const AUDIT_EVENTS = /* GraphQL */ `
  query ConsoleAuditEvents($filter: AuditFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      nodes { id action outcome subjectType subjectId actorUserId requestId details createdAt }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
export interface AuditEventsResult {
  auditEvents: Connection<AuditEvent>;
}

/** A model folder as the catalogue describes it. */
export interface ModelEntry {
  name: string;
  isDefault: boolean;
  architecture: string | null;
  parameters: number;
  weightStorage: string | null;
  sourceQuantization: string | null;
  sourceKind: string;
  sourceFile: string;
  contextLength: number;
  chatTemplate: boolean;
  diskBytes: number;
  weightMemoryBytes: number;
  memory: { totalBytes: number; limitBytes: number; fits: boolean };
}

export const MODELS = /* GraphQL */ `
  query ConsoleModels($expectedBatchSize: Int!, $maxTokens: Int!) {
    models {
      name isDefault architecture parameters weightStorage sourceQuantization sourceKind sourceFile contextLength chatTemplate diskBytes weightMemoryBytes
      memory(expectedBatchSize: $expectedBatchSize, maxTokens: $maxTokens) { totalBytes limitBytes fits }
    }
  }
`;
export interface ModelsResult {
  models: ModelEntry[];
}

/** Every document above, for the schema check in the browser test. */
export const ALL_OPERATIONS: Record<string, string> = {
  ME,
  DATASETS,
  DATASET,
  LEDGER_PAGE,
  VERIFY_LEDGER,
  RELEASES,
  RELEASE,
  RELEASE_PROGRESS,
  RELEASE_RECORDS,
  ORGANIZATIONS,
  PLAN_RELEASE,
  CREATE_RELEASE,
  CANCEL_RELEASE,
  PUBLISH_RELEASE,
  REVOKE_RELEASE,
  QUALITY_REPORT,
  AUDIT_EVENTS,
  MODELS,
};
