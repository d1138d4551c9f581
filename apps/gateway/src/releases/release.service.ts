import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AccessError, type Action, type Actor, defineAbilityFor, scopeFor, subject } from '@synthgate/access';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import {
  Database,
  type DatasetEntity,
  type LabelPlanEntry,
  type Page,
  type PageRequest,
  type ReleaseEntity,
  type ReleaseFilter,
  type Repositories,
  type SyntheticRecordEntity,
} from '@synthgate/persistence';
import { admitRelease, CryptoRng, type MechanismParameters, mechanismRegistry, noisyCounts } from '@synthgate/privacy';
import { checkReplay } from '@synthgate/quality';
import { AuditService } from '../audit/audit.service';
import { LedgerGuard } from '../budgets/ledger-guard';
import { DomainError } from '../gateway.errors';
import { ModelCatalogService, type ModelDescription } from './model-catalog.service';
import { type ClusteredBatching, clusteredLabelPlan, type LabelTotals } from './release-clustering';
import { type AnyReleaseCost, floatingPointRefusal, priceRelease } from './release-cost';
import { type ReleaseFit, releaseFit } from './release-fit';
import {
  allocateDeclared,
  allocateFromNoisyCounts,
  type ReleaseParameters,
  type ReleaseRequestInput,
  maxDpCountBatches,
  releaseParametersOf,
  totalBatches,
  validateReleaseRequest,
  type ValidatedRequest,
  withOffsets,
} from './release-request';

/** The dry run of a release (see ReleasePlan in release.types.ts). */
export interface ReleasePlanResult {
  readonly mechanism: MechanismParameters;
  readonly parameters: ReleaseParameters;
  readonly cost: AnyReleaseCost;
  readonly epsilonBefore: number;
  readonly epsilonAfter: number;
  readonly remainingEpsilon: number;
  readonly admitted: boolean;
  readonly refusal: string | null;
  readonly labelPlan: readonly { label: string | null; batches: number | null }[];
  readonly batches: number | null;
  /** `batches`, or the public cap of a DP label count ({@link maxDpCountBatches}). */
  readonly maxBatches: number;
  /** `batches`, or for a DP label count the public floor(N/s) the counts are expected to give. */
  readonly expectedBatches: number;
  readonly estimatedPromptTokens: number;
  readonly kvCacheBytesPerBatch: number;
  readonly kvCacheLimitBytes: number;
  /** Whether the weights and the concurrent batches' caches fit a worker (release-fit.ts). */
  readonly fit: ReleaseFit;
}

/** The public cap on a DP label count's batches (release-request.ts, maxDpCountBatches). */
function dpCountCap(request: ValidatedRequest, dataset: DatasetEntity): number {
  const allocation = request.labelAllocation;
  if (allocation?.mode !== 'DP_COUNT' || !request.labels) throw new Error('dpCountCap: the request has no DP label count');
  return maxDpCountBatches(dataset.recordCount, request.expectedBatchSize, allocation.countSigma, request.labels.length);
}

/** How long a batch may run before the queue retries it, and how often it is retried. */
const BATCH_RETRY_LIMIT = 3;

/**
 * Releases: planning, admission against the budget, publication and reading. The debit, its
 * ledger entry, the release, its batches and their jobs commit in one transaction that holds the
 * dataset's row lock, so concurrent requests can never overspend (release.e2e-spec.ts fires 40
 * at once).
 */
@Injectable()
export class ReleaseService {
  private readonly logger = new Logger('Releases');

