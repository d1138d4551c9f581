import { type RecordSchema } from '@synthgate/records';
import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** One turn of a dataset's chat prompt. */
export interface PromptChatTurn {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/**
 * A sensitive dataset and its privacy budget. Record count and declared label names are public
 * metadata (DESIGN.md section 4: the size of a dataset is treated as public; labels are declared).
 */
@Entity({ name: 'dataset' })
@Index('dataset_organization_name_active', ['organizationId', 'name'], { unique: true, where: 'archived_at IS NULL' })
export class DatasetEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Index()
  @Column({ name: 'organization_id', type: 'uuid' })
  organizationId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', default: '' })
  description!: string;

  @Column({ name: 'text_field', type: 'text' })
  textField!: string;

  @Column({ name: 'label_field', type: 'text', nullable: true })
  labelField!: string | null;

  @Column({ name: 'prompt_template', type: 'text' })
  promptTemplate!: string;

  /**
   * The prompt as a chat for instruct models (turns with `{text}` and `{label}`), rendered through
   * the chat template of a release's model when it has one; `promptTemplate` serves the others.
   */
  @Column({ name: 'prompt_chat', type: 'jsonb', nullable: true })
  promptChat!: PromptChatTurn[] | null;

  @Column({ name: 'budget_epsilon', type: 'double precision' })
  budgetEpsilon!: number;

  @Column({ name: 'budget_delta', type: 'double precision' })
  budgetDelta!: number;

  @Column({ name: 'record_count', type: 'integer', default: 0 })
  recordCount!: number;

  /**
   * The labels declared by the owner (public schema), sorted. Every imported record carries one of
   * them (an import with any other label is refused whole); releases generate these only.
   */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  labels!: string[];

  /**
   * The declared record schema (public metadata, `@synthgate/records`). A text-and-label dataset
   * has `textAndLabelSchema(labels, TEXT_AND_LABEL_MAX_TOKENS)`, kept in step with `labels`.
   */
  @Column({ name: 'record_schema', type: 'jsonb' })
  recordSchema!: RecordSchema;

  /**
   * True for a dataset created with a schema of its own: its records carry typed `values`, their
   * `text` is the record as one JSON object and their `label` the condition field's value. False
   * for a text-and-label dataset, whose records have `text` and `label` only.
   */
  @Column({ type: 'boolean', default: false })
  structured!: boolean;

  /** True for datasets created before labels were declared: their labels were found in the records. */
  @Column({ name: 'labels_derived_from_data', type: 'boolean', default: false })
  labelsDerivedFromData!: boolean;

  /**
   * Created for utility benchmarks: only such a dataset may have NON_PRIVATE_REFERENCE releases.
   * Set at creation, never changed (a database trigger refuses the change).
   */
  @Column({ type: 'boolean', default: false })
  benchmark!: boolean;

  /** The largest replay share (libs/quality) a release may have to be published without an override. */
  @Column({ name: 'replay_threshold', type: 'double precision', default: 0 })
  replayThreshold!: number;

  @Column({ name: 'created_by', type: 'uuid', nullable: true })
  createdBy!: string | null;

  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
