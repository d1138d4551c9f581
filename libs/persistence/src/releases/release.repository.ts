import { type MechanismParameters } from '@synthgate/privacy';
import { type EntityManager, In, IsNull, Not } from 'typeorm';
import { isUuid } from '../ids';
import { keysetPage, type Page, type PageRequest } from '../page';
import { applyScope, type RowScope } from '../scope-sql';
import {
  type LabelPlanEntry,
  ReleaseBatchEntity,
  ReleaseEntity,
  type ReleaseMode,
  type ReleaseParameters,
  ReleasePublicationEntity,
  type ReleaseStatus,
  SyntheticRecordEntity,
} from './release.entity';

/** A release as the ledger's cross-check sees it. */
export interface LedgerReleaseView {
  readonly id: string;
  readonly status: ReleaseStatus;
  readonly mode: ReleaseMode;
  readonly rho: number;
  /** Whether any of its batches ever started (read sensitive records). */
  readonly readRecords: boolean;
}

export interface NewRelease {
  readonly datasetId: string;
  readonly organizationId: string;
  readonly mode: ReleaseMode;
  readonly mechanism: MechanismParameters;
  readonly parameters: ReleaseParameters;
  readonly cost: Record<string, unknown>;
  readonly rho: number;
  readonly epsilon: number;
  readonly delta: number;
  readonly conversion: 'tight' | 'closed';
  readonly modelName: string;
  readonly modelFingerprint: string;
  readonly modelFiles: { path: string; bytes: number; sha256: string }[];
  readonly labelPlan: LabelPlanEntry[];
  readonly recordCount: number;
  readonly maxRecordId: string;
  readonly batchCount: number;
  readonly partitionKey: Buffer;
  readonly randomSeed: Buffer;
  readonly createdBy: string;
}

export interface ReleaseFilter {
  readonly datasetId?: string | null;
  readonly status?: ReleaseStatus | null;
}

/** What a worker needs to run a batch, secrets included (never for API callers). */
export interface ReleaseWithSecrets extends ReleaseEntity {
  readonly partitionKey: Buffer;
  readonly randomSeed: Buffer;
}

const releaseScopeColumns = {
  id: { column: 'r.id' },
  organizationId: { column: 'r.organization_id' },
  publishedTo: {
    exists: (parameter: string) =>
      `EXISTS (SELECT 1 FROM release_publication p WHERE p.release_id = r.id AND p.organization_id = :${parameter} AND p.revoked_at IS NULL)`,
  },
};

/** Releases, their batches, publications and synthetic records. */
export class ReleaseRepository {
  constructor(private readonly manager: EntityManager) {}

  async create(release: NewRelease): Promise<ReleaseEntity> {
    const saved = await this.manager.save(
      this.manager.create(ReleaseEntity, { ...release, status: 'QUEUED', batchesDone: 0, tokensGenerated: '0', failureReason: null, qualityReport: null, startedAt: null, finishedAt: null }),
    );
    const fresh = await this.findById(saved.id);
    return fresh!;
  }