  constructor(
    private readonly database: Database,
    private readonly audit: AuditService,
    private readonly models: ModelCatalogService,
    private readonly ledgerGuard: LedgerGuard,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {}

  // ---- access

  private releaseSubject(release: ReleaseEntity, publishedTo: readonly string[]) {
    return subject('Release', { id: release.id, organizationId: release.organizationId, publishedTo });
  }

  /** The release if the caller may `action` it; NOT_FOUND otherwise, as for a release that does not exist. */
  async find(actor: Actor, id: string, action: Action = 'read', repositories: Repositories = this.database.repositories): Promise<ReleaseEntity> {
    const release = await repositories.releases.findById(id);
    if (!release) throw AccessError.notFound('release', id);
    const ability = defineAbilityFor(actor);
    const publishedTo = await repositories.releases.publishedTo(release.id);
    // Someone who may not even read it must not learn that it exists.
    if (!ability.can('read', this.releaseSubject(release, publishedTo))) throw AccessError.notFound('release', id);
    if (!ability.can(action, this.releaseSubject(release, publishedTo))) throw AccessError.forbidden(`a ${actor.role} may not ${action} this release`);
    return release;
  }

  list(actor: Actor, filter: ReleaseFilter, page: PageRequest): Promise<Page<ReleaseEntity>> {
    return this.database.repositories.releases.list(scopeFor(defineAbilityFor(actor), 'read', 'Release'), filter, page);
  }

  /** Organisations a release is published to, as the caller may know them (a consumer sees only its own). */
  async publishedTo(actor: Actor, release: { id: string; organizationId: string }): Promise<string[]> {
    const all = await this.database.repositories.releases.publishedTo(release.id);
    return defineAbilityFor(actor).can('read', subject('Budget', { organizationId: release.organizationId })) ? all : all.filter((id) => id === actor.organizationId);
  }

  /**
   * Whether the caller sees a release's progress and timing: the audience of its quality report
   * (the owning organisation's DATA_OWNER and COMPLIANCE), since both are computed from the records.
   */
  seesRunDetails(actor: Actor, release: { organizationId: string }): boolean {
    return defineAbilityFor(actor).can('read', subject('QualityReport', { organizationId: release.organizationId }));
  }

  /** Whether the caller may see who asked for a release (its own organisation's people only). */
  canSeeRequester(actor: Actor, release: { organizationId: string }): boolean {
    return actor.organizationId === release.organizationId;
  }

  async records(actor: Actor, releaseId: string, label: string | null, page: PageRequest): Promise<Page<SyntheticRecordEntity>> {
    const release = await this.find(actor, releaseId);
    const publishedTo = await this.database.repositories.releases.publishedTo(release.id);
    if (!defineAbilityFor(actor).can('read', subject('SyntheticRecord', { organizationId: release.organizationId, publishedTo }))) {
      throw AccessError.notFound('records of release', releaseId);
    }
    return this.database.repositories.releases.records(release.id, { label }, page);
  }

  // ---- planning and admission

  private async datasetFor(actor: Actor, datasetId: string, repositories: Repositories, lock: boolean): Promise<DatasetEntity> {
    const dataset = lock ? await repositories.datasets.lockForUpdate(datasetId) : await repositories.datasets.findById(datasetId);
    if (!dataset || !defineAbilityFor(actor).can('plan', subject('Release', { organizationId: dataset.organizationId }))) {
      throw AccessError.notFound('dataset', datasetId);
    }
    return dataset;
  }

  private describeModel(input: ReleaseRequestInput): ModelDescription {
    return this.models.describe(input.model ?? this.models.defaultModel, 'input.model');
  }

  /** Batches per label from public inputs; null entries for a DP count not drawn yet. */
  private publicLabelPlan(request: ValidatedRequest, dataset: DatasetEntity): { label: string | null; batches: number | null }[] {
    const total = totalBatches(dataset.recordCount, request.expectedBatchSize);
    if (!request.labels) return [{ label: null, batches: total }];
    if (request.labelAllocation?.mode === 'DP_COUNT') return request.labels.map((label) => ({ label, batches: null }));
    const plan = allocateDeclared(total, request.labelAllocation?.mode === 'DECLARED' ? request.labelAllocation.proportions : request.labels.map((label) => ({ label, weight: 1 })));
    const empty = plan.find((entry) => entry.batches === 0);
    if (empty) {
      throw DomainError.badInput('input.expectedBatchSize', `leaves label "${empty.label}" without a batch: ${total} batches for ${plan.length} labels; lower expectedBatchSize or generate fewer labels`);
    }
    return plan;
  }

  /** The expected batch's KV cache, from public bounds only: s + 1 rows (1 without records) at maxPromptTokens + maxTokens. */
  private memoryEstimate(request: ValidatedRequest, model: ModelDescription) {
    const rows = request.mode === 'PUBLIC_ONLY' ? 1 : request.expectedBatchSize + 1;
    const positions = Math.min(request.maxPromptTokens + request.maxTokens, model.maxPositions);
    // Twice the cache: the upper bound. The engine holds one buffer for graphs this project built
    // (the in-place layout) and two for graphs it runs as stored (the concat layout: the past a step
    // reads and the present it returns); the catalog does not open the graph to tell them apart.
    return { estimatedPromptTokens: request.maxPromptTokens, kvCacheBytesPerBatch: 2 * this.models.kvCacheBytes(model, rows, positions) };
  }

  /** `planRelease`: the whole computation of `createRelease`, debiting nothing. */
  async plan(actor: Actor, input: ReleaseRequestInput): Promise<ReleasePlanResult> {
    const repositories = this.database.repositories;
    const dataset = await this.datasetFor(actor, input.datasetId, repositories, false);
    const model = this.describeModel(input);
    const request = validateReleaseRequest(input, dataset, model);
    const { cost, mechanism, batching } = priceRelease(request, dataset.budgetDelta, model.vocabSize);
    const labelPlan = this.publicLabelPlan(request, dataset);
    const { totalRho: spentRho } = await this.ledgerGuard.requireValid(repositories, dataset);
    // A non-private reference is charged nothing (it has no guarantee to pay for): it is admitted as if free.
    const admission = admitRelease({ epsilon: dataset.budgetEpsilon, delta: dataset.budgetDelta }, spentRho, cost.nonPrivate ? 0 : cost.rho);
    const memory = this.memoryEstimate(request, model);
    const floatingPoint = floatingPointRefusal(cost);
    const fit = this.workerFit(model, memory.kvCacheBytesPerBatch);
    const batches = labelPlan.every((entry) => entry.batches !== null) ? labelPlan.reduce((sum, entry) => sum + entry.batches!, 0) : null;
    const maxBatches = batches ?? dpCountCap(request, dataset);
    return {
      mechanism,
      parameters: releaseParametersOf(request, batching),
      cost,
      epsilonBefore: admission.epsilonBefore,
      epsilonAfter: admission.epsilonAfter,
      remainingEpsilon: admission.remainingEpsilon,
      admitted: admission.admitted && memory.kvCacheBytesPerBatch <= this.models.kvCacheLimitBytes && floatingPoint === null && fit.fits,
      refusal: !admission.admitted
        ? exhaustedMessage(dataset, admission.epsilonAfter)
        : memory.kvCacheBytesPerBatch > this.models.kvCacheLimitBytes
          ? memoryMessage(memory.kvCacheBytesPerBatch, this.models.kvCacheLimitBytes)
          : (floatingPoint ?? fit.refusal?.message ?? null),
      labelPlan,
      batches,
      maxBatches,
      expectedBatches: batches ?? totalBatches(dataset.recordCount, request.expectedBatchSize),
      ...memory,
      kvCacheLimitBytes: this.models.kvCacheLimitBytes,
      fit,
    };
  }

  private workerFit(model: ModelDescription, kvCacheBytesPerBatch: number): ReleaseFit {
    return releaseFit(model.card.weightMemoryBytes, kvCacheBytesPerBatch, this.config.worker.concurrency, this.config.generation.memoryLimitBytes);
  }

  /**
   * `createRelease`: in one transaction holding the dataset's row lock, prices the release from its
   * parameters, admits it against the budget (BUDGET_EXHAUSTED debits nothing), and writes the
   * release, its batches, its ledger entry and its jobs.
   */
  async create(actor: Actor, input: ReleaseRequestInput): Promise<ReleaseEntity> {
    const model = this.describeModel(input);
    const queue = this.database.queue;
    if (!queue) throw new Error('the gateway has no job queue');
    const release = await this.database.transaction(async (repositories) => {
      const dataset = await this.datasetFor(actor, input.datasetId, repositories, true);
      if (!defineAbilityFor(actor).can('create', subject('Release', { organizationId: dataset.organizationId }))) {
        throw AccessError.forbidden(`a ${actor.role} may not create releases`);
      }
      const request = validateReleaseRequest(input, dataset, model);
      const { cost, mechanism, batching } = priceRelease(request, dataset.budgetDelta, model.vocabSize);
      const memory = this.memoryEstimate(request, model);
      if (memory.kvCacheBytesPerBatch > this.models.kvCacheLimitBytes) {
        throw DomainError.badInput('input.expectedBatchSize', memoryMessage(memory.kvCacheBytesPerBatch, this.models.kvCacheLimitBytes));
      }
      const fit = this.workerFit(model, memory.kvCacheBytesPerBatch);
      if (fit.refusal) throw DomainError.badInput(fit.refusal.field, fit.refusal.message);
      // The whole ledger (chain, anchor, releases) verifies before anything is debited; its
      // recomputed total is what the release is admitted against (releases-admission.e2e-spec.ts).
      const { totalRho: spentRho } = await this.ledgerGuard.requireValid(repositories, dataset);
      const budget = { epsilon: dataset.budgetEpsilon, delta: dataset.budgetDelta };
      const admission = admitRelease(budget, spentRho, cost.nonPrivate ? 0 : cost.rho);
      if (!admission.admitted) throw new DomainError('BUDGET_EXHAUSTED', exhaustedMessage(dataset, admission.epsilonAfter));
      const floatingPoint = floatingPointRefusal(cost);
      if (floatingPoint) throw DomainError.badInput('input.privateTokenCap', floatingPoint);

      const maxRecordId = await repositories.records.maxId(dataset.id);
      const labelPlan =
        batching.mode === 'CLUSTERED'
          ? await this.clusteredLabelPlan(request, batching, dataset, maxRecordId, repositories)
          : await this.labelPlan(request, dataset, maxRecordId, repositories);
      const batchCount = labelPlan.reduce((sum, entry) => sum + entry.batches, 0);
      const parameters = releaseParametersOf(request, batching);
      const release = await repositories.releases.create({
        datasetId: dataset.id,
        organizationId: dataset.organizationId,
        mode: request.mode,
        mechanism,
        parameters,
        cost,
        // The truth for a non-private reference: no finite epsilon describes it.
        rho: cost.nonPrivate ? Infinity : cost.rho,
        epsilon: cost.nonPrivate ? Infinity : cost.epsilon,
        delta: dataset.budgetDelta,
        conversion: 'tight',
        modelName: model.name,
        modelFingerprint: model.fingerprint,
        modelFiles: model.files.map((file) => ({ path: file.path, bytes: file.bytes, sha256: file.sha256 })),
        labelPlan,
        recordCount: dataset.recordCount,
        maxRecordId,
        batchCount,
        partitionKey: randomBytes(32),
        randomSeed: randomBytes(32),
        createdBy: actor.userId,
      });
      await repositories.releases.createBatches(release.id, labelPlan);
      // The ledger holds what the guarantee is paid with. A non-private reference pays nothing and
      // has no guarantee: it writes no entry; its release row (rho = Infinity, mode) and the audit
      // log record it, and the dataset's budget warns about it (budget.service.ts).
      if (!cost.nonPrivate) {
        await repositories.ledger.debitRelease({
          dataset,
          releaseId: release.id,
          rho: cost.rho,
          parameters: { releaseId: release.id, mode: request.mode, cost, mechanism, parameters, model: { name: model.name, fingerprint: model.fingerprint } },
          actorUserId: actor.userId,
        });
      }
      const jobIds = await repositories.jobs.enqueueBatches(
        Array.from({ length: batchCount }, (_, batchIndex) => ({ releaseId: release.id, batchIndex })),
        { expireInSeconds: this.config.worker.batchTimeoutSeconds, retryLimit: BATCH_RETRY_LIMIT },
      );
      await repositories.releases.setBatchJobs(release.id, jobIds);
      await this.audit.record(
        actor,
        {
          action: 'release.requested',
          outcome: 'SUCCESS',
          subjectType: 'Release',
          subjectId: release.id,
          organizationId: dataset.organizationId,
          details: {
            datasetId: dataset.id,
            mode: request.mode,
            rho: cost.rho,
            epsilon: cost.epsilon,
            epsilonAfter: admission.epsilonAfter,
            batches: batchCount,
            model: model.name,
            ...(cost.nonPrivate ? { privacyGuarantee: 'none: non-private reference on a benchmark dataset, not charged to the ledger' } : {}),
          },
        },
        repositories,
      );
      return release;
    });
    this.logger.log(`release ${release.id} queued: ${release.batchCount} batches, rho ${release.rho}`);
    return release;
  }

  /** Batches per label: public declared proportions, or a DP count drawn now (and charged in the same debit). */
  private async labelPlan(request: ValidatedRequest, dataset: DatasetEntity, maxRecordId: string, repositories: Repositories): Promise<LabelPlanEntry[]> {
    if (request.labels && request.labelAllocation?.mode === 'DP_COUNT') {
      const exact = await repositories.records.countByLabel(dataset.id, maxRecordId, request.labels);
      const noisy = noisyCounts(new CryptoRng(), request.labels.map((label) => exact.get(label)!), request.labelAllocation.countSigma);
      return allocateFromNoisyCounts(
        request.labels.map((label, index) => ({ label, noisyCount: noisy.counts[index]! })),
        request.expectedBatchSize,
        dpCountCap(request, dataset),
      );
    }
    return withOffsets(this.publicLabelPlan(request, dataset).map((entry) => ({ label: entry.label, batches: entry.batches! })));
  }

  /**
   * CLUSTERED batching: reads the records up to the snapshot, runs the private k-means of each label
   * and the DP count per label and cluster (release-clustering.ts), inside the transaction that
   * debits them. Each label's batches come from the same rule as RANDOM batching (declared, or the
   * sum of its noisy cluster counts under the DP count cap), then are split among its clusters.
   */
  private async clusteredLabelPlan(
    request: ValidatedRequest,
    batching: ClusteredBatching,
    dataset: DatasetEntity,
    maxRecordId: string,
    repositories: Repositories,
  ): Promise<LabelPlanEntry[]> {
    const records: { label: string | null; text: string }[] = [];
    for await (const page of repositories.records.recordPages(dataset.id, maxRecordId)) for (const { label, text } of page) records.push({ label, text });
    const labels = request.labels ?? [null];
    const totals: LabelTotals =
      request.labelAllocation?.mode === 'DP_COUNT'
        ? { kind: 'DP_COUNT', maxBatches: dpCountCap(request, dataset) }
        : { kind: 'PUBLIC', batches: new Map(this.publicLabelPlan(request, dataset).map((entry) => [entry.label, entry.batches!])) };
    return clusteredLabelPlan(new CryptoRng(), records, labels, batching, request.expectedBatchSize, totals, request.mode === 'NON_PRIVATE_REFERENCE');
  }

  // ---- lifecycle

  /**
   * Cancels a queued or running release. The budget is refunded (as its own ledger entry) only if
   * no batch ever started, i.e. no sensitive record was read; otherwise the full cost stands.
   */
  async cancel(actor: Actor, id: string): Promise<ReleaseEntity> {
    const { release, jobIds } = await this.database.transaction(async (repositories) => {
      const found = await this.find(actor, id, 'cancel', repositories);
      const dataset = (await repositories.datasets.lockForUpdate(found.datasetId))!;
      const release = (await repositories.releases.lockForUpdate(found.id))!;
      if (release.status !== 'QUEUED' && release.status !== 'RUNNING') throw DomainError.conflict(`release ${release.id} is ${release.status} and cannot be cancelled`);
      const readRecords = await repositories.releases.anyBatchStarted(release.id);
      await repositories.releases.setStatus(release.id, 'CANCELLED', { finishedAt: new Date() });
      const refunded = await repositories.ledger.settleRelease({
        dataset,
        release,
        charged: mechanismRegistry.of(release.mechanism).charged,
        readRecords,
        actorUserId: actor.userId,
        reason: 'cancelled before any record was read',
      });
      await this.audit.record(
        actor,
        { action: 'release.cancelled', outcome: 'SUCCESS', subjectType: 'Release', subjectId: release.id, organizationId: release.organizationId, details: { refunded } },
        repositories,
      );
      const batches = await repositories.releases.batches(release.id);
      return { release: { ...release, status: 'CANCELLED' as const, finishedAt: new Date() }, jobIds: batches.filter((b) => b.status === 'PENDING' && b.jobId).map((b) => b.jobId!) };
    });
    // Workers skip batches of cancelled releases anyway; cancelling the jobs just saves them a fetch.
    await this.database.queue?.cancel(jobIds).catch((error: unknown) => this.logger.warn(`could not cancel the jobs of release ${release.id}: ${String(error)}`));
    return release;
  }

  async publish(actor: Actor, id: string, organizationIds: readonly string[], overrideReplayCheck = false): Promise<ReleaseEntity> {
    if (organizationIds.length === 0) throw DomainError.badInput('organizationIds', 'name at least one organisation');
    return this.database.transaction(async (repositories) => {
      const found = await this.find(actor, id, 'publish', repositories);
      const release = (await repositories.releases.lockForUpdate(found.id))!;
      if (release.status !== 'SUCCEEDED') throw DomainError.conflict(`release ${release.id} is ${release.status}; only a SUCCEEDED release can be published`);
      const organizations = await repositories.organizations.findByIds(organizationIds);
      const unknown = organizationIds.find((orgId) => !organizations.some((o) => o.id === orgId));
      if (unknown) throw DomainError.badInput('organizationIds', `unknown organisation ${unknown}`);
      if (release.mode === 'NON_PRIVATE_REFERENCE' && organizationIds.some((orgId) => orgId !== release.organizationId)) {
        throw DomainError.badInput('organizationIds', 'a NON_PRIVATE_REFERENCE release has no privacy guarantee: it can only be published to its own organisation');
      }
      const dataset = (await repositories.datasets.findById(release.datasetId))!;
      const replay = checkReplay(release.qualityReport, dataset.replayThreshold);
      if (!replay.passed && !overrideReplayCheck) {
        throw new DomainError(
          'CONFLICT',
          `release ${release.id} cannot be published: ${replay.reason}; review its qualityReport, raise the dataset's replayThreshold, or publish with overrideReplayCheck: true (audited)`,
          { field: 'overrideReplayCheck' },
        );
      }
      const added = await repositories.releases.publish(release.id, organizationIds, actor.userId);
      await this.audit.record(
        actor,
        {
          action: 'release.published',
          outcome: 'SUCCESS',
          subjectType: 'Release',
          subjectId: release.id,
          organizationId: release.organizationId,
          details: {
            organizationIds: added,
            replayCheck: { passed: replay.passed, replayShare: replay.replayShare, threshold: replay.threshold, overridden: !replay.passed, reason: replay.reason },
          },
        },
        repositories,
      );
      return release;
    });
  }

  /**
   * The release's quality report, for the owning organisation's DATA_OWNER and COMPLIANCE only
   * (it is computed from sensitive records); null for anyone else who may see the release,
   * consumers of a published release included.
   */
  async qualityReport(actor: Actor, release: { id: string; organizationId: string }): Promise<Record<string, unknown> | null> {
    if (!defineAbilityFor(actor).can('read', subject('QualityReport', { organizationId: release.organizationId }))) return null;
    const entity = await this.database.repositories.releases.findById(release.id);
    return entity?.qualityReport ?? null;
  }

  async revoke(actor: Actor, id: string, organizationIds: readonly string[]): Promise<ReleaseEntity> {
    if (organizationIds.length === 0) throw DomainError.badInput('organizationIds', 'name at least one organisation');
    return this.database.transaction(async (repositories) => {
      const release = await this.find(actor, id, 'revoke', repositories);
      const revoked = await repositories.releases.revoke(release.id, organizationIds, actor.userId);
      await this.audit.record(
        actor,
        { action: 'release.revoked', outcome: 'SUCCESS', subjectType: 'Release', subjectId: release.id, organizationId: release.organizationId, details: { organizationIds: revoked } },
        repositories,
      );
      return release;
    });
  }
}

function exhaustedMessage(dataset: DatasetEntity, epsilonAfter: number): string {
  return `the budget of dataset ${dataset.id} is exhausted: this release would bring its spent epsilon to ${epsilonAfter.toPrecision(4)}, above its budget of ${dataset.budgetEpsilon}; plan with a lower privateTokenCap or targetEpsilon (planRelease shows the remaining epsilon)`;
}

function memoryMessage(bytes: number, limit: number): string {
  return `one batch's KV cache would need ${bytes} bytes (${(bytes / 2 ** 20).toFixed(1)} MiB), above KV_CACHE_LIMIT_BYTES (${limit} bytes); lower expectedBatchSize, maxTokens or maxPromptTokens`;
}
