import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { GenerationError, type GenerationModel } from '@synthgate/generation';
import { type BatchJob, Database } from '@synthgate/persistence';
import { PrivacyError } from '@synthgate/privacy';
import { BatchGenerator, HandBack } from './batch-generator';
import { BatchReaper } from './batch-reaper';
import { BatchTransactions } from './batch-transactions';
import { ModelPool } from './model-pool';
import { type ReleaseContext, ReleaseContextCache, ReleaseOverError } from './release-context';
import { isDatabaseUnavailable } from './worker-supervisor';

/** A failure reason fit for the release row: codes and fixed phrases only, never record text. */
function failureReason(error: unknown): string {
  if (error instanceof GenerationError) return `generation failed: ${error.code}`;
  // Raised on the release's own public parameters (its mechanism unknown to this worker, or refused by it).
  if (error instanceof PrivacyError) return `the release's mechanism cannot run: ${error.message}`;
  return 'the worker failed on a batch; see the worker logs';
}

/**
 * The queue loop of release batches (one job per batch). For each: claim the batch
 * (BatchTransactions, under the release's row lock), decode one synthetic example
 * (BatchGenerator, with the release's mechanism), and write the example in the same transaction
 * that marks the batch done. A killed worker loses only its batch in flight: the reaper
 * (BatchReaper) hands batches whose worker stopped beating back to the queue, and completion is
 * idempotent, so no batch is written twice.
 */
@Injectable()
export class ReleaseBatchProcessor {
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('Worker');
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopping = false;

  constructor(
    private readonly database: Database,
    private readonly models: ModelPool,
    private readonly contexts: ReleaseContextCache,
    private readonly generator: BatchGenerator,
    private readonly transactions: BatchTransactions,
    private readonly reaper: BatchReaper,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  private get queue() {
    const queue = this.database.queue;
    if (!queue) throw new Error('the worker has no job queue');
    return queue;
  }

  async start(): Promise<void> {
    await this.queue.work(this.config.worker.concurrency, 1, (job) => this.track(job));
    this.reaper.start();
  }

  /**
   * Graceful shutdown: take no new batch, let those in flight finish for up to the grace period,
   * then hand the rest back to the queue (another worker runs them; their randomness replays).
   */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.reaper.stop();
    await this.queue.stopWorking();
    const all = () => Promise.all([...this.inFlight.values()].map((entry) => entry.done));
    const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), this.config.worker.shutdownGraceSeconds * 1000).unref());
    if ((await Promise.race([all().then(() => 'done' as const), grace])) === 'timeout') {
      this.logger.log(`handing back ${this.inFlight.size} batch(es) still running after ${this.config.worker.shutdownGraceSeconds}s`);
      for (const entry of this.inFlight.values()) entry.abort.abort();
      await all();
    }
  }

  private async track(job: BatchJob): Promise<void> {
    const abort = new AbortController();
    const done = this.handle(job, abort.signal).catch((error: unknown) =>
      // With the database gone the batch is abandoned; its lease hands it back once it returns.
      isDatabaseUnavailable(error) ? this.logger.debug(`job ${job.id}: abandoned with the database`) : this.logger.error(`job ${job.id}: ${error instanceof Error ? error.stack : String(error)}`),
    );
    this.inFlight.set(job.id, { abort, done });
    try {
      await done;
    } finally {
      this.inFlight.delete(job.id);
    }
  }

  private async handle(job: BatchJob, signal: AbortSignal): Promise<void> {
    const { releaseId, batchIndex } = job.data;
    if (this.stopping) {
      await this.queue.handBack(job.id, 'worker stopping');
      return;
    }
    // From here on this worker owns the job and beats for it: if it dies at any point, the reaper
    // of another worker hands the batch back (even before it was claimed).
    await this.database.repositories.releases.assignBatch(releaseId, batchIndex, this.workerId, job.id, new Date());
    const heartbeat = setInterval(
      () => void this.database.repositories.releases.heartbeat(releaseId, batchIndex, this.workerId, new Date()).catch(() => undefined),
      this.config.worker.heartbeatSeconds * 1000,
    );
    try {
      await this.run(job, signal);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async run(job: BatchJob, signal: AbortSignal): Promise<void> {
    const { releaseId, batchIndex } = job.data;
    let context: ReleaseContext;
    let model: GenerationModel;
    try {
      context = await this.contexts.get(releaseId);
      model = await this.models.get(context.release.modelName);
      if (model.fingerprint !== context.release.modelFingerprint) {
        throw new GenerationError('MODEL_FORMAT_INVALID', 'the model changed since the release was created');
      }
    } catch (error) {
      if (error instanceof ReleaseOverError) {
        // Cancelled or finished while this job waited: nothing to run, and its secrets are gone.
        await this.queue.complete(job.id);
        return;
      }
      // Nothing was read yet: the release fails, refunded if no other batch read a record either.
      this.logger.error(`release ${releaseId}: cannot prepare: ${failureReason(error)}`);
      await this.transactions.failRelease(releaseId, error instanceof GenerationError && error.message.includes('changed') ? 'the model changed since the release was created' : failureReason(error));
      await this.queue.complete(job.id);
      return;
    }

    if (!(await this.transactions.claim(releaseId, batchIndex, this.workerId, job.id))) {
      // The release may be over (cancelled, failed): drop its secrets from memory too.
      this.contexts.forget(releaseId);
      await this.queue.complete(job.id);
      return;
    }
    try {
      const { text, tokens } = await this.generator.generate(context, model, batchIndex, signal);
      await this.transactions.complete(releaseId, batchIndex, text, tokens);
      await this.queue.complete(job.id);
    } catch (error) {
      if (error instanceof HandBack) {
        await this.transactions.releaseBatch(releaseId, batchIndex);
        await this.queue.handBack(job.id, 'handed back at shutdown');
        return;
      }
      const final = job.retryCount >= job.retryLimit;
      this.logger.error(`release ${releaseId} batch ${batchIndex} failed (attempt ${job.retryCount + 1} of ${job.retryLimit + 1}): ${failureReason(error)}`);
      if (final) {
        await this.transactions.failRelease(releaseId, failureReason(error));
        await this.transactions.releaseBatch(releaseId, batchIndex);
        await this.queue.complete(job.id);
      } else {
        await this.transactions.releaseBatch(releaseId, batchIndex);
        await this.queue.fail(job.id, failureReason(error));
      }
    }
  }
}
