import { type DataSource, type EntityManager } from 'typeorm';
import { AuditRepository } from './audit/audit.repository';
import { DatasetRepository } from './datasets/dataset.repository';
import { SensitiveRecordRepository } from './datasets/sensitive-record.repository';
import { ApiTokenRepository, OrganizationRepository, UserRepository } from './identity/identity.repository';

/** The repositories, all bound to one connection or transaction. */
export interface Repositories {
  readonly organizations: OrganizationRepository;
  readonly users: UserRepository;
  readonly apiTokens: ApiTokenRepository;
  readonly datasets: DatasetRepository;
  readonly records: SensitiveRecordRepository;
  readonly audit: AuditRepository;
  readonly locks: LockRepository;
}

/** Transaction-scoped PostgreSQL advisory locks. */
export class LockRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Blocks until the lock is held; it is released when the transaction ends. */
  async lock(key: number): Promise<void> {
    await this.manager.query('SELECT pg_advisory_xact_lock($1)', [key]);
  }
}

function repositoriesFor(manager: EntityManager): Repositories {
  return {
    organizations: new OrganizationRepository(manager),
    users: new UserRepository(manager),
    apiTokens: new ApiTokenRepository(manager),
    datasets: new DatasetRepository(manager),
    records: new SensitiveRecordRepository(manager),
    audit: new AuditRepository(manager),
    locks: new LockRepository(manager),
  };
}

/**
 * The database as services see it: repositories outside a transaction, and `transaction()`
 * for work that must commit or roll back as one. No TypeORM type leaves this library.
 */
export class Database {
  readonly repositories: Repositories;

  constructor(private readonly dataSource: DataSource) {
    this.repositories = repositoriesFor(dataSource.manager);
  }

  /** Runs `work` in one transaction (READ COMMITTED unless told otherwise); rolls back on throw. */
  transaction<T>(work: (repositories: Repositories) => Promise<T>, isolation?: 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE'): Promise<T> {
    const run = (manager: EntityManager) => work(repositoriesFor(manager));
    return isolation ? this.dataSource.transaction(isolation, run) : this.dataSource.transaction(run);
  }

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  async migrationsCurrent(): Promise<boolean> {
    return !(await this.dataSource.showMigrations());
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
