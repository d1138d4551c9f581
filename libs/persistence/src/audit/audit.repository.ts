import { type EntityManager } from 'typeorm';
import { isUuid } from '../ids';
import { keysetPage, type Page, type PageRequest } from '../page';
import { applyScope, type RowScope } from '../scope-sql';
import { AuditEventEntity, type AuditOutcome } from './audit-event.entity';

export interface NewAuditEvent {
  readonly organizationId: string | null;
  readonly actorUserId: string | null;
  readonly actorTokenId: string | null;
  readonly action: string;
  readonly subjectType: string | null;
  readonly subjectId: string | null;
  readonly outcome: AuditOutcome;
  readonly requestId: string | null;
  /** Identifiers and public parameters only: never record text, synthetic text or secrets. */
  readonly details?: Record<string, unknown>;
}

export interface AuditFilter {
  readonly action?: string | null;
  /** Matches actions starting with this prefix, e.g. `release.`. */
  readonly actionPrefix?: string | null;
  readonly subjectType?: string | null;
  readonly subjectId?: string | null;
  readonly actorUserId?: string | null;
  readonly outcome?: AuditOutcome | null;
  readonly since?: Date | null;
  readonly until?: Date | null;
}

/** The append-only audit log (a trigger refuses UPDATE, DELETE and TRUNCATE). */
export class AuditRepository {
  constructor(private readonly manager: EntityManager) {}

  async append(event: NewAuditEvent): Promise<void> {
    await this.manager
      .createQueryBuilder()
      .insert()
      .into(AuditEventEntity)
      .values({ ...event, details: () => ':details::jsonb' })
      .setParameter('details', JSON.stringify(event.details ?? {}))
      .execute();
  }

  /** Newest first. */
  list(scope: RowScope, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventEntity>> {
    const query = this.manager.createQueryBuilder(AuditEventEntity, 'a');
    applyScope(query, scope, { organizationId: { column: 'a.organization_id' } });
    if (filter.action) query.andWhere('a.action = :action', { action: filter.action });
    if (filter.actionPrefix) query.andWhere('starts_with(a.action, :prefix)', { prefix: filter.actionPrefix });
    if (filter.subjectType) query.andWhere('a.subject_type = :subjectType', { subjectType: filter.subjectType });
    if (filter.subjectId) query.andWhere('a.subject_id = :subjectId', { subjectId: filter.subjectId });
    if (filter.actorUserId) {
      if (isUuid(filter.actorUserId)) query.andWhere('a.actor_user_id = :actorUserId', { actorUserId: filter.actorUserId });
      else query.andWhere('false');
    }
    if (filter.outcome) query.andWhere('a.outcome = :outcome', { outcome: filter.outcome });
    if (filter.since) query.andWhere('a.created_at >= :since', { since: filter.since });
    if (filter.until) query.andWhere('a.created_at < :until', { until: filter.until });
    return keysetPage(query, { id: 'a.id', direction: 'DESC' }, page, (a) => [a.id]);
  }
}
