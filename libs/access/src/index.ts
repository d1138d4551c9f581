export {
  type Action,
  type AppAbility,
  type SubjectFields,
  type SubjectType,
  actionsBySubject,
  defineAbilityFor,
  readActions,
  subject,
  subjectTypes,
} from './ability';
export { AccessError, type AccessErrorCode } from './access.errors';
export {
  type AuthenticatedRequest,
  Can,
  CurrentActor,
  PERMISSION_KEY,
  type PermissionDeclaration,
  Public,
  requestFrom,
} from './access.decorators';
export { ACTOR_RESOLVER, AccessGuard, type ActorResolver } from './access.guard';
export { type Actor, type Role, type TokenScope } from './actor';
export { type AccessScope, scopeFor } from './scope';
