import { type Action, actionsBySubject, defineAbilityFor, readActions, subject, type SubjectFields, type SubjectType, subjectTypes } from './ability';
import { type Actor, type Role } from './actor';
import { scopeFor } from './scope';

const OWN = '00000000-0000-4000-8000-00000000000a';
const OTHER = '00000000-0000-4000-8000-00000000000b';
const SELF_USER = '00000000-0000-4000-8000-0000000000c1';
const OTHER_USER = '00000000-0000-4000-8000-0000000000c2';

/** Instances probed for every rule: same organisation, another organisation, the caller itself, published to the caller. */
const probes: Record<'own' | 'other' | 'self' | 'published', SubjectFields> = {
  own: { id: OWN, organizationId: OWN, userId: OTHER_USER, publishedTo: [] },
  other: { id: OTHER, organizationId: OTHER, userId: OTHER_USER, publishedTo: [] },
  self: { id: SELF_USER, organizationId: OWN, userId: SELF_USER, publishedTo: [] },
  published: { id: 'published-thing', organizationId: OTHER, userId: OTHER_USER, publishedTo: [OTHER, OWN] },
};
type Probe = keyof typeof probes;

/** How far a grant reaches: which probes it allows. */
type Reach = 'all' | 'organization' | 'self' | 'ownOrganizationItself' | 'published';
const allowedProbes: Record<Reach, Probe[]> = {
  all: ['own', 'other', 'self', 'published'],
  organization: ['own', 'self'],
  self: ['self'],
  ownOrganizationItself: ['own'],
  published: ['published'],
};

/** The permission table, written out by hand: anything missing is denied. A diff here is a permission change. */
const table: Record<Role, Partial<Record<SubjectType, Partial<Record<Action, Reach>>>>> = {
  // The platform operator: organisations and their users, no data; a token for someone else is an audited `issue`.
  OPERATOR: {
    Organization: { read: 'all', create: 'all' },
    User: { read: 'all', create: 'all', update: 'all' },
    ApiToken: { read: 'all', create: 'self', revoke: 'all', issue: 'all' },
    AuditEvent: { read: 'organization' },
  },
  // An organisation's admin: its own organisation only.
  ADMIN: {
    Organization: { read: 'ownOrganizationItself' },
    User: { read: 'organization', create: 'organization', update: 'organization' },
    ApiToken: { read: 'organization', create: 'organization', revoke: 'organization' },
    Dataset: { read: 'organization' },
    AuditEvent: { read: 'organization' },
  },
  DATA_OWNER: {
    Organization: { read: 'all' },
    User: { read: 'self' },
    ApiToken: { read: 'self', create: 'self', revoke: 'self' },
    Dataset: { read: 'organization', create: 'organization', update: 'organization', archive: 'organization' },
    SensitiveRecord: { read: 'organization', import: 'organization' },
    Release: {
      plan: 'organization',
      create: 'organization',
      read: 'organization',
      cancel: 'organization',
      publish: 'organization',
      revoke: 'organization',
    },
    QualityReport: { read: 'organization' },
    SyntheticRecord: { read: 'organization', export: 'organization' },
    Budget: { read: 'organization' },
  },
  CONSUMER: {
    Organization: { read: 'ownOrganizationItself' },
    User: { read: 'self' },
    ApiToken: { read: 'self', create: 'self', revoke: 'self' },
    Release: { read: 'published' },
    SyntheticRecord: { read: 'published', export: 'published' },
  },
  COMPLIANCE: {
    Organization: { read: 'ownOrganizationItself' },
    User: { read: 'organization' },
    ApiToken: { read: 'self', create: 'self', revoke: 'self' },
    Dataset: { read: 'organization' },
    Release: { read: 'organization' },
    QualityReport: { read: 'organization' },
    Budget: { read: 'organization' },
    AuditEvent: { read: 'organization' },
  },
};

const roles: Role[] = ['OPERATOR', 'ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'];
const actorFor = (role: Role, scopes: Actor['scopes'] = ['read', 'write']): Actor => ({
  userId: SELF_USER,
  organizationId: OWN,
  role,
  tokenId: 'token',
  scopes,
});

const cases = roles.flatMap((role) =>
  subjectTypes.flatMap((type) =>
    (actionsBySubject[type] as readonly Action[]).flatMap((action) =>
      (Object.keys(probes) as Probe[]).map((probe) => {
        const reach = table[role][type]?.[action];
        return { role, type, action, probe, expected: reach !== undefined && allowedProbes[reach].includes(probe) };
      }),
    ),
  ),
);

