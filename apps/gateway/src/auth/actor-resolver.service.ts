import { Injectable } from '@nestjs/common';
import { AccessError, type Actor, type ActorResolver } from '@synthgate/access';
import { Database } from '@synthgate/persistence';
import { AuditService } from '../audit/audit.service';
import { hashTokenSecret, looksLikeTokenSecret } from '../tokens/token-secret';

/** A token's first use after this long counts as a new login in the audit log. */
const LOGIN_WINDOW_MS = 60 * 60 * 1000;
/** `last_used_at` is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60 * 1000;

/**
 * Resolves `Authorization: Bearer <token>` to an actor. A token is accepted only if it exists,
 * has not expired or been revoked, and its user is not disabled. Every refused token and every
 * login (first use, or first use after an hour of silence) is written to the audit log.
 */
@Injectable()
export class ActorResolverService implements ActorResolver {
  constructor(
    private readonly database: Database,
    private readonly audit: AuditService,
  ) {}

  async resolve(request: { headers: Record<string, string | string[] | undefined> }): Promise<Actor> {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || header.length === 0) throw AccessError.unauthenticated();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1] || !looksLikeTokenSecret(match[1])) {
      await this.refuse(null, null, 'malformed');
      throw AccessError.unauthenticated('the Authorization header must be "Bearer <token>" with a Synthgate API token');
    }
    const found = await this.database.repositories.apiTokens.findBySecretHash(hashTokenSecret(match[1]));
    const now = new Date();
    if (!found) {
      await this.refuse(null, null, 'unknown');
      throw AccessError.unauthenticated('this API token is not valid');
    }
    const { token, user } = found;
    const reason = token.revokedAt ? 'revoked' : token.expiresAt <= now ? 'expired' : user.disabledAt ? 'user disabled' : null;
    if (reason) {
      await this.refuse(user.organizationId, token.id, reason, user.id);
      throw AccessError.unauthenticated(`this API token is ${reason === 'user disabled' ? 'of a disabled user' : reason}`);
    }
    const actor: Actor = { userId: user.id, organizationId: user.organizationId, role: user.role, tokenId: token.id, scopes: token.scopes };
    const lastUsed = token.lastUsedAt?.getTime() ?? 0;
    if (now.getTime() - lastUsed > TOUCH_INTERVAL_MS) {
      await this.database.repositories.apiTokens.touch(token.id, now);
      if (now.getTime() - lastUsed > LOGIN_WINDOW_MS) {
        await this.audit.record(actor, { action: 'auth.login', outcome: 'SUCCESS', subjectType: 'ApiToken', subjectId: token.id });
      }
    }
    return actor;
  }

  private async refuse(organizationId: string | null, tokenId: string | null, reason: string, userId?: string): Promise<void> {
    await this.audit.record(null, {
      action: 'auth.login',
      outcome: 'DENIED',
      subjectType: tokenId ? 'ApiToken' : null,
      subjectId: tokenId,
      organizationId,
      details: { reason, ...(userId ? { userId } : {}) },
    });
  }
}
