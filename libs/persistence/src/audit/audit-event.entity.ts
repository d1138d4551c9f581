import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const auditOutcomes = ['SUCCESS', 'FAILURE', 'DENIED'] as const;
export type AuditOutcome = (typeof auditOutcomes)[number];

/**
 * Who did what to which subject, when, and how it ended. Details never hold record text,
 * synthetic text or secrets. Rows are append-only (enforced by a trigger).
 */
@Entity({ name: 'audit_event' })
@Index('audit_event_organization_time', ['organizationId', 'id'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  /** The organisation whose reviewers may read this event (the subject's, else the actor's). */
  @Column({ name: 'organization_id', type: 'uuid', nullable: true })
  organizationId!: string | null;

  @Column({ name: 'actor_user_id', type: 'uuid', nullable: true })
  actorUserId!: string | null;

  @Column({ name: 'actor_token_id', type: 'uuid', nullable: true })
  actorTokenId!: string | null;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'subject_type', type: 'text', nullable: true })
  subjectType!: string | null;

  @Column({ name: 'subject_id', type: 'text', nullable: true })
  subjectId!: string | null;

  @Column({ type: 'text' })
  outcome!: AuditOutcome;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  details!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
