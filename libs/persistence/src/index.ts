export { AuditEventEntity, type AuditOutcome, auditOutcomes } from './audit/audit-event.entity';
export { type AuditFilter, type NewAuditEvent } from './audit/audit.repository';
export { createDataSource, dataSourceOptions, type MigrationOptions, runMigrations, type DatabaseOptions } from './data-source';
export { type ApplicationRole, applicationRoleFor, applicationUrl } from './database-roles';
export { Database, type Repositories } from './database';
export { type DatabaseServer, openDatabaseServer, publishedDatabaseUrl } from './database-server';
export { DatasetEntity, type PromptChatTurn } from './datasets/dataset.entity';
export { type DatasetChanges, type NewDataset } from './datasets/dataset.repository';
export { SensitiveRecordEntity } from './datasets/sensitive-record.entity';
export { type BatchRecord } from './datasets/sensitive-record.repository';
export { type ImportedRecordValues, type RecordImportSink, type RecordImportTarget } from './datasets/record-import-sink';
export { isUuid } from './ids';
export { processAlive, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';
export { ApiTokenEntity } from './identity/api-token.entity';
export { type NewApiToken, type NewUser, type TokenWithUser } from './identity/identity.repository';
export { OrganizationEntity } from './identity/organization.entity';
export { type Role, roles, type TokenScope, tokenScopes } from './identity/role';
export { UserEntity } from './identity/user.entity';
export { type Page, type PageRequest } from './page';
export { PersistenceError, type PersistenceErrorCode } from './persistence.errors';
export { type RowScope } from './scope-sql';
export { connectDatabase } from './connect';
export { PersistenceModule } from './persistence.module';
export { BATCH_QUEUE, type BatchJob, type BatchJobData, type EnqueueOptions, type ExhaustedBatch, JobQueue, type JobQueueOptions } from './jobs/job-queue';
export { LedgerEntryEntity, type LedgerEntryKind } from './ledger/ledger-entry.entity';
export { canonicalJson, GENESIS_HASH, type HashedLedgerFields, ledgerEntryHash, ledgerHeadMac, type LedgerHeadFields } from './ledger/ledger-hash';
export { LedgerHeadEntity } from './ledger/ledger-head.entity';
export { LEDGER_KEY_FILE, LedgerKeyError, loadLedgerKey } from './ledger/ledger-key';
export { ledgerHeadProblem, type NewLedgerEntry, refundableRho, type ReleaseSettlement } from './ledger/ledger.repository';
export { type FleetMetrics, type LatencyHistogram, type WorkerMetricsSnapshot } from './metrics/metrics.repository';
export {
  type BatchStatus,
  type Batching,
  type LabelAllocation,
  type LabelPlanEntry,
  ReleaseBatchEntity,
  ReleaseEntity,
  type ReleaseMode,
  releaseModes,
  type ReleaseParameters,
  ReleasePublicationEntity,
  type ReleaseStatus,
  releaseStatuses,
  SyntheticRecordEntity,
} from './releases/release.entity';
export { type LedgerReleaseView, type NewRelease, type NewSyntheticRecord, type ReleaseFilter, type ReleaseWithSecrets } from './releases/release.repository';
