import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The anchor of a dataset's ledger head, kept outside the ledger table and written in the same
 * transaction as every entry: the head's sequence, hash and total rho under a keyed MAC
 * (ledger-hash.ts `ledgerHeadMac`). Deleting the newest entries, or the whole ledger, leaves an
 * anchor that no longer matches; forging an anchor needs the ledger key.
 */
@Entity({ name: 'budget_ledger_head' })
export class LedgerHeadEntity {
  @PrimaryColumn({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @Column({ type: 'integer' })
  sequence!: number;

  @Column({ type: 'text' })
  hash!: string;

  @Column({ name: 'total_rho', type: 'double precision' })
  totalRho!: number;

  @Column({ type: 'text' })
  mac!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
