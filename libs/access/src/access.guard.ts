import { type CanActivate, type ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { defineAbilityFor } from './ability';
import { type Actor } from './actor';
import { AccessError } from './access.errors';
import { PERMISSION_KEY, type PermissionDeclaration, requestFrom } from './access.decorators';

/** Resolves the caller from a request's bearer token; the gateway provides it. */
export interface ActorResolver {
  /** Returns the actor, or throws an UNAUTHENTICATED AccessError for a missing or bad token. */
  resolve(request: { headers: Record<string, string | string[] | undefined>; ip?: string; requestId?: string }): Promise<Actor>;
}
export const ACTOR_RESOLVER = Symbol('ACTOR_RESOLVER');

/**
 * Deny by default: every GraphQL operation and HTTP route must declare `@Can(action, subject)` or
 * `@Public()`; one that declares neither is refused. `@Can` is checked against the subject
 * type here; the service then checks the instance.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly logger = new Logger(AccessGuard.name);

  constructor(
    private readonly reflector: Reflector,
    @Inject(ACTOR_RESOLVER) private readonly actors: ActorResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const declaration = this.reflector.getAllAndOverride<PermissionDeclaration | undefined>(PERMISSION_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!declaration) {
      this.logger.error(`${context.getClass().name}.${context.getHandler().name} declares no permission; refused`);
      throw AccessError.forbidden('this operation declares no permission');
    }
    if ('public' in declaration) return true;
    const request = requestFrom(context);
    const actor = request.actor ?? (await this.actors.resolve(request));
    const ability = request.ability ?? defineAbilityFor(actor);
    request.actor = actor;
    request.ability = ability;
    if (!ability.can(declaration.action, declaration.subject)) {
      throw AccessError.forbidden(`a ${actor.role} may not ${declaration.action} ${declaration.subject}`);
    }
    return true;
  }
}
