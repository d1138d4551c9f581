import { Inject, Injectable } from '@nestjs/common';
import { AccessError, type Actor, defineAbilityFor, scopeFor, subject } from '@synthgate/access';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { type ApiTokenEntity, Database, type Page, type PageRequest, type Repositories, type TokenScope, tokenScopes } from '@synthgate/persistence';
import { AuditService } from '../audit/audit.service';
import { hashTokenSecret, newTokenSecret, tokenPrefix } from './token-secret';
import { DomainError } from '../gateway.errors';

export interface CreateApiToken {
  readonly userId?: string | null;
  readonly name: string;
  readonly scopes?: readonly TokenScope[] | null;
  readonly expiresInDays?: number | null;
  /** Why a platform operator issues a token for someone else: required then, and audited. */
  readonly reason?: string | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** API tokens: high-entropy secrets shown once, stored as hashes, expiring and revocable. */
@Injectable()
export class ApiTokenService {
  constructor(
    private readonly database: Database,
    private readonly audit: AuditService,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  async create(actor: Actor, input: CreateApiToken): Promise<{ token: ApiTokenEntity; secret: string }> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 200) throw DomainError.badInput('input.name', 'must be 1 to 200 characters');
    const scopes = [...new Set(input.scopes ?? tokenScopes)];
    if (scopes.length === 0) throw DomainError.badInput('input.scopes', 'must name at least one scope');
    const days = input.expiresInDays ?? this.config.apiTokenDefaultTtlDays;
    if (!Number.isInteger(days) || days < 1 || days > 3650) throw DomainError.badInput('input.expiresInDays', 'must be an integer from 1 to 3650');
    const userId = input.userId ?? actor.userId;
    return this.database.transaction(async (repositories) => {
      const user = await repositories.users.findById(userId);
      const ability = defineAbilityFor(actor);
      const target = user ? subject('ApiToken', { userId: user.id, organizationId: user.organizationId }) : null;
      if (!user || !target || (!ability.can('create', target) && !ability.can('issue', target))) throw AccessError.notFound('user', userId);
      if (ability.can('create', target)) return this.issue(repositories, actor, { userId: user.id, organizationId: user.organizationId, name, scopes, days });
      // A platform operator acting as someone else: a deliberate, visible act, logged with its
      // reason in the user's own organisation, where its ADMIN and COMPLIANCE read it.
      const reason = input.reason?.trim() ?? '';
      if (reason.length < 10 || reason.length > 500) {
        throw DomainError.badInput('input.reason', "is required (10 to 500 characters) when a platform operator issues a token for another user: it is recorded in that organisation's audit log");
      }
      const issued = await this.issue(repositories, actor, { userId: user.id, organizationId: user.organizationId, name, scopes, days });
      await this.audit.record(
        actor,
        {
          action: 'token.issue.operator',
          outcome: 'SUCCESS',
          subjectType: 'ApiToken',
          subjectId: issued.token.id,
          organizationId: user.organizationId,
          details: { userId: user.id, role: user.role, reason, operatorUserId: actor.userId },
        },
        repositories,
      );
      return issued;
    });
  }

  /**
   * Issues a token inside the caller's transaction. The secret exists only in the return value;
   * the database keeps its SHA-256.
   */
  async issue(
    repositories: Repositories,
    actor: Actor | null,
    request: { userId: string; organizationId: string; name: string; scopes: TokenScope[]; days: number },
  ): Promise<{ token: ApiTokenEntity; secret: string }> {
    const secret = newTokenSecret();
    const token = await repositories.apiTokens.create({
      userId: request.userId,
      name: request.name,
      prefix: tokenPrefix(secret),
      secretHash: hashTokenSecret(secret),
      scopes: request.scopes,
      expiresAt: new Date(Date.now() + request.days * DAY_MS),
      createdBy: actor?.userId ?? null,
    });
    await this.audit.record(
      actor,
      {
        action: 'token.create',
        outcome: 'SUCCESS',
        subjectType: 'ApiToken',
        subjectId: token.id,
        organizationId: request.organizationId,
        details: { userId: request.userId, scopes: request.scopes, expiresAt: token.expiresAt.toISOString() },
      },
      repositories,
    );
    return { token, secret };
  }

  async revoke(actor: Actor, id: string): Promise<ApiTokenEntity> {
    return this.database.transaction(async (repositories) => {
      const token = await repositories.apiTokens.findById(id);
      const owner = token ? await repositories.users.findById(token.userId) : null;
      if (!token || !owner || !defineAbilityFor(actor).can('revoke', subject('ApiToken', { userId: token.userId, organizationId: owner.organizationId }))) {
        throw AccessError.notFound('API token', id);
      }
      const revokedAt = new Date();
      if (!(await repositories.apiTokens.revoke(id, revokedAt))) return token;
      await this.audit.record(
        actor,
        { action: 'token.revoke', outcome: 'SUCCESS', subjectType: 'ApiToken', subjectId: id, organizationId: owner.organizationId },
        repositories,
      );
      return { ...token, revokedAt };
    });
  }

  list(actor: Actor, userId: string | null, page: PageRequest): Promise<Page<ApiTokenEntity>> {
    return this.database.repositories.apiTokens.list(scopeFor(defineAbilityFor(actor), 'read', 'ApiToken'), { userId }, page);
  }
}
