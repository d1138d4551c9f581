import { type EntityManager, IsNull } from 'typeorm';
import { isUuid } from '../ids';
import { keysetPage, type Page, type PageRequest } from '../page';
import { isUniqueViolation, PersistenceError } from '../persistence.errors';
import { applyScope, type RowScope } from '../scope-sql';
import { ApiTokenEntity } from './api-token.entity';
import { OrganizationEntity } from './organization.entity';
import { type Role, type TokenScope } from './role';
import { UserEntity } from './user.entity';

/** Organisations. */
export class OrganizationRepository {
  constructor(private readonly manager: EntityManager) {}

  async create(name: string): Promise<OrganizationEntity> {
    try {
      return await this.manager.save(this.manager.create(OrganizationEntity, { name }));
    } catch (error) {
      if (isUniqueViolation(error)) throw new PersistenceError('CONFLICT', `name: an organisation named "${name}" exists already`);
      throw error;
    }
  }

  findById(id: string): Promise<OrganizationEntity | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.manager.findOne(OrganizationEntity, { where: { id } });
  }

  findByIds(ids: readonly string[]): Promise<OrganizationEntity[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return Promise.resolve([]);
    return this.manager.createQueryBuilder(OrganizationEntity, 'o').where('o.id IN (:...ids)', { ids: valid }).getMany();
  }

  list(scope: RowScope, page: PageRequest): Promise<Page<OrganizationEntity>> {
    const query = this.manager.createQueryBuilder(OrganizationEntity, 'o');
    applyScope(query, scope, { id: { column: 'o.id' } });
    return keysetPage(query, { time: 'o.created_at', id: 'o.id' }, page, (o) => [o.createdAt.toISOString(), o.id]);
  }

  async count(): Promise<number> {
    return this.manager.count(OrganizationEntity);
  }
}

export interface NewUser {
  readonly organizationId: string;
  readonly email: string;
  readonly displayName: string;
  readonly role: Role;
}

/** Users. */
export class UserRepository {
  constructor(private readonly manager: EntityManager) {}

  async create(user: NewUser): Promise<UserEntity> {
    try {
      return await this.manager.save(this.manager.create(UserEntity, { ...user, disabledAt: null }));
    } catch (error) {
      if (isUniqueViolation(error)) throw new PersistenceError('CONFLICT', `email: a user with email ${user.email} exists already`);
      throw error;
    }
  }

  findById(id: string): Promise<UserEntity | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.manager.findOne(UserEntity, { where: { id } });
  }

  findByIds(ids: readonly string[]): Promise<UserEntity[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return Promise.resolve([]);
    return this.manager.createQueryBuilder(UserEntity, 'u').where('u.id IN (:...ids)', { ids: valid }).getMany();
  }

  list(scope: RowScope, filter: { organizationId?: string | null }, page: PageRequest): Promise<Page<UserEntity>> {
    const query = this.manager.createQueryBuilder(UserEntity, 'u');
    applyScope(query, scope, { id: { column: 'u.id' }, organizationId: { column: 'u.organization_id' } });
    if (filter.organizationId) {
      if (isUuid(filter.organizationId)) query.andWhere('u.organization_id = :organizationId', { organizationId: filter.organizationId });
      else query.andWhere('false');
    }
    return keysetPage(query, { time: 'u.created_at', id: 'u.id' }, page, (u) => [u.createdAt.toISOString(), u.id]);
  }

  async update(id: string, changes: { role?: Role; displayName?: string; disabledAt?: Date | null }): Promise<void> {
    await this.manager.update(UserEntity, { id }, changes);
  }

  async count(): Promise<number> {
    return this.manager.count(UserEntity);
  }
}

export interface NewApiToken {
  readonly userId: string;
  readonly name: string;
  readonly prefix: string;
  readonly secretHash: Buffer;
  readonly scopes: TokenScope[];
  readonly expiresAt: Date;
  readonly createdBy: string | null;
}

/** An active token joined with its user, as authentication needs it. */
export interface TokenWithUser {
  readonly token: ApiTokenEntity;
  readonly user: UserEntity;
}

/** API tokens; only hashes are stored. */
export class ApiTokenRepository {
  constructor(private readonly manager: EntityManager) {}

  async create(token: NewApiToken): Promise<ApiTokenEntity> {
    const saved = await this.manager.save(this.manager.create(ApiTokenEntity, { ...token, revokedAt: null, lastUsedAt: null }));
    return saved;
  }

  /** The token with this secret hash, whatever its state (callers check expiry and revocation). */
  async findBySecretHash(secretHash: Buffer): Promise<TokenWithUser | null> {
    const token = await this.manager
      .createQueryBuilder(ApiTokenEntity, 't')
      .where('t.secret_hash = :secretHash', { secretHash })
      .getOne();
    if (!token) return null;
    const user = await this.manager.findOne(UserEntity, { where: { id: token.userId } });
    return user ? { token, user } : null;
  }

  findById(id: string): Promise<ApiTokenEntity | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.manager.findOne(ApiTokenEntity, { where: { id } });
  }

  list(scope: RowScope, filter: { userId?: string | null }, page: PageRequest): Promise<Page<ApiTokenEntity>> {
    const query = this.manager.createQueryBuilder(ApiTokenEntity, 't');
    applyScope(query, scope, {
      userId: { column: 't.user_id' },
      organizationId: { exists: (parameter) => `EXISTS (SELECT 1 FROM app_user owner WHERE owner.id = t.user_id AND owner.organization_id = :${parameter})` },
    });
    if (filter.userId) {
      if (isUuid(filter.userId)) query.andWhere('t.user_id = :userId', { userId: filter.userId });
      else query.andWhere('false');
    }
    return keysetPage(query, { time: 't.created_at', id: 't.id' }, page, (t) => [t.createdAt.toISOString(), t.id]);
  }

  /** Revokes a token once; returns false when it was revoked already. */
  async revoke(id: string, at: Date): Promise<boolean> {
    const result = await this.manager.update(ApiTokenEntity, { id, revokedAt: IsNull() }, { revokedAt: at });
    return (result.affected ?? 0) > 0;
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.manager.update(ApiTokenEntity, { id }, { lastUsedAt: at });
  }
}
