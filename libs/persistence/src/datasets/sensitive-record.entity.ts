import { type StructuredRecord } from '@synthgate/records';
import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One sensitive record: the unit of privacy. Written only by the import's COPY. */
@Entity({ name: 'sensitive_record' })
@Index('sensitive_record_dataset_id', ['datasetId', 'id'])
export class SensitiveRecordEntity {
  /** bigint identity, returned by pg as a decimal string. */
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @Column({ name: 'import_id', type: 'uuid' })
  importId!: string;

  @Column({ type: 'text' })
  text!: string;

  @Column({ type: 'text', nullable: true })
  label!: string | null;

  /**
   * The typed values of a structured dataset's record, keyed by field name (checked against the
   * dataset's schema at import); null for a text-and-label record. `text` then holds the same
   * record as one JSON object in field order, `label` its condition field's value.
   */
  @Column({ type: 'jsonb', nullable: true })
  values!: StructuredRecord | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
