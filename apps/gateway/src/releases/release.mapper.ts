import { type ReleaseEntity } from '@synthgate/persistence';
import { type MechanismParameters } from '@synthgate/privacy';
import { type ReleaseQualityReport as QualityReportRecord } from '@synthgate/quality';
import { type AnyReleaseCost } from './release-cost';
import { type ReleaseQualityReport } from './release-quality.types';
import { type ReleaseParameters } from './release-request';
import {
  type PrivacyCost,
  type Release,
  type ReleaseProgress,
  type ReleaseParameters as ReleaseParametersType,
} from './release.types';

export function toPrivacyCost(cost: AnyReleaseCost): PrivacyCost {
  if (cost.nonPrivate) {
    return {
      differentiallyPrivate: false,
      rho: null,
      epsilon: null,
      delta: cost.delta,
      conversion: cost.conversion,
      privateTokenCap: cost.privateTokenCap,
      rhoPerPrivateToken: null,
      labelCountRho: 0,
      clusteringRho: 0,
      tokensRho: null,
      floatingPointDelta: null,
    };
  }
  return {
    differentiallyPrivate: true,
    rho: cost.rho,
    epsilon: cost.epsilon,
    delta: cost.delta,
    conversion: cost.conversion,
    privateTokenCap: cost.privateTokenCap,
    rhoPerPrivateToken: cost.rhoPerPrivateToken,
    labelCountRho: cost.labelCount?.rho ?? 0,
    clusteringRho: cost.clustering?.rho ?? 0,
    tokensRho: cost.generation?.rho ?? 0,
    floatingPointDelta: cost.floatingPointDelta ?? null,
  };
}

/** The stored report (libs/quality) as the API shows it; null when there is none or it is not a report. */
export function toQualityReport(stored: Record<string, unknown> | null): ReleaseQualityReport | null {
  const report = stored as QualityReportRecord | null;
  if (!report || report.version !== 1) return null;
  return {
    computedAt: new Date(report.computedAt),
    records: report.records,
    labelCounts: report.labelCounts.map((entry) => ({ ...entry })),
    emptyRecords: report.emptyRecords,
    words: { ...report.words },
    characters: { ...report.characters },
    duplicates: { ...report.duplicates },
    replay: { ...report.replay, flagged: report.replay.flagged.map((record) => ({ ...record })) },
  };
}

/**
 * A release's parameters as the API shows them: its mechanism's and the request's. A field the
 * mechanism does not have is null, so a new mechanism needs nothing here.
 */
export function toReleaseParameters(mechanism: MechanismParameters, parameters: ReleaseParameters): ReleaseParametersType {
  const allocation = parameters.labelAllocation;
  const batching = parameters.batching ?? { mode: 'RANDOM' };
  return {
    ...parameters,
    mechanism: mechanism.mechanism,
    expectedBatchSize: mechanism.expectedBatchSize,
    clip: 'clip' in mechanism ? mechanism.clip : null,
    temperature: 'temperature' in mechanism ? mechanism.temperature : null,
    publicTemperature: 'publicTemperature' in mechanism ? mechanism.publicTemperature : null,
    drafter: 'drafter' in mechanism && mechanism.drafter ? { ...mechanism.drafter } : null,
    topK: 'topK' in mechanism ? (mechanism.topK ?? 0) : null,
    privateTokenCap: mechanism.privateTokenCap,
    batching:
      batching.mode === 'CLUSTERED'
        ? {
            mode: 'CLUSTERED',
            clusters: batching.clusters,
            iterations: batching.iterations,
            featureDimension: batching.dimension,
            clusteringEpsilon: batching.clusteringEpsilon,
            sumSigma: batching.sumSigma,
            lloydCountSigma: batching.lloydCountSigma,
            countSigma: batching.countSigma,
          }
        : { mode: 'RANDOM', clusters: null, iterations: null, featureDimension: null, clusteringEpsilon: null, sumSigma: null, lloydCountSigma: null, countSigma: null },
    maxPromptTokens: parameters.maxPromptTokens ?? null,
    labels: parameters.labels ? [...parameters.labels] : null,
    labelAllocation: allocation
      ? allocation.mode === 'DECLARED'
        ? { mode: 'DECLARED', proportions: allocation.proportions.map((p) => ({ ...p })), countSigma: null }
        : { mode: 'DP_COUNT', proportions: null, countSigma: allocation.countSigma }
      : null,
  };
}

/**
 * Progress for people. Tokens per synthetic example are part of the released text, so their
 * rate is post-processing of the output; nothing here counts private steps.
 */
export function progressOf(release: ReleaseEntity, now = new Date()): ReleaseProgress {
  const tokens = Number(release.tokensGenerated);
  const end = release.finishedAt ?? now;
  const elapsedSeconds = release.startedAt ? Math.max(0, (end.getTime() - release.startedAt.getTime()) / 1000) : null;
  const running = release.status === 'RUNNING' || release.status === 'QUEUED';
  return {
    batchesDone: release.batchesDone,
    batchesTotal: release.batchCount,
    tokensGenerated: tokens,
    tokensPerSecond: elapsedSeconds && elapsedSeconds > 0 ? tokens / elapsedSeconds : null,
    elapsedSeconds,
    estimatedSecondsLeft:
      running && elapsedSeconds !== null && release.batchesDone > 0 ? (elapsedSeconds / release.batchesDone) * (release.batchCount - release.batchesDone) : running ? null : 0,
  };
}

/**
 * The release as the API shows it. `runDetails` (progress, start and end times) only for the
 * release's own organisation's DATA_OWNER and COMPLIANCE: how fast and when a release ran depends on
 * its records, which no rho covers (DESIGN.md section 4), so consumers never see it.
 */
export function toRelease(release: ReleaseEntity, datasetName: string, view: { runDetails: boolean }): Release {
  return {
    id: release.id,
    datasetId: release.datasetId,
    datasetName,
    status: release.status,
    progress: view.runDetails ? progressOf(release) : null,
    parameters: toReleaseParameters(release.mechanism, release.parameters),
    cost: toPrivacyCost(release.cost as unknown as AnyReleaseCost),
    model: { name: release.modelName, fingerprint: release.modelFingerprint, files: release.modelFiles.map((file) => ({ ...file })) },
    recordCount: release.recordCount,
    batchCount: release.batchCount,
    labelCounts: labelCounts(release.labelPlan),
    failureReason: release.failureReason,
    createdAt: release.createdAt,
    startedAt: view.runDetails ? release.startedAt : null,
    finishedAt: view.runDetails ? release.finishedAt : null,
    organizationId: release.organizationId,
    createdById: release.createdBy,
  };
}

/** Synthetic examples per label, in plan order; a CLUSTERED plan has one entry per label and cluster, summed here. */
export function labelCounts(plan: readonly { label: string | null; batches: number }[]): { label: string | null; count: number }[] {
  const counts = new Map<string | null, number>();
  for (const entry of plan) counts.set(entry.label, (counts.get(entry.label) ?? 0) + entry.batches);
  return [...counts].map(([label, count]) => ({ label, count }));
}
