import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { fillPrompt, GenerationError, type GenerationModel, promptParts, type StepTrace } from '@synthgate/generation';
import { type BatchJob, Database, type ReleaseEntity, type Repositories } from '@synthgate/persistence';
import { batchRng } from '@synthgate/privacy';
import { type StructuredRecord } from '@synthgate/records';
import { ModelPool } from './model-pool';
import { type ReleaseContext, ReleaseContextCache, ReleaseOverError } from './release-context';
import { ReleaseQualityReporter } from './release-quality';
import { WorkerMetrics } from './worker-metrics';
import { structuredBatch } from './structured-batch';
import { isDatabaseUnavailable } from './worker-supervisor';

/** Thrown out of the decoding loop to hand a batch back (graceful shutdown). */
class HandBack extends Error {
  constructor() {
    super('batch handed back');
  }
}

/** An audit entry of the worker's own about a release (no user, no request). */
function auditRelease(repositories: Repositories, release: ReleaseEntity, action: string, outcome: 'SUCCESS' | 'FAILURE', details: Record<string, unknown>): Promise<void> {
  return repositories.audit.append({ organizationId: release.organizationId, actorUserId: null, actorTokenId: null, action, subjectType: 'Release', subjectId: release.id, outcome, requestId: null, details });
}

/**
 * A record's prompt, cut to the release's public bound on prompt tokens by shortening the record
 * text only: the template around it (the label part) stays whole, and the cut depends on this
 * record and public values alone.
 */
function recordPrompt(model: GenerationModel, template: string, text: string, label: string | null, maxPromptTokens: number): string {
  return model.fitPrompt({ ...promptParts(template, { label }), text }, maxPromptTokens);
}

/**
 * PostgreSQL text cannot hold NUL, which a model can emit through a byte-fallback token. Dropping
 * it is post-processing of the mechanism's output, so it costs no privacy.
 */
function storableText(text: string): string {
  return text.replaceAll('\u0000', '');
}

/** A failure reason fit for the release row: codes and fixed phrases only, never record text. */
function failureReason(error: unknown): string {
  if (error instanceof GenerationError) return `generation failed: ${error.code}`;
  return 'the worker failed on a batch; see the worker logs';
}

/**
 * Runs release batches from the queue (one job per batch). For each: claim the batch under the
 * release's row lock, read its records, decode one synthetic example with the private-prediction
 * engine, and write the example in the same transaction that marks the batch done. A killed worker
 * loses only its batch in flight: the reaper hands batches whose worker stopped beating back to the
 * queue, and completion is idempotent, so no batch is written twice.
 */
