import { type ReleaseEntity } from '@synthgate/persistence';
import { type StoredCost } from './release-cost';
import { type ReleaseParameters } from './release-request';
import { type PrivacyCost, type Release, type ReleaseProgress, type ReleaseParameters as ReleaseParametersType } from './release.types';

export function toPrivacyCost(cost: StoredCost): PrivacyCost {
  return {
    rho: cost.rho,
    epsilon: cost.epsilon,
    delta: cost.delta,
    conversion: cost.conversion,
    privateTokenCap: cost.privateTokenCap,
    rhoPerPrivateToken: cost.rhoPerPrivateToken,
    labelCountRho: cost.labelCount?.rho ?? 0,
  };
}

export function toReleaseParameters(parameters: ReleaseParameters): ReleaseParametersType {
  const allocation = parameters.labelAllocation;
  return {
    ...parameters,
    labels: parameters.labels ? [...parameters.labels] : null,
    drafter: parameters.drafter ? { ...parameters.drafter } : null,
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

export function toRelease(release: ReleaseEntity, datasetName: string): Release {
  return {
    id: release.id,
    datasetId: release.datasetId,
    datasetName,
    status: release.status,
    progress: progressOf(release),
    parameters: toReleaseParameters(release.parameters as unknown as ReleaseParameters),
    cost: toPrivacyCost(release.cost as unknown as StoredCost),
    model: { name: release.modelName, fingerprint: release.modelFingerprint, files: release.modelFiles.map((file) => ({ ...file })) },
    recordCount: release.recordCount,
    batchCount: release.batchCount,
    labelCounts: release.labelPlan.map((entry) => ({ label: entry.label, count: entry.batches })),
    failureReason: release.failureReason,
    createdAt: release.createdAt,
    startedAt: release.startedAt,
    finishedAt: release.finishedAt,
    organizationId: release.organizationId,
    createdById: release.createdBy,
  };
}
