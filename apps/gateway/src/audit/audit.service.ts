import { Injectable } from '@nestjs/common';
import { type Actor, defineAbilityFor, scopeFor } from '@synthgate/access';
import { type AuditEventEntity, type AuditFilter, type AuditOutcome, Database, type Page, type PageRequest, type Repositories } from '@synthgate/persistence';
import { currentRequestId } from '../errors/request-context';

export interface AuditRecord {
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly subjectType?: string | null;
  readonly subjectId?: string | null;
  /** Whose reviewers may read the event; defaults to the actor's organisation. */
  readonly organizationId?: string | null;
  /** Identifiers and public parameters only: never record text, synthetic text or secrets. */
  readonly details?: Record<string, unknown>;
}

/** Writes and reads the append-only audit log. */
@Injectable()
export class AuditService {
  constructor(private readonly database: Database) {}

  /**
   * Appends an event. Pass the transaction's repositories to commit the event with the change
   * it describes; without them it is written on its own (used for failures, whose transaction
   * rolled back).
   */
  async record(actor: Actor | null, event: AuditRecord, repositories: Repositories = this.database.repositories): Promise<void> {
    await repositories.audit.append({
      organizationId: event.organizationId === undefined ? (actor?.organizationId ?? null) : event.organizationId,
      actorUserId: actor?.userId ?? null,
      actorTokenId: actor?.tokenId ?? null,
      action: event.action,
      subjectType: event.subjectType ?? null,
      subjectId: event.subjectId ?? null,
      outcome: event.outcome,
      requestId: currentRequestId(),
      details: event.details ?? {},
    });
  }

  list(actor: Actor, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventEntity>> {
    return this.database.repositories.audit.list(scopeFor(defineAbilityFor(actor), 'read', 'AuditEvent'), filter, page);
  }
}
