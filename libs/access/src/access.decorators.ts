import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { type Action, type AppAbility, type SubjectType } from './ability';
import { type Actor } from './actor';
import { AccessError } from './access.errors';

export const PERMISSION_KEY = 'synthgate:permission';

/** What an operation declares: an action on a subject type, or public. */
export type PermissionDeclaration = { readonly action: Action; readonly subject: SubjectType } | { readonly public: true };

/** The operation needs `action` on (some instance of) `subject`; services check the instance. */
export const Can = (action: Action, subject: SubjectType): MethodDecorator & ClassDecorator =>
  SetMetadata(PERMISSION_KEY, { action, subject } satisfies PermissionDeclaration);

/** The operation needs no token. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PERMISSION_KEY, { public: true } satisfies PermissionDeclaration);

/** The request object both transports share, as the guard leaves it. */
export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  actor?: Actor;
  ability?: AppAbility;
  requestId?: string;
}

export function requestFrom(context: ExecutionContext): AuthenticatedRequest {
  if (context.getType<string>() === 'graphql') {
    return GqlExecutionContext.create(context).getContext<{ req: AuthenticatedRequest }>().req;
  }
  return context.switchToHttp().getRequest<AuthenticatedRequest>();
}

/** The authenticated caller of a `@Can` operation. */
export const CurrentActor = createParamDecorator((_: unknown, context: ExecutionContext): Actor => {
  const actor = requestFrom(context).actor;
  if (!actor) throw AccessError.unauthenticated();
  return actor;
});
