import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type LedgerEntryKind = 'DEBIT' | 'REFUND';

/**
 * One append-only entry of a dataset's budget ledger. Each entry carries the keyed HMAC-SHA256 of its own
 * canonical encoding, which includes the previous entry's hash: rewriting any entry breaks every
 * later link (see ledger-hash.ts). A trigger refuses UPDATE, DELETE and TRUNCATE.
 */
@Entity({ name: 'budget_ledger_entry' })
export class LedgerEntryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  /** 1, 2, 3, ... per dataset. */
  @Column({ type: 'integer' })
  sequence!: number;

  @Column({ name: 'release_id', type: 'uuid', nullable: true })
  releaseId!: string | null;

  @Column({ type: 'text' })
  kind!: LedgerEntryKind;

  /** Positive for a debit, negative for a refund. */
  @Column({ type: 'double precision' })
  rho!: number;

  /** The dataset's total rho after this entry. */
  @Column({ name: 'total_rho', type: 'double precision' })
  totalRho!: number;

  /** The dataset's spent epsilon after this entry, at `delta` with `conversion`. */
  @Column({ name: 'epsilon_after', type: 'double precision' })
  epsilonAfter!: number;

  @Column({ type: 'double precision' })
  delta!: number;

  @Column({ type: 'text' })
  conversion!: string;

  /** The release's cost (libs/privacy ReleaseCost) and public parameters. */
  @Column({ type: 'jsonb' })
  parameters!: Record<string, unknown>;

  @Column({ name: 'actor_user_id', type: 'uuid', nullable: true })
  actorUserId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'previous_hash', type: 'text' })
  previousHash!: string;

  @Column({ type: 'text' })
  hash!: string;
}