describe('defineAbilityFor', () => {
  it.each(cases)('$role may $action $type ($probe): $expected', ({ role, type, action, probe, expected }) => {
    const ability = defineAbilityFor(actorFor(role));
    expect(ability.can(action, subject(type, probes[probe]))).toBe(expected);
  });

  it.each(roles)('%s: the type-level check passes exactly for the actions some instance allows', (role) => {
    const ability = defineAbilityFor(actorFor(role));
    for (const type of subjectTypes) {
      for (const action of actionsBySubject[type] as readonly Action[]) {
        expect({ type, action, can: ability.can(action, type) }).toEqual({
          type,
          action,
          can: table[role][type]?.[action] !== undefined,
        });
      }
    }
  });

  it.each(roles)('%s with a read-only token can do no write action', (role) => {
    const ability = defineAbilityFor(actorFor(role, ['read']));
    for (const type of subjectTypes) {
      for (const action of actionsBySubject[type] as readonly Action[]) {
        const reach = table[role][type]?.[action];
        const expected = reach !== undefined && readActions.includes(action);
        expect({ type, action, can: ability.can(action, type) }).toEqual({ type, action, can: expected });
      }
    }
  });

  it('never lets a consumer read a quality report, even of a release published to it', () => {
    const ability = defineAbilityFor(actorFor('CONSUMER'));
    expect(ability.can('read', subject('QualityReport', probes.published))).toBe(false);
    expect(ability.can('read', subject('Release', probes.published))).toBe(true);
  });

  it('never lets an organisation ADMIN reach another organisation, nor the OPERATOR read any organisation\'s data', () => {
    const admin = defineAbilityFor(actorFor('ADMIN'));
    for (const [action, type] of [['create', 'User'], ['update', 'User'], ['read', 'User'], ['create', 'ApiToken'], ['issue', 'ApiToken'], ['read', 'Organization']] as const) {
      expect({ action, type, can: admin.can(action, subject(type, probes.other)) }).toEqual({ action, type, can: false });
    }
    const operator = defineAbilityFor(actorFor('OPERATOR'));
    for (const type of ['Dataset', 'SensitiveRecord', 'Release', 'SyntheticRecord', 'QualityReport', 'Budget'] as const) {
      expect({ type, can: operator.can('read', type) }).toEqual({ type, can: false });
    }
    expect(operator.can('create', subject('ApiToken', probes.other))).toBe(false);
    expect(operator.can('issue', subject('ApiToken', probes.other))).toBe(true);
  });

  it('never lets anyone but a DATA_OWNER of the organisation read sensitive records', () => {
    for (const role of roles) {
      const ability = defineAbilityFor(actorFor(role));
      expect(ability.can('read', subject('SensitiveRecord', probes.other))).toBe(false);
      expect(ability.can('read', subject('SensitiveRecord', probes.own))).toBe(role === 'DATA_OWNER');
    }
  });
});

describe('scopeFor', () => {
  /** Evaluates a scope the way the repositories' SQL does: equality, or containment for arrays. */
  function inScope(scope: ReturnType<typeof scopeFor>, fields: SubjectFields): boolean {
    if (scope.kind === 'all') return true;
    if (scope.kind === 'none') return false;
    return scope.anyOf.some((condition) =>
      Object.entries(condition).every(([field, value]) => {
        const actual = (fields as Record<string, unknown>)[field];
        return Array.isArray(actual) ? actual.includes(value) : actual === value;
      }),
    );
  }

  const scopeCases = roles.flatMap((role) =>
    (['read', 'write'] as const).flatMap((tokenKind) =>
      subjectTypes.flatMap((type) => (actionsBySubject[type] as readonly Action[]).map((action) => ({ role, tokenKind, type, action }))),
    ),
  );

  it.each(scopeCases)('$role ($tokenKind token): scope of $action $type agrees with the ability', ({ role, tokenKind, type, action }) => {
    const ability = defineAbilityFor(actorFor(role, tokenKind === 'read' ? ['read'] : ['read', 'write']));
    const scope = scopeFor(ability, action, type);
    for (const probe of Object.values(probes)) {
      expect(inScope(scope, probe)).toBe(ability.can(action, subject(type, probe)));
    }
  });
});
