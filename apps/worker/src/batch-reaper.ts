import { Inject, Injectable, Logger } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { Database } from '@synthgate/persistence';
import { BatchTransactions } from './batch-transactions';
import { isDatabaseUnavailable } from './worker-supervisor';

/**
 * Hands back batches whose worker stopped beating (killed, or its machine lost): the batch becomes
 * pending and its job is failed, so the queue retries it at once, counting an attempt. Fails the
 * releases of batches with no attempt left. Every worker runs one, every heartbeat interval.
 */
@Injectable()
export class BatchReaper {
  private readonly logger = new Logger('Worker');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly database: Database,
    private readonly transactions: BatchTransactions,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  private get queue() {
    const queue = this.database.queue;
    if (!queue) throw new Error('the worker has no job queue');
    return queue;
  }

  start(): void {
    // A lost database is the supervisor's to report, once (worker-supervisor.ts).
    const reap = () => this.reap().catch((error: unknown) => (isDatabaseUnavailable(error) ? undefined : this.logger.warn(`reaper: ${String(error)}`)));
    this.timer = setInterval(() => void reap(), this.config.worker.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass (see the class comment). */
  async reap(): Promise<void> {
    const leaseStart = new Date(Date.now() - this.config.worker.leaseSeconds * 1000);
    // A worker that died between taking a job and recording itself on the batch left an active job
    // on a batch nobody owns: hand the job back too.
    for (const job of await this.database.repositories.jobs.activeBatchJobsStartedBefore(leaseStart)) {
      const batch = await this.database.repositories.releases.findBatch(job.data.releaseId, job.data.batchIndex);
      if (batch?.status === 'DONE') {
        await this.queue.complete(job.id); // its worker died between committing the batch and settling the job
      } else if (batch && batch.workerId === null) {
        this.logger.warn(`release ${job.data.releaseId} batch ${job.data.batchIndex}: its job was taken by a worker that never recorded itself; handing it back`);
        await this.queue.fail(job.id, 'taken by a worker that went silent');
      }
    }
    const stale = await this.database.repositories.releases.staleBatches(leaseStart);
    for (const batch of stale) {
      const handedBack = await this.database.transaction(async (repositories) => {
        const locked = await repositories.releases.lockBatch(batch.releaseId, batch.batchIndex);
        if (!locked || locked.status === 'DONE' || !locked.workerId || !locked.heartbeatAt || locked.heartbeatAt.getTime() > Date.now() - this.config.worker.leaseSeconds * 1000) {
          return null;
        }
        await repositories.releases.releaseBatch(batch.releaseId, batch.batchIndex);
        return locked.jobId;
      });
      if (handedBack) {
        this.logger.warn(`release ${batch.releaseId} batch ${batch.batchIndex}: worker ${batch.workerId} went silent; handing the batch back`);
        await this.queue.fail(handedBack, 'worker went silent');
      }
    }
    // A batch whose every attempt died with its worker (or ran past the batch timeout) will never
    // be taken again: its release fails rather than waiting forever.
    for (const batch of await this.database.repositories.jobs.exhaustedBatches()) {
      const reason = `batch ${batch.batchIndex} failed ${batch.attempts} time${batch.attempts === 1 ? '' : 's'}, the last time: ${batch.reason ?? 'no reason recorded'}`;
      this.logger.error(`release ${batch.releaseId}: ${reason}`);
      await this.transactions.failRelease(batch.releaseId, reason);
    }
  }
}
