import { AbilityBuilder, createMongoAbility, type MongoAbility, type MongoQuery, subject as tagSubject } from '@casl/ability';
import { type Actor } from './actor';

/** Every subject type access control knows. */
export const subjectTypes = [
  'Organization',
  'User',
  'ApiToken',
  'Dataset',
  'SensitiveRecord',
  'Release',
  'QualityReport',
  'SyntheticRecord',
  'Budget',
  'AuditEvent',
] as const;
export type SubjectType = (typeof subjectTypes)[number];

/** Every action, per subject type. Anything not listed here cannot be granted. */
export const actionsBySubject = {
  Organization: ['read', 'create'],
  User: ['read', 'create', 'update'],
  // issue: a token for a user of another organisation (platform operator only; audited, with a reason).
  ApiToken: ['read', 'create', 'revoke', 'issue'],
  Dataset: ['read', 'create', 'update', 'archive'],
  SensitiveRecord: ['read', 'import'],
  Release: ['plan', 'create', 'read', 'cancel', 'publish', 'revoke'],
  QualityReport: ['read'],
  SyntheticRecord: ['read', 'export'],
  Budget: ['read'],
  AuditEvent: ['read'],
} as const satisfies Record<SubjectType, readonly string[]>;

export type Action = (typeof actionsBySubject)[SubjectType][number];

/** Actions that only read: a token without the `write` scope is limited to these. */
export const readActions: readonly Action[] = ['read', 'plan', 'export'];

/**
 * The fields rules may test, per subject instance. Services build these from their records
 * (see `subject()` below) so that the same conditions decide single instances and, through
 * `scopeFor`, list queries.
 */
export interface SubjectFields {
  readonly id?: string;
  readonly organizationId?: string;
  readonly userId?: string;
  /** Organisations a release (or its records) is published to. */
  readonly publishedTo?: readonly string[];
}

export type AppAbility = MongoAbility<[Action, SubjectType | (SubjectFields & { __caslSubjectType__?: SubjectType })], MongoQuery>;

/** Tags a plain object as an instance of a subject type for `ability.can`. */
export function subject(type: SubjectType, fields: SubjectFields): SubjectFields & { __caslSubjectType__: SubjectType } {
  return tagSubject(type, { ...fields }) as SubjectFields & { __caslSubjectType__: SubjectType };
}

/**
 * What each role may do, as one pure function. Rules are grouped by subject; every condition is
 * scoped to the actor's own organisation (or the actor), never to another's.
 * A role never reads sensitive record text unless it is a DATA_OWNER of the dataset's organisation.
 */
export function defineAbilityFor(actor: Actor): AppAbility {
  const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
  const ownOrganization = { organizationId: actor.organizationId };
  const self = { userId: actor.userId };

  // Organization. The platform OPERATOR (the bootstrap admin) manages organisations and their
  // users, and reads nothing of their data; an organisation's ADMIN manages its own only.
  if (actor.role === 'OPERATOR') {
    can(['read', 'create'], 'Organization');
  } else if (actor.role === 'DATA_OWNER') {
    can('read', 'Organization'); // to choose whom a release is published to
  } else {
    can('read', 'Organization', { id: actor.organizationId });
  }

  // User
  if (actor.role === 'OPERATOR') {
    can(['read', 'create', 'update'], 'User');
  } else if (actor.role === 'ADMIN') {
    can(['read', 'create', 'update'], 'User', ownOrganization);
  } else if (actor.role === 'COMPLIANCE') {
    can('read', 'User', ownOrganization);
  } else {
    can('read', 'User', { id: actor.userId });
  }

  // ApiToken: everyone manages their own; an ADMIN its organisation's. The OPERATOR may list and
  // revoke any token, but a token for someone else is an `issue`: audited with a reason in that
  // organisation's log (api-token.service.ts), never a silent `create`.
  if (actor.role === 'OPERATOR') {
    can(['read', 'revoke', 'issue'], 'ApiToken');
    can('create', 'ApiToken', self);
  } else if (actor.role === 'ADMIN') {
    can(['read', 'create', 'revoke'], 'ApiToken', ownOrganization);
  } else {
    can(['read', 'create', 'revoke'], 'ApiToken', self);
  }

  // Dataset (public metadata) and its sensitive records
  if (actor.role === 'DATA_OWNER') {
    can(['read', 'create', 'update', 'archive'], 'Dataset', ownOrganization);
    can(['read', 'import'], 'SensitiveRecord', ownOrganization);
  } else if (actor.role === 'ADMIN' || actor.role === 'COMPLIANCE') {
    can('read', 'Dataset', ownOrganization);
  }

  // Release and its synthetic records
  if (actor.role === 'DATA_OWNER') {
    can(['plan', 'create', 'read', 'cancel', 'publish', 'revoke'], 'Release', ownOrganization);
    can(['read', 'export'], 'SyntheticRecord', ownOrganization);
  } else if (actor.role === 'COMPLIANCE') {
    can('read', 'Release', ownOrganization);
  } else if (actor.role === 'CONSUMER') {
    can('read', 'Release', { publishedTo: actor.organizationId });
    can(['read', 'export'], 'SyntheticRecord', { publishedTo: actor.organizationId });
  }

  // A release's quality report is computed from sensitive records (replay checks): the owning
  // organisation's DATA_OWNERs and COMPLIANCE only, never consumers, even of a published release.
  if (actor.role === 'DATA_OWNER' || actor.role === 'COMPLIANCE') {
    can('read', 'QualityReport', ownOrganization);
  }

  // Budget and ledger
  if (actor.role === 'DATA_OWNER' || actor.role === 'COMPLIANCE') {
    can('read', 'Budget', ownOrganization);
  }

  // AuditEvent (the operator reads its own organisation's: what operators did is logged in the
  // organisation it was done to, where that organisation's ADMIN and COMPLIANCE read it)
  if (actor.role === 'COMPLIANCE' || actor.role === 'ADMIN' || actor.role === 'OPERATOR') {
    can('read', 'AuditEvent', ownOrganization);
  }

  // A token without the write scope can only read, whatever its user's role.
  if (!actor.scopes.includes('write')) {
    const writeActions = [...new Set(Object.values(actionsBySubject).flat())].filter(
      (action) => !readActions.includes(action),
    ) as Action[];
    cannot(writeActions, subjectTypes as unknown as SubjectType[]);
  }

  return build({ detectSubjectType: (object) => object.__caslSubjectType__ as SubjectType });
}
