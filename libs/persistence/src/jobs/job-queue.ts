import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { type EntityManager } from 'typeorm';

/** The queue of release batches: one job per batch. */
export const BATCH_QUEUE = 'release-batch';

export interface BatchJobData {
  readonly releaseId: string;
  readonly batchIndex: number;
}

/** A job as a worker receives it. */
export interface BatchJob {
  readonly id: string;
  readonly data: BatchJobData;
  /** Attempts before this one. */
  readonly retryCount: number;
  readonly retryLimit: number;
}

/** A batch no worker will take again (see JobQueue.exhaustedBatches). */
export interface ExhaustedBatch {
  readonly releaseId: string;
  readonly batchIndex: number;
  /** Attempts made, the last one included. */
  readonly attempts: number;
  /** The last attempt's failure, as the worker or the queue recorded it. */
  readonly reason: string | null;
}

export interface JobQueueOptions {
  readonly url: string;
  /** Workers supervise (expire stuck jobs, archive old ones); the gateway only enqueues. */
  readonly supervise: boolean;
  readonly maintenanceIntervalSeconds?: number;
  readonly applicationName: string;
  readonly onError?: (error: Error) => void;
  /** Install or upgrade pg-boss's schema (the owner, at migration time); otherwise only check it. */
  readonly install?: boolean;
}

export interface EnqueueOptions {
  /** Longest a batch may run before pg-boss gives up on it (and retries it). */
  readonly expireInSeconds: number;
  readonly retryLimit: number;
}

/**
 * The PostgreSQL-backed job queue (pg-boss). Jobs are inserted through the caller's transaction,
 * so a release's debit, ledger entry and jobs commit together or not at all. No pg-boss type
 * leaves this file.
 */
export class JobQueue {
  private constructor(private readonly boss: PgBoss) {}

  static async start(options: JobQueueOptions): Promise<JobQueue> {
    const boss = new PgBoss({
      connectionString: options.url,
      max: 3,
      application_name: options.applicationName,
      supervise: options.supervise,
      schedule: false,
      migrate: options.install ?? false,
      ...(options.maintenanceIntervalSeconds ? { maintenanceIntervalSeconds: options.maintenanceIntervalSeconds } : {}),
    });
    boss.on('error', (error: Error) => options.onError?.(error));
    await boss.start();
    await boss.createQueue(BATCH_QUEUE, { name: BATCH_QUEUE, policy: 'standard' });
    return new JobQueue(boss);
  }

  /** Inserts one job per batch inside the transaction of `manager`; returns the job ids in order. */
  async enqueueBatches(manager: EntityManager, jobs: readonly BatchJobData[], options: EnqueueOptions): Promise<string[]> {
    const ids = jobs.map(() => randomUUID());
    if (jobs.length === 0) return ids;
    const db = {
      executeSql: async (text: string, values: unknown[]) => {
        const result: unknown = await manager.query(text, values);
        return { rows: Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as unknown[]) : (result as unknown[]) };
      },
    };
    for (let start = 0; start < jobs.length; start += 1000) {
      const chunk = jobs.slice(start, start + 1000).map((data, offset) => ({
        id: ids[start + offset],
        name: BATCH_QUEUE,
        data,
        retryLimit: options.retryLimit,
        retryDelay: 1,
        expireInSeconds: options.expireInSeconds,
      }));
      await this.boss.insert(chunk, { db });
    }
    return ids;
  }

  /**
   * Runs `handler` for batch jobs, `concurrency` at a time. The handler must settle its job itself
   * (`complete` or `fail`) and return normally: pg-boss's own settling is not awaited, and a
   * thrown error would count a second failure for a job the handler already failed.
   */
  async work(concurrency: number, pollingIntervalSeconds: number, handler: (job: BatchJob) => Promise<void>): Promise<void> {
    for (let i = 0; i < concurrency; i++) {
      let workerId = '';
      workerId = await this.boss.work<BatchJobData>(BATCH_QUEUE, { batchSize: 1, pollingIntervalSeconds, includeMetadata: true }, async (jobs) => {
        for (const job of jobs) {
          await handler({ id: job.id, data: job.data, retryCount: job.retryCount, retryLimit: job.retryLimit });
        }
        // pg-boss waits out the rest of its polling interval even after a job; with work queued,
        // fetch the next one at once (otherwise a worker runs at most one batch per interval).
        if (jobs.length > 0) this.boss.notifyWorker(workerId);
      });
    }
  }

  /** Stops taking new jobs; waits up to `timeoutSeconds` for jobs in flight. */
  async stopWorking(): Promise<void> {
    await this.boss.offWork(BATCH_QUEUE);
  }

  /** Marks a job done (idempotent: a job no longer active is left alone). */
  async complete(jobId: string): Promise<void> {
    await this.boss.complete(BATCH_QUEUE, jobId);
  }

  /**
   * Fails a job (its worker died, or generation failed): it is retried at once, counting one
   * attempt; with no attempt left it stays failed (see {@link exhaustedBatches}).
   */
  async fail(jobId: string, reason: string): Promise<void> {
    await this.boss.fail(BATCH_QUEUE, jobId, { reason });
  }

  /**
   * Hands a job back without counting an attempt (its worker is shutting down, nothing went
   * wrong): one more attempt is allowed first, then the job is failed and so retried at once.
   */
  async handBack(jobId: string, reason: string): Promise<void> {
    await this.boss.getDb().executeSql(`UPDATE pgboss.job SET retry_limit = retry_limit + 1 WHERE name = $1 AND id = $2 AND state = 'active'`, [BATCH_QUEUE, jobId]);
    await this.boss.fail(BATCH_QUEUE, jobId, { reason });
  }

  /**
   * Unfinished batches of queued or running releases whose job failed for good: every attempt
   * was used up by workers that died or ran past the batch timeout, so no worker will take the
   * batch again and its release must be failed.
   */
  async exhaustedBatches(manager: EntityManager): Promise<ExhaustedBatch[]> {
    return (await manager.query(
      `SELECT b.release_id AS "releaseId", b.batch_index AS "batchIndex", j.retry_count + 1 AS attempts,
              COALESCE(j.output->>'reason', j.output->'value'->>'message', j.output->>'message') AS reason
         FROM release r
         JOIN release_batch b ON b.release_id = r.id AND b.status <> 'DONE'
         JOIN pgboss.job j ON j.name = $1 AND j.id = b.job_id AND j.state = 'failed'
        WHERE r.status IN ('QUEUED', 'RUNNING')
        ORDER BY b.release_id, b.batch_index`,
      [BATCH_QUEUE],
    )) as ExhaustedBatch[];
  }

  /**
   * Batch jobs taken (active) before `startedBefore`. With the batches' heartbeats this finds a
   * job whose worker died between taking it and recording itself on the batch.
   */
  async activeJobsStartedBefore(manager: EntityManager, startedBefore: Date): Promise<{ id: string; data: BatchJobData }[]> {
    return (await manager.query(`SELECT id::text AS id, data FROM pgboss.job WHERE name = $1 AND state = 'active' AND started_on < $2`, [BATCH_QUEUE, startedBefore])) as {
      id: string;
      data: BatchJobData;
    }[];
  }

  async cancel(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length > 0) await this.boss.cancel(BATCH_QUEUE, [...jobIds]);
  }

  /** Jobs waiting to be taken (created or retry). */
  async queueSize(): Promise<number> {
    return this.boss.getQueueSize(BATCH_QUEUE);
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, close: true, wait: true });
  }
}
