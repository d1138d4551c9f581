import { AuditEventEntity } from './audit/audit-event.entity';
import { DatasetEntity } from './datasets/dataset.entity';
import { SensitiveRecordEntity } from './datasets/sensitive-record.entity';
import { ApiTokenEntity } from './identity/api-token.entity';
import { OrganizationEntity } from './identity/organization.entity';
import { UserEntity } from './identity/user.entity';
import { LedgerEntryEntity } from './ledger/ledger-entry.entity';
import { LedgerHeadEntity } from './ledger/ledger-head.entity';
import { ReleaseBatchEntity, ReleaseEntity, ReleasePublicationEntity, SyntheticRecordEntity } from './releases/release.entity';

/** Every entity class; the data source registers exactly these. */
export const entities = [
  OrganizationEntity,
  UserEntity,
  ApiTokenEntity,
  DatasetEntity,
  SensitiveRecordEntity,
  AuditEventEntity,
  ReleaseEntity,
  ReleaseBatchEntity,
  SyntheticRecordEntity,
  ReleasePublicationEntity,
  LedgerEntryEntity,
  LedgerHeadEntity,
];
