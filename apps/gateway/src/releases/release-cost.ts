import {
  epsilonFromRho,
  floatingPointDelta,
  gaussianCountRho,
  type MechanismParameters,
  maxPrivateTokens,
  releaseCost,
  type ReleaseCost,
  rhoPerPrivateToken,
  tokenCostParameters,
} from '@synthgate/privacy';
import { DomainError } from '../gateway.errors';
import { clusteringRho, clusteringSigmas } from './release-clustering';
import { type Batching, mechanismOf, type ValidatedRequest } from './release-request';

/**
 * The cost of a release as it is stored with the release and its ledger entry: the private
 * prediction's cost (libs/privacy ReleaseCost, re-derivable from its parameters), the noisy
 * label count's rho if any, and their sum. Fixed from the parameters alone, before any record
 * is read (DESIGN.md section 4). A type alias, not an interface, so the release row's jsonb column
 * (a JSON record) takes it without a cast.
 */
export type StoredCost = {
  readonly generation: ReleaseCost | null;
  /** The noisy record count: per label (DP_COUNT), or per label and cluster (CLUSTERED batching). */
  readonly labelCount: { readonly sigma: number; readonly rho: number } | null;
  /** CLUSTERED batching: the private k-means (absent in releases made before it existed). */
  readonly clustering?: { readonly rho: number } | null;
  /** generation.rho + labelCount.rho + clustering.rho: what the ledger entry debits. */
  readonly rho: number;
  /** This release alone, at the dataset's delta. */
  readonly epsilon: number;
  readonly delta: number;
  readonly conversion: 'tight';
  readonly privateTokenCap: number;
  readonly rhoPerPrivateToken: number;
  /**
   * The delta floating-point sampling adds on top of the dataset's (libs/privacy floatingPointDelta,
   * over the model's vocabulary or the top-k); null when the vocabulary size is unknown. Absent in
   * releases created before it was accounted.
   */
  readonly floatingPointDelta?: number | null;
  readonly nonPrivate?: false;
};

/** The most floating-point delta a release may add: 1% of the dataset's delta. */
export const MAX_FLOATING_POINT_DELTA_SHARE = 0.01;

/**
 * Why a release's floating-point delta is too large to be admitted (more than 1% of the dataset's
 * delta, at which its epsilon is stated), or null. Planning shows it as the refusal; creating
 * answers BAD_USER_INPUT on input.privateTokenCap.
 */
export function floatingPointRefusal(cost: AnyReleaseCost): string | null {
  if (cost.nonPrivate || cost.floatingPointDelta === undefined || cost.floatingPointDelta === null) return null;
  if (cost.floatingPointDelta <= MAX_FLOATING_POINT_DELTA_SHARE * cost.delta) return null;
  return `${cost.privateTokenCap} private tokens add a floating-point delta of ${cost.floatingPointDelta.toPrecision(3)} (r (1 + e^(2c/(s tau))) V 2^-52), above 1% of the dataset's delta ${cost.delta}; use fewer private tokens, a top-k, a higher temperature, or a larger delta`;
}

/**
 * The cost of a NON_PRIVATE_REFERENCE release: none is charged, because it has no guarantee to
 * pay for (epsilon is infinite, which the ledger cannot hold). It writes no ledger entry; the
 * release row records rho = epsilon = Infinity, and the dataset's budget warns about it.
 */
export type NonPrivateCost = {
  readonly nonPrivate: true;
  readonly generation: null;
  readonly labelCount: null;
  readonly clustering?: null;
  readonly rho: null;
  readonly epsilon: null;
  readonly delta: number;
  readonly conversion: 'none';
  readonly privateTokenCap: number;
  readonly rhoPerPrivateToken: null;
};

export type AnyReleaseCost = StoredCost | NonPrivateCost;

/**
 * Resolves the private-token cap (from a target epsilon if one was given: the largest cap whose
 * cost, with the label count's, stays within the target, and never more than maxTokens) and
 * prices the release from its mechanism's parameters (libs/privacy derives the cost from them).
 * Returns those parameters, cap resolved: what the release stores and the worker runs.
 */