@Injectable()
export class ReleaseBatchProcessor {
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('Worker');
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private reaper: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(
    private readonly database: Database,
    private readonly models: ModelPool,
    private readonly contexts: ReleaseContextCache,
    private readonly metrics: WorkerMetrics,
    private readonly quality: ReleaseQualityReporter,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  private get queue() {
    const queue = this.database.queue;
    if (!queue) throw new Error('the worker has no job queue');
    return queue;
  }

  async start(): Promise<void> {
    await this.queue.work(this.config.worker.concurrency, 1, (job) => this.track(job));
    // A lost database is the supervisor's to report, once (worker-supervisor.ts).
    const reap = () => this.reap().catch((error: unknown) => (isDatabaseUnavailable(error) ? undefined : this.logger.warn(`reaper: ${String(error)}`)));
    this.reaper = setInterval(() => void reap(), this.config.worker.heartbeatSeconds * 1000);
    this.reaper.unref();
  }

  /**
   * Graceful shutdown: take no new batch, let those in flight finish for up to the grace period,
   * then hand the rest back to the queue (another worker runs them; their randomness replays).
   */
  async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.reaper) clearInterval(this.reaper);
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
      await this.failRelease(releaseId, error instanceof GenerationError && error.message.includes('changed') ? 'the model changed since the release was created' : failureReason(error));
      await this.queue.complete(job.id);
      return;
    }

    if (!(await this.claim(context.release, batchIndex, job.id))) {
      // The release may be over (cancelled, failed): drop its secrets from memory too.
      this.contexts.forget(releaseId);
      await this.queue.complete(job.id);
      return;
    }
    try {
      const { text, tokens, values } = await this.generate(context, model, batchIndex, signal);
      await this.complete(context.release, batchIndex, text, tokens, values);
      await this.queue.complete(job.id);
    } catch (error) {
      if (error instanceof HandBack) {
        await this.database.repositories.releases.releaseBatch(releaseId, batchIndex);
        await this.queue.handBack(job.id, 'handed back at shutdown');
        return;
      }
      const final = job.retryCount >= job.retryLimit;
      this.logger.error(`release ${releaseId} batch ${batchIndex} failed (attempt ${job.retryCount + 1} of ${job.retryLimit + 1}): ${failureReason(error)}`);
      if (final) {
        await this.failRelease(releaseId, failureReason(error));
        await this.database.repositories.releases.releaseBatch(releaseId, batchIndex);
        await this.queue.complete(job.id);
      } else {
        await this.database.repositories.releases.releaseBatch(releaseId, batchIndex);
        await this.queue.fail(job.id, failureReason(error));
      }
    }
  }

  /** Marks the batch running unless the release is over or the batch is done; false to skip it. */
  private async claim(release: ReleaseEntity, batchIndex: number, jobId: string): Promise<boolean> {
    return this.database.transaction(async (repositories) => {
      const current = await repositories.releases.lockForUpdate(release.id);
      if (!current || (current.status !== 'QUEUED' && current.status !== 'RUNNING')) {
        // The release ended (failed, cancelled) while this batch ran: its example is dropped, and
        // the batch is no longer running (nothing of an ended release is left in flight).
        if (current) await repositories.releases.releaseBatch(release.id, batchIndex);
        return false;
      }
      const batch = await repositories.releases.lockBatch(release.id, batchIndex);
      if (!batch || batch.status === 'DONE') return false;
      const now = new Date();
      await repositories.releases.markBatchRunning(release.id, batchIndex, this.workerId, jobId, now);
      if (current.status === 'QUEUED') {
        await repositories.releases.setStatus(release.id, 'RUNNING', { startedAt: now });
        await auditRelease(repositories, current, 'release.started', 'SUCCESS', { worker: this.workerId });
      }
      return true;
    });
  }

  private async generate(context: ReleaseContext, model: GenerationModel, batchIndex: number, signal: AbortSignal): Promise<{ text: string; tokens: number; values: StructuredRecord | null }> {
    const { release } = context;
    const parameters = release.parameters;
    const group = release.labelPlan.find((entry) => batchIndex >= entry.offset && batchIndex < entry.offset + entry.batches);
    const label = group?.label ?? null;
    const publicPrompt = fillPrompt(context.publicPromptTemplate, { label });
    // Deterministic per batch from the release's secret seed: a retry replays the same randomness.
    const rng = batchRng(release.randomSeed, batchIndex);
    const started = process.hrtime.bigint();
    // Public bounds only (DESIGN.md section 4): prompts are cut to maxPromptTokens and the engine plans
    // memory from it. Releases made before it existed use the model's context room, the old cut.
    const room = model.info.maxPositions - parameters.maxTokens;
    const maxPromptTokens = parameters.maxPromptTokens ?? (Number.isFinite(room) ? Math.max(1, room) : 1_000_000);
    let lastStep: bigint | null = null;
    const onStep = (trace: StepTrace): void => {
      if (signal.aborted) throw new HandBack();
      // Fleet-wide histogram only (like the token counts): never stored with the release.
      if (trace.drafterStatistic !== null) this.metrics.observeDrafterStatistic(trace.drafterStatistic);
      // Step latency for the fleet's histogram; the first interval holds the prefill, so it starts after it.
      const now = process.hrtime.bigint();
      if (lastStep !== null) this.metrics.observeStep(Number(now - lastStep) / 1e9);
      lastStep = now;
    };
    if (context.recordSchema !== null) {
      // A structured release: one record of the schema per batch, decoded under its constraint.
      const publicOnly = parameters.mode === 'PUBLIC_ONLY';
      const records = publicOnly ? [] : await this.database.repositories.records.texts(context.batches[batchIndex] ?? []);
      const batch = structuredBatch(model, context.recordSchema, context, records, label, { maxPromptTokens, maxTokens: parameters.maxTokens });
      const example = await model.generateExample({
        privatePrompts: batch.privatePrompts,
        publicPrompt: batch.publicPrompt,
        // A public-only release reads no record: with no private row every step is a public draw
        // (the sampler's non-private setting with zero rows), so its private settings are unused.
        params: publicOnly
          ? { clip: 1, expectedBatchSize: 1, temperature: 1, publicTemperature: parameters.publicTemperature, topK: parameters.topK, drafter: null, privateTokenCap: 1, maxNewTokens: batch.maxNewTokens, maxPromptTokens, nonPrivate: true }
          : {
              clip: parameters.clip,
              expectedBatchSize: parameters.batchSize,
              temperature: parameters.temperature,
              publicTemperature: parameters.publicTemperature,
              topK: parameters.topK,
              drafter: parameters.drafter,
              privateTokenCap: parameters.privateTokenCap,
              maxNewTokens: batch.maxNewTokens,
              maxPromptTokens,
              nonPrivate: parameters.mode === 'NON_PRIVATE_REFERENCE',
            },
        rng,
        mode: 'kv-cache',
        record: batch.record,
        onStep,
      });
      this.metrics.recordBatch(example.publicSteps, example.privateSteps, Number(process.hrtime.bigint() - started) / 1e9);
      // The record parses and satisfies the schema by construction (the constraint); it is stored
      // as canonical JSON and typed values.
      return { text: JSON.stringify(example.record), tokens: example.tokenIds.length, values: example.record };
    }
    if (parameters.mode === 'PUBLIC_ONLY') {
      const result = await model.generateText({
        prompt: publicPrompt,
        maxNewTokens: parameters.maxTokens,
        greedy: parameters.publicTemperature === 0,
        temperature: parameters.publicTemperature || 1,
        rng,
      });
      this.metrics.recordBatch(result.tokenIds.length, 0, Number(process.hrtime.bigint() - started) / 1e9);
      return { text: storableText(result.continuation), tokens: result.tokenIds.length, values: null };
    }
    const records = await this.database.repositories.records.texts(context.batches[batchIndex] ?? []);
    const example = await model.generateExample({
      privatePrompts: records.map((record) => recordPrompt(model, context.promptTemplate, record.text, record.label, maxPromptTokens)),
      publicPrompt,
      params: {
        clip: parameters.clip,
        expectedBatchSize: parameters.batchSize,
        temperature: parameters.temperature,
        publicTemperature: parameters.publicTemperature,
        topK: parameters.topK,
        drafter: parameters.drafter,
        privateTokenCap: parameters.privateTokenCap,
        maxNewTokens: parameters.maxTokens,
        maxPromptTokens,
        // Benchmark datasets only (the gateway and a database trigger refuse it elsewhere): the plain
        // mean of the raw logits, no clipping and no noise (libs/privacy's non-private reference).
        nonPrivate: parameters.mode === 'NON_PRIVATE_REFERENCE',
      },
      rng,
      mode: 'kv-cache',
      onStep,
    });
    // Private and public step counts go to aggregate metrics only: they are not covered by the
    // guarantee and are never stored with the release (DESIGN.md section 4).
    this.metrics.recordBatch(example.publicSteps, example.privateSteps, Number(process.hrtime.bigint() - started) / 1e9);
    return { text: storableText(example.text), tokens: example.tokenIds.length, values: null };
  }

  /** Writes the example and marks the batch done in one transaction; a batch already done is left alone. */
  private async complete(release: ReleaseEntity, batchIndex: number, text: string, tokens: number, values: StructuredRecord | null): Promise<void> {
    const finished = await this.database.transaction(async (repositories) => {
      const current = await repositories.releases.lockForUpdate(release.id);
      if (!current || (current.status !== 'QUEUED' && current.status !== 'RUNNING')) {
        // The release ended (failed, cancelled) while this batch ran: its example is dropped, and
        // the batch is no longer running (nothing of an ended release is left in flight).
        if (current) await repositories.releases.releaseBatch(release.id, batchIndex);
        return false;
      }
      const batch = await repositories.releases.lockBatch(release.id, batchIndex);
      if (!batch || batch.status === 'DONE') return false;
      const now = new Date();
      await repositories.releases.insertRecord({ releaseId: release.id, ordinal: batchIndex, text, label: batch.label, values });
      await repositories.releases.markBatchDone(release.id, batchIndex, tokens, now);
      const done = await repositories.releases.addProgress(release.id, tokens);
      if (done < current.batchCount) return false;
      // The quality report commits with the SUCCEEDED status: a succeeded release always has one,
      // and publishing checks its replay share against the dataset's threshold.
      await repositories.releases.setQualityReport(release.id, await this.qualityReport(repositories, current));
      await repositories.releases.setStatus(release.id, 'SUCCEEDED', { finishedAt: now });
      await auditRelease(repositories, current, 'release.finished', 'SUCCESS', { batches: current.batchCount });
      return true;
    });
    if (finished) {
      this.contexts.forget(release.id);
      this.logger.log(`release ${release.id} succeeded`);
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

  /**
   * Fails a release. Its cost stands unless no batch ever started (no record was read): only then
   * is it refunded, as a separate ledger entry (DESIGN.md section 4: no data-dependent refunds).
   */
  private async failRelease(releaseId: string, reason: string): Promise<void> {
    await this.database.transaction(async (repositories) => {
      const release = await repositories.releases.findById(releaseId);
      if (!release) return;
      const dataset = await repositories.datasets.lockForUpdate(release.datasetId);
      const current = await repositories.releases.lockForUpdate(releaseId);
      if (!dataset || !current || (current.status !== 'QUEUED' && current.status !== 'RUNNING')) return;
      const readRecords = await repositories.releases.anyBatchStarted(releaseId);
      await repositories.releases.setStatus(releaseId, 'FAILED', { failureReason: reason, finishedAt: new Date() });
      // A non-private reference was never debited (it has no ledger entry), so it has nothing to refund.
      const refunded = !readRecords && current.mode !== 'NON_PRIVATE_REFERENCE';
      if (refunded) await repositories.ledger.refundRelease({ dataset, release: current, actorUserId: null, reason: 'failed before any record was read' });
      await auditRelease(repositories, current, 'release.failed', 'FAILURE', { reason, refunded });
    });
    this.contexts.forget(releaseId);
  }

  /**
   * Hands back batches whose worker stopped beating (killed, or its machine lost): the batch
   * becomes pending and its job is failed, so the queue retries it at once, counting an attempt.
   * Fails the releases of batches with no attempt left.
   */
  private async reap(): Promise<void> {
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
      await this.failRelease(batch.releaseId, reason);
    }
  }
}