  findById(id: string): Promise<ReleaseEntity | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.manager.findOne(ReleaseEntity, { where: { id } });
  }

  /** Locks the release row until the transaction ends: claims, completions and cancels take it. */
  lockForUpdate(id: string): Promise<ReleaseEntity | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.manager.createQueryBuilder(ReleaseEntity, 'r').setLock('pessimistic_write').where('r.id = :id', { id }).getOne();
  }

  /**
   * The release with its partition key and random seed, for the worker; null when it does not
   * exist or is over (its secrets are erased when it reaches a final state).
   */
  async findWithSecrets(id: string): Promise<ReleaseWithSecrets | null> {
    if (!isUuid(id)) return null;
    const release = await this.manager.createQueryBuilder(ReleaseEntity, 'r').addSelect(['r.partitionKey', 'r.randomSeed']).where('r.id = :id', { id }).getOne();
    if (!release?.partitionKey || !release.randomSeed) return null;
    return release as ReleaseWithSecrets;
  }

  list(scope: RowScope, filter: ReleaseFilter, page: PageRequest): Promise<Page<ReleaseEntity>> {
    const query = this.manager.createQueryBuilder(ReleaseEntity, 'r');
    applyScope(query, scope, releaseScopeColumns);
    if (filter.datasetId) {
      if (isUuid(filter.datasetId)) query.andWhere('r.dataset_id = :datasetId', { datasetId: filter.datasetId });
      else query.andWhere('false');
    }
    if (filter.status) query.andWhere('r.status = :status', { status: filter.status });
    return keysetPage(query, { time: 'r.created_at', id: 'r.id', direction: 'DESC' }, page, (r) => [r.createdAt.toISOString(), r.id]);
  }

  async setStatus(id: string, status: ReleaseStatus, changes: { failureReason?: string | null; finishedAt?: Date | null; startedAt?: Date | null } = {}): Promise<void> {
    await this.manager.update(ReleaseEntity, { id }, { status, ...changes });
  }

  async setQualityReport(id: string, report: Record<string, unknown>): Promise<void> {
    await this.manager.query(`UPDATE release SET quality_report = $2::jsonb WHERE id = $1`, [id, JSON.stringify(report)]);
  }

  /** Counts a finished batch; returns the release's batches done afterwards. */
  async addProgress(id: string, tokens: number): Promise<number> {
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const [rows] = (await this.manager.query(
      `UPDATE release SET batches_done = batches_done + 1, tokens_generated = tokens_generated + $2 WHERE id = $1 RETURNING batches_done`,
      [id, tokens],
    )) as [{ batches_done: number }[], number];
    return rows[0]!.batches_done;
  }

  // --- batches

  async createBatches(releaseId: string, plan: readonly LabelPlanEntry[]): Promise<void> {
    const rows: { releaseId: string; batchIndex: number; label: string | null; status: 'PENDING'; attempts: number }[] = [];
    for (const group of plan) {
      for (let i = 0; i < group.batches; i++) rows.push({ releaseId, batchIndex: group.offset + i, label: group.label, status: 'PENDING', attempts: 0 });
    }
    for (let start = 0; start < rows.length; start += 1000) {
      await this.manager.insert(ReleaseBatchEntity, rows.slice(start, start + 1000));
    }
  }

  async setBatchJobs(releaseId: string, jobIds: readonly (string | null)[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.manager.query(
      `UPDATE release_batch b SET job_id = j.job_id::uuid
         FROM unnest($2::int[], $3::text[]) AS j(batch_index, job_id)
        WHERE b.release_id = $1 AND b.batch_index = j.batch_index`,
      [releaseId, jobIds.map((_, index) => index), jobIds],
    );
  }

  /** The batch as it is now (no lock), or null. */
  findBatch(releaseId: string, batchIndex: number): Promise<ReleaseBatchEntity | null> {
    if (!isUuid(releaseId) || !Number.isInteger(batchIndex)) return Promise.resolve(null);
    return this.manager.findOne(ReleaseBatchEntity, { where: { releaseId, batchIndex } });
  }

  lockBatch(releaseId: string, batchIndex: number): Promise<ReleaseBatchEntity | null> {
    return this.manager
      .createQueryBuilder(ReleaseBatchEntity, 'b')
      .setLock('pessimistic_write')
      .where('b.release_id = :releaseId AND b.batch_index = :batchIndex', { releaseId, batchIndex })
      .getOne();
  }

  async markBatchRunning(releaseId: string, batchIndex: number, workerId: string, jobId: string | null, at: Date): Promise<void> {
    await this.manager.query(
      `UPDATE release_batch
          SET status = 'RUNNING', worker_id = $3, job_id = COALESCE($4::uuid, job_id), attempts = attempts + 1,
              heartbeat_at = $5, started_at = COALESCE(started_at, $5)
        WHERE release_id = $1 AND batch_index = $2`,
      [releaseId, batchIndex, workerId, jobId, at],
    );
  }

  async markBatchDone(releaseId: string, batchIndex: number, tokens: number, at: Date): Promise<void> {
    await this.manager.update(ReleaseBatchEntity, { releaseId, batchIndex }, { status: 'DONE', finishedAt: at, tokens, heartbeatAt: at });
  }

  /**
   * A worker took the batch's job: it is the batch's owner from now on (and beats for it), even
   * before the batch is claimed, so a worker that dies at any point after fetching the job is noticed.
   */
  async assignBatch(releaseId: string, batchIndex: number, workerId: string, jobId: string, at: Date): Promise<void> {
    await this.manager.query(
      `UPDATE release_batch SET worker_id = $3, job_id = $4::uuid, heartbeat_at = $5
        WHERE release_id = $1 AND batch_index = $2 AND status <> 'DONE'`,
      [releaseId, batchIndex, workerId, jobId, at],
    );
  }

  /** A batch given back (graceful shutdown, a failed attempt, or a dead worker) becomes claimable again. */
  async releaseBatch(releaseId: string, batchIndex: number): Promise<void> {
    await this.manager.query(`UPDATE release_batch SET status = 'PENDING', worker_id = NULL WHERE release_id = $1 AND batch_index = $2 AND status <> 'DONE'`, [
      releaseId,
      batchIndex,
    ]);
  }

  async heartbeat(releaseId: string, batchIndex: number, workerId: string, at: Date): Promise<void> {
    await this.manager.query(`UPDATE release_batch SET heartbeat_at = $4 WHERE release_id = $1 AND batch_index = $2 AND worker_id = $3 AND status <> 'DONE'`, [
      releaseId,
      batchIndex,
      workerId,
      at,
    ]);
  }

  /** Batches of live releases whose owning worker stopped beating before `olderThan`. */
  staleBatches(olderThan: Date): Promise<ReleaseBatchEntity[]> {
    return this.manager
      .createQueryBuilder(ReleaseBatchEntity, 'b')
      .innerJoin(ReleaseEntity, 'r', 'r.id = b.release_id')
      .where(`b.status <> 'DONE' AND b.worker_id IS NOT NULL AND b.heartbeat_at < :olderThan AND r.status IN ('QUEUED', 'RUNNING')`, { olderThan })
      .getMany();
  }

  /** Whether any batch of the release has ever started, i.e. read sensitive records. */
  async anyBatchStarted(releaseId: string): Promise<boolean> {
    const count = await this.manager.count(ReleaseBatchEntity, { where: { releaseId, startedAt: Not(IsNull()) } });
    return count > 0;
  }

  /**
   * What the ledger's cross-check needs of each release of a dataset (LedgerReleaseView): the
   * ledger must hold one debit per charged release and a refund only for a refundable one.
   */
  async ledgerViews(datasetId: string): Promise<LedgerReleaseView[]> {
    if (!isUuid(datasetId)) return [];
    return (await this.manager.query(
      `SELECT r.id, r.status, r.mode, r.rho,
              EXISTS (SELECT 1 FROM release_batch b WHERE b.release_id = r.id AND b.started_at IS NOT NULL) AS "readRecords"
         FROM release r WHERE r.dataset_id = $1`,
      [datasetId],
    )) as LedgerReleaseView[];
  }

  /**
   * NON_PRIVATE_REFERENCE releases of a dataset that read, or will read, its records: all but
   * those cancelled or failed before any batch started.
   */
  async countNonPrivate(datasetId: string): Promise<number> {
    const rows = (await this.manager.query(
      `SELECT count(*)::int AS count FROM release r
        WHERE r.dataset_id = $1 AND r.mode = 'NON_PRIVATE_REFERENCE'
          AND (r.status IN ('QUEUED', 'RUNNING', 'SUCCEEDED') OR EXISTS (SELECT 1 FROM release_batch b WHERE b.release_id = r.id AND b.started_at IS NOT NULL))`,
      [datasetId],
    )) as { count: number }[];
    return rows[0]!.count;
  }

  batches(releaseId: string): Promise<ReleaseBatchEntity[]> {
    return this.manager.find(ReleaseBatchEntity, { where: { releaseId }, order: { batchIndex: 'ASC' } });
  }

  // --- synthetic records

  async insertRecord(record: { releaseId: string; ordinal: number; text: string; label: string | null }): Promise<void> {
    await this.manager.insert(SyntheticRecordEntity, record);
  }

  records(releaseId: string, filter: { label?: string | null }, page: PageRequest): Promise<Page<SyntheticRecordEntity>> {
    const query = this.manager.createQueryBuilder(SyntheticRecordEntity, 's').where('s.release_id = :releaseId', { releaseId });
    if (filter.label !== undefined && filter.label !== null) query.andWhere('s.label = :label', { label: filter.label });
    return keysetPage(query, { id: 's.ordinal' }, page, (s) => [s.ordinal]);
  }

  allRecords(releaseId: string): Promise<SyntheticRecordEntity[]> {
    return this.manager.find(SyntheticRecordEntity, { where: { releaseId }, order: { ordinal: 'ASC' } });
  }

  async recordCountsByLabel(releaseId: string): Promise<{ label: string | null; count: number }[]> {
    const rows = (await this.manager.query(
      `SELECT label, count(*)::int AS count FROM synthetic_record WHERE release_id = $1 GROUP BY label ORDER BY label NULLS FIRST`,
      [releaseId],
    )) as { label: string | null; count: number }[];
    return rows;
  }

  // --- publications

  /** Organisations a release is published to now. */
  async publishedTo(releaseId: string): Promise<string[]> {
    const rows = await this.manager.find(ReleasePublicationEntity, { where: { releaseId, revokedAt: IsNull() }, order: { id: 'ASC' } });
    return rows.map((row) => row.organizationId);
  }

  async publishedToMany(releaseIds: readonly string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>(releaseIds.map((id) => [id, []]));
    if (releaseIds.length === 0) return result;
    const rows = await this.manager.find(ReleasePublicationEntity, { where: { releaseId: In([...releaseIds]), revokedAt: IsNull() }, order: { id: 'ASC' } });
    for (const row of rows) result.get(row.releaseId)?.push(row.organizationId);
    return result;
  }

  /** Publishes to each organisation not already published to; returns those newly added. */
  async publish(releaseId: string, organizationIds: readonly string[], actorUserId: string): Promise<string[]> {
    const current = new Set(await this.publishedTo(releaseId));
    const added = [...new Set(organizationIds)].filter((id) => !current.has(id));
    for (const organizationId of added) {
      await this.manager.insert(ReleasePublicationEntity, { releaseId, organizationId, publishedBy: actorUserId, revokedAt: null, revokedBy: null });
    }
    return added;
  }

  /** Ends the publication to each organisation; returns those that were published. */
  async revoke(releaseId: string, organizationIds: readonly string[], actorUserId: string): Promise<string[]> {
    const revoked: string[] = [];
    for (const organizationId of new Set(organizationIds)) {
      const result = await this.manager.update(
        ReleasePublicationEntity,
        { releaseId, organizationId, revokedAt: IsNull() },
        { revokedAt: new Date(), revokedBy: actorUserId },
      );
      if ((result.affected ?? 0) > 0) revoked.push(organizationId);
    }
    return revoked;
  }
}

