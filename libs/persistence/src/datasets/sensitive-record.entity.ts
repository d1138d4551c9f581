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

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
