import { type DataSource, type EntityManager } from 'typeorm';
import { AuditRepository } from './audit/audit.repository';
import { DatasetRepository } from './datasets/dataset.repository';
import { SensitiveRecordRepository } from './datasets/sensitive-record.repository';
import { ApiTokenRepository, OrganizationRepository, UserRepository } from './identity/identity.repository';
import { type BatchJobData, type EnqueueOptions, type ExhaustedBatch, type JobQueue } from './jobs/job-queue';
import { LedgerRepository } from './ledger/ledger.repository';
import { MetricsRepository } from './metrics/metrics.repository';
import { ReleaseRepository } from './releases/release.repository';

/** The repositories, all bound to one connection or transaction. */
export interface Repositories {
  readonly organizations: OrganizationRepository;
  readonly users: UserRepository;
  readonly apiTokens: ApiTokenRepository;
  readonly datasets: DatasetRepository;
  readonly records: SensitiveRecordRepository;
  readonly audit: AuditRepository;
  readonly locks: LockRepository;
  readonly releases: ReleaseRepository;
  readonly ledger: LedgerRepository;
  readonly jobs: JobRepository;
  readonly metrics: MetricsRepository;
}

/** Enqueues jobs in the transaction of its repositories (see JobQueue). */
export class JobRepository {
  constructor(
    private readonly manager: EntityManager,
    private readonly queue: () => JobQueue | null,
  ) {}

  private requireQueue(): JobQueue {
    const queue = this.queue();
    if (!queue) throw new Error('no job queue is attached to this database');
    return queue;
  }

  /** Batch jobs taken before `startedBefore` and still active (see JobQueue.activeJobsStartedBefore). */
  async activeBatchJobsStartedBefore(startedBefore: Date): Promise<{ id: string; data: BatchJobData }[]> {
    return this.requireQueue().activeJobsStartedBefore(this.manager, startedBefore);
  }

  /** Unfinished batches of live releases whose job has no attempt left (see JobQueue.exhaustedBatches). */
  async exhaustedBatches(): Promise<ExhaustedBatch[]> {
    return this.requireQueue().exhaustedBatches(this.manager);
  }

  async enqueueBatches(jobs: readonly BatchJobData[], options: EnqueueOptions): Promise<string[]> {
    return this.requireQueue().enqueueBatches(this.manager, jobs, options);
  }
}

/** Transaction-scoped PostgreSQL advisory locks. */
export class LockRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Blocks until the lock is held; it is released when the transaction ends. */
  async lock(key: number): Promise<void> {
    await this.manager.query('SELECT pg_advisory_xact_lock($1)', [key]);
  }
}

function repositoriesFor(manager: EntityManager, queue: () => JobQueue | null, ledgerKey: Buffer): Repositories {
  return {
    organizations: new OrganizationRepository(manager),
    users: new UserRepository(manager),
    apiTokens: new ApiTokenRepository(manager),
    datasets: new DatasetRepository(manager),
    records: new SensitiveRecordRepository(manager),
    audit: new AuditRepository(manager),
    locks: new LockRepository(manager),
    releases: new ReleaseRepository(manager),
    ledger: new LedgerRepository(manager, ledgerKey),
    jobs: new JobRepository(manager, queue),
    metrics: new MetricsRepository(manager),
  };
}

/**
 * The database as services see it: repositories outside a transaction, and `transaction()`
 * for work that must commit or roll back as one. No TypeORM type leaves this library.
 */
export class Database {
  readonly repositories: Repositories;
  private jobQueue: JobQueue | null = null;

  /** `ledgerKey`: the secret that keys the budget ledger's chain and anchor (ledger-key.ts). */
  constructor(
    private readonly dataSource: DataSource,
    private readonly ledgerKey: Buffer,
  ) {
    this.repositories = repositoriesFor(dataSource.manager, () => this.jobQueue, ledgerKey);
  }

  /** The job queue transactions enqueue into (started by the process that owns it). */
  attachQueue(queue: JobQueue): void {
    this.jobQueue = queue;
  }

  get queue(): JobQueue | null {
    return this.jobQueue;
  }

  /** Runs `work` in one transaction (READ COMMITTED unless told otherwise); rolls back on throw. */
  transaction<T>(work: (repositories: Repositories) => Promise<T>, isolation?: 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE'): Promise<T> {
    const run = (manager: EntityManager) => work(repositoriesFor(manager, () => this.jobQueue, this.ledgerKey));
    return isolation ? this.dataSource.transaction(isolation, run) : this.dataSource.transaction(run);
  }

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  async migrationsCurrent(): Promise<boolean> {
    return !(await this.dataSource.showMigrations());
  }

  async close(): Promise<void> {
    await this.jobQueue?.stop();
    this.jobQueue = null;
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
