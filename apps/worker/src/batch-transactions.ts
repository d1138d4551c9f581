import { Inject, Injectable, Logger } from '@nestjs/common';
import { Database, type ReleaseEntity, type Repositories } from '@synthgate/persistence';
import { type MechanismRegistry } from '@synthgate/privacy';
import { MECHANISM_REGISTRY } from './mechanisms';
import { ReleaseContextCache } from './release-context';
import { ReleaseQualityReporter } from './release-quality';

/** An audit entry of the worker's own about a release (no user, no request). */
function auditRelease(repositories: Repositories, release: ReleaseEntity, action: string, outcome: 'SUCCESS' | 'FAILURE', details: Record<string, unknown>): Promise<void> {
  return repositories.audit.append({ organizationId: release.organizationId, actorUserId: null, actorTokenId: null, action, subjectType: 'Release', subjectId: release.id, outcome, requestId: null, details });
}

/**
 * The shared lock guard of a batch's transactions: locks the release row, then the batch row, and
 * answers null when the batch must not be touched: the release ended (failed, cancelled; its batch
 * is then marked not running, since nothing of an ended release is left in flight) or the batch is
 * done already (completion is idempotent, so no batch is written twice).
 */
async function lockLiveBatch(repositories: Repositories, releaseId: string, batchIndex: number): Promise<{ release: ReleaseEntity; label: string | null } | null> {
  const release = await repositories.releases.lockForUpdate(releaseId);
  if (!release || (release.status !== 'QUEUED' && release.status !== 'RUNNING')) {
    if (release) await repositories.releases.releaseBatch(releaseId, batchIndex);
    return null;
  }
  const batch = await repositories.releases.lockBatch(releaseId, batchIndex);
  if (!batch || batch.status === 'DONE') return null;
  return { release, label: batch.label };
}

/**
 * Every transaction the worker runs on a release's batches: claim, complete, and fail (with the
 * release's settlement). Each takes the release's row lock through one guard, so a batch of an
 * ended release is never claimed or written.
 */
@Injectable()
export class BatchTransactions {
  private readonly logger = new Logger('Worker');

  constructor(
    private readonly database: Database,
    private readonly contexts: ReleaseContextCache,
    private readonly quality: ReleaseQualityReporter,
    @Inject(MECHANISM_REGISTRY) private readonly mechanisms: MechanismRegistry,
  ) {}

  /** Marks the batch running unless the release is over or the batch is done; false to skip it. */
  async claim(releaseId: string, batchIndex: number, workerId: string, jobId: string): Promise<boolean> {
    return this.database.transaction(async (repositories) => {
      const live = await lockLiveBatch(repositories, releaseId, batchIndex);
      if (!live) return false;
      const now = new Date();
      await repositories.releases.markBatchRunning(releaseId, batchIndex, workerId, jobId, now);
      if (live.release.status === 'QUEUED') {
        await repositories.releases.setStatus(releaseId, 'RUNNING', { startedAt: now });
        await auditRelease(repositories, live.release, 'release.started', 'SUCCESS', { worker: workerId });
      }
      return true;
    });
  }

  /** Writes the example and marks the batch done in one transaction; a batch already done is left alone. */
  async complete(releaseId: string, batchIndex: number, text: string, tokens: number): Promise<void> {
    const finished = await this.database.transaction(async (repositories) => {
      const live = await lockLiveBatch(repositories, releaseId, batchIndex);
      if (!live) return false;
      const { release } = live;
      const now = new Date();
      await repositories.releases.insertRecord({ releaseId, ordinal: batchIndex, text, label: live.label });
      await repositories.releases.markBatchDone(releaseId, batchIndex, tokens, now);
      const done = await repositories.releases.addProgress(releaseId, tokens);
      if (done < release.batchCount) return false;
      // The quality report commits with the SUCCEEDED status: a succeeded release always has one,
      // and publishing checks its replay share against the dataset's threshold.
      await repositories.releases.setQualityReport(releaseId, await this.qualityReport(repositories, release));
      await repositories.releases.setStatus(releaseId, 'SUCCEEDED', { finishedAt: now });
      await auditRelease(repositories, release, 'release.finished', 'SUCCESS', { batches: release.batchCount });
      return true;
    });
    if (finished) {
      this.contexts.forget(releaseId);
      this.logger.log(`release ${releaseId} succeeded`);
    }
  }

  /** Hands a batch back (not running, its worker cleared), e.g. before its job is retried. */
  releaseBatch(releaseId: string, batchIndex: number): Promise<void> {
    return this.database.repositories.releases.releaseBatch(releaseId, batchIndex);
  }

  /**
   * Fails a release and settles it by the ledger's one rule (`LedgerRepository.settleRelease`): its
   * cost stands unless it was charged and no batch ever started (no record was read); only then is
   * it refunded, as a separate ledger entry (DESIGN.md section 4: no data-dependent refunds).
   */
  async failRelease(releaseId: string, reason: string): Promise<void> {
    await this.database.transaction(async (repositories) => {
      const release = await repositories.releases.findById(releaseId);
      if (!release) return;
      const dataset = await repositories.datasets.lockForUpdate(release.datasetId);
      const current = await repositories.releases.lockForUpdate(releaseId);
      if (!dataset || !current || (current.status !== 'QUEUED' && current.status !== 'RUNNING')) return;
      const readRecords = await repositories.releases.anyBatchStarted(releaseId);
      await repositories.releases.setStatus(releaseId, 'FAILED', { failureReason: reason, finishedAt: new Date() });
      const refunded = await repositories.ledger.settleRelease({
        dataset,
        release: current,
        charged: this.chargedMechanism(current),
        readRecords,
        actorUserId: null,
        reason: 'failed before any record was read',
      });
      await auditRelease(repositories, current, 'release.failed', 'FAILURE', { reason, refunded });
    });
    this.contexts.forget(releaseId);
  }

  /**
   * Whether the release's mechanism is charged (debited at creation). An unknown mechanism (not in
   * this worker's registry) counts as charged: its debit, if any, is then refundable by the rule.
   */
  private chargedMechanism(release: ReleaseEntity): boolean {
    try {
      return this.mechanisms.of(release.mechanism).charged;
    } catch {
      return true;
    }
  }

  /**
   * The release's quality report, or a stub saying it could not be computed (publishing then needs
   * an override). A database error leaves the transaction aborted, so the completion fails and the
   * batch is retried; only the error's name is logged (messages could quote data).
   */
  private async qualityReport(repositories: Repositories, release: ReleaseEntity): Promise<Record<string, unknown>> {
    try {
      return await this.quality.compute(repositories, release);
    } catch (error) {
      this.logger.error(`release ${release.id}: the quality report could not be computed (${error instanceof Error ? error.name : 'unknown error'})`);
      return { error: 'the quality report could not be computed; see the worker logs', computedAt: new Date().toISOString() };
    }
  }
}