export function priceRelease(request: ValidatedRequest, delta: number, vocabSize: number): { cost: AnyReleaseCost; mechanism: MechanismParameters; batching: Batching } {
  const batching = resolveBatching(request, delta);
  if (request.mode === 'NON_PRIVATE_REFERENCE') {
    const mechanism = mechanismOf(request, request.maxTokens);
    const privateTokenCap = mechanism.privateTokenCap;
    return {
      batching,
      mechanism,
      cost: { nonPrivate: true, generation: null, labelCount: null, rho: null, epsilon: null, delta, conversion: 'none', privateTokenCap, rhoPerPrivateToken: null },
    };
  }
  if (request.mode === 'PUBLIC_ONLY') {
    return {
      batching,
      mechanism: mechanismOf(request, 0),
      cost: { generation: null, labelCount: null, rho: 0, epsilon: 0, delta, conversion: 'tight', privateTokenCap: 0, rhoPerPrivateToken: 0, floatingPointDelta: 0 },
    };
  }
  const uncapped = mechanismOf(request, 0);
  if (uncapped.mechanism !== 'private-prediction') throw new Error(`a PRIVATE release runs private prediction, not ${uncapped.mechanism}`);
  const parameters = tokenCostParameters(uncapped);
  const perToken = rhoPerPrivateToken(parameters);
  // One histogram of noisy counts: per label (DP_COUNT) or per label and cluster (CLUSTERED, with
  // the label allocation's sigma when it is DP_COUNT): each record is in one cell, so one charge.
  const countSigma = batching.mode === 'CLUSTERED' ? batching.countSigma : request.labelAllocation?.mode === 'DP_COUNT' ? request.labelAllocation.countSigma : null;
  const labelCount = countSigma === null ? null : { sigma: countSigma, rho: gaussianCountRho(countSigma) };
  const clustering = batching.mode === 'CLUSTERED' ? { rho: clusteringRho(batching) } : null;
  const beforeTokens = (labelCount?.rho ?? 0) + (clustering?.rho ?? 0);
  let privateTokenCap = request.privateTokenCap;
  if (privateTokenCap === null) {
    const target = request.targetEpsilon!;
    const fitting = maxPrivateTokens(parameters, { epsilon: target, delta }, { spentRho: beforeTokens });
    if (fitting === 0) {
      throw DomainError.badInput(
        'input.targetEpsilon',
        `epsilon ${target} does not pay for a single private token with these parameters (one costs rho ${perToken.toPrecision(4)}${labelCount ? ` on top of the count's ${labelCount.rho.toPrecision(4)}` : ''}${clustering ? ` and the clustering's ${clustering.rho.toPrecision(4)}` : ''})`,
      );
    }
    privateTokenCap = Math.min(fitting, request.maxTokens);
  }
  const mechanism = { ...uncapped, privateTokenCap };
  const generation = releaseCost(parameters, privateTokenCap, delta, 'tight');
  // The charged rho is the sum of its parts (tokens, counts, clustering), debited in one ledger entry.
  const rho = generation.rho + (labelCount?.rho ?? 0) + (clustering?.rho ?? 0);
  // Sampling in floating point adds a small delta (libs/privacy floating-point.ts); it must stay
  // negligible next to the dataset's delta, which the stated epsilon is computed at.
  const candidates = request.topK > 0 && vocabSize > 0 ? Math.min(request.topK, vocabSize) : vocabSize;
  const fpDelta = candidates > 0 ? floatingPointDelta({ vocabSize: candidates, privateTokenCap, ...parameters }) : null;
  return {
    batching,
    mechanism,
    cost: {
      generation,
      labelCount,
      // Only a CLUSTERED release records it, so every other stored cost stays as it was.
      ...(clustering ? { clustering } : {}),
      rho,
      epsilon: epsilonFromRho(rho, delta, 'tight'),
      delta,
      conversion: 'tight',
      privateTokenCap,
      rhoPerPrivateToken: perToken,
      floatingPointDelta: fpDelta,
    },
  };
}

/**
 * The stored batching of a request: CLUSTERED gets its Lloyd noise from its epsilon at the
 * dataset's delta (a PRIVATE release) or none (the non-private reference, which clusters exactly).
 */
export function resolveBatching(request: ValidatedRequest, delta: number): Batching {
  const batching = request.batching ?? { mode: 'RANDOM' };
  if (batching.mode === 'RANDOM') return batching;
  const sigmas = request.mode === 'PRIVATE' ? clusteringSigmas(batching.clusteringEpsilon, batching.iterations, delta) : { sumSigma: 0, lloydCountSigma: 0 };
  return { ...batching, ...sigmas };
}
