import { Injectable } from '@nestjs/common';
import { AccessError, type Actor, defineAbilityFor, scopeFor, subject } from '@synthgate/access';
import { Database, type Page, type PageRequest, type Role, type UserEntity } from '@synthgate/persistence';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../gateway.errors';

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface CreateUser {
  readonly organizationId: string;
  readonly email: string;
  readonly displayName?: string | null;
  readonly role: Role;
}

export interface UpdateUser {
  readonly id: string;
  readonly role?: Role | null;
  readonly displayName?: string | null;
  readonly disabled?: boolean | null;
}

/** Only a platform operator makes platform operators: an organisation's ADMIN cannot promote anyone out of its organisation's reach. */
function assignableRole(actor: Actor, role: Role, field: string): void {
  if (role === 'OPERATOR' && actor.role !== 'OPERATOR') throw DomainError.badInput(field, 'only a platform operator may grant the OPERATOR role');
}

/** Users: the platform operator and organisation admins create and change them; everyone reads what the permission table allows. */
@Injectable()
export class UserService {
  constructor(
    private readonly database: Database,
    private readonly audit: AuditService,
  ) {}

  async me(actor: Actor): Promise<UserEntity> {
    const user = await this.database.repositories.users.findById(actor.userId);
    if (!user) throw AccessError.unauthenticated();
    return user;
  }

  async get(actor: Actor, id: string): Promise<UserEntity> {
    const user = await this.database.repositories.users.findById(id);
    if (!user || !defineAbilityFor(actor).can('read', subject('User', { id: user.id, organizationId: user.organizationId }))) {
      throw AccessError.notFound('user', id);
    }
    return user;
  }

  list(actor: Actor, organizationId: string | null, page: PageRequest): Promise<Page<UserEntity>> {
    return this.database.repositories.users.list(scopeFor(defineAbilityFor(actor), 'read', 'User'), { organizationId }, page);
  }

  async create(actor: Actor, input: CreateUser): Promise<UserEntity> {
    const email = input.email.trim().toLowerCase();
    if (!emailPattern.test(email) || email.length > 320) throw DomainError.badInput('input.email', 'must be an email address');
    const displayName = (input.displayName ?? email.split('@')[0] ?? email).trim();
    if (displayName.length < 1 || displayName.length > 200) throw DomainError.badInput('input.displayName', 'must be 1 to 200 characters');
    assignableRole(actor, input.role, 'input.role');
    return this.database.transaction(async (repositories) => {
      const organization = await repositories.organizations.findById(input.organizationId);
      // An organisation's ADMIN creates users in its own organisation only; another one does not exist for it.
      if (!organization || !defineAbilityFor(actor).can('create', subject('User', { organizationId: organization.id }))) {
        throw DomainError.notFound('organization', input.organizationId);
      }
      const user = await repositories.users.create({ organizationId: organization.id, email, displayName, role: input.role });
      await this.audit.record(
        actor,
        {
          action: 'user.create',
          outcome: 'SUCCESS',
          subjectType: 'User',
          subjectId: user.id,
          organizationId: organization.id,
          details: { role: user.role },
        },
        repositories,
      );
      return user;
    });
  }

  async update(actor: Actor, input: UpdateUser): Promise<UserEntity> {
    if (input.id === actor.userId && ((input.role && input.role !== actor.role) || input.disabled)) {
      throw DomainError.badInput('input.id', 'you cannot change your own role or disable yourself');
    }
    if (input.role) assignableRole(actor, input.role, 'input.role');
    if (input.displayName !== undefined && input.displayName !== null) {
      const length = input.displayName.trim().length;
      if (length < 1 || length > 200) throw DomainError.badInput('input.displayName', 'must be 1 to 200 characters');
    }
    return this.database.transaction(async (repositories) => {
      const user = await repositories.users.findById(input.id);
      if (!user || !defineAbilityFor(actor).can('update', subject('User', { id: user.id, organizationId: user.organizationId }))) {
        throw AccessError.notFound('user', input.id);
      }
      if (user.role === 'OPERATOR' && actor.role !== 'OPERATOR') throw AccessError.forbidden('only a platform operator may change a platform operator');
      const changes: { role?: Role; displayName?: string; disabledAt?: Date | null } = {};
      if (input.role) changes.role = input.role;
      if (input.displayName) changes.displayName = input.displayName.trim();
      if (input.disabled !== undefined && input.disabled !== null) changes.disabledAt = input.disabled ? (user.disabledAt ?? new Date()) : null;
      await repositories.users.update(user.id, changes);
      await this.audit.record(
        actor,
        {
          action: 'user.update',
          outcome: 'SUCCESS',
          subjectType: 'User',
          subjectId: user.id,
          organizationId: user.organizationId,
          details: { role: changes.role ?? null, disabled: input.disabled ?? null },
        },
        repositories,
      );
      return { ...user, ...changes };
    });
  }
}
