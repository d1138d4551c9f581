import { epsilonFromRho, floatingPointDelta, gaussianCountRho, maxPrivateTokens, releaseCost, type ReleaseCost, rhoPerPrivateToken, type TokenCostParameters } from '@synthgate/privacy';
import { DomainError } from '../gateway.errors';
import { type ValidatedRequest } from './release-request';

/**
 * The cost of a release as it is stored with the release and its ledger entry: the private
 * prediction's cost (libs/privacy ReleaseCost, re-derivable from its parameters), the noisy
 * label count's rho if any, and their sum. Fixed from the parameters alone, before any record
 * is read (DESIGN.md section 4).
 */
export interface StoredCost {
  readonly generation: ReleaseCost | null;
  readonly labelCount: { readonly sigma: number; readonly rho: number } | null;
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
}

/** The most floating-point delta a release may add: 1% of the dataset's delta. */
export const MAX_FLOATING_POINT_DELTA_SHARE = 0.01;

/**
 * The cost of a NON_PRIVATE_REFERENCE release: none is charged, because it has no guarantee to
 * pay for (epsilon is infinite, which the ledger cannot hold). It writes no ledger entry; the
 * release row records rho = epsilon = Infinity, and the dataset's budget warns about it.
 */
export interface NonPrivateCost {
  readonly nonPrivate: true;
  readonly generation: null;
  readonly labelCount: null;
  readonly rho: null;
  readonly epsilon: null;
  readonly delta: number;
  readonly conversion: 'none';
  readonly privateTokenCap: number;
  readonly rhoPerPrivateToken: null;
}

export type AnyReleaseCost = StoredCost | NonPrivateCost;

/** The token-mechanism parameters of a request, as the accountant takes them. */
export function tokenCostParameters(request: ValidatedRequest): TokenCostParameters {
  return { clip: request.clip, expectedBatchSize: request.batchSize, temperature: request.temperature, svtSigma: request.drafter?.sigma ?? null };
}

/**
 * Resolves the private-token cap (from a target epsilon if one was given: the largest cap whose
 * cost, with the label count's, stays within the target, and never more than maxTokens) and
 * prices the release.
 */
export function priceRelease(request: ValidatedRequest, delta: number, vocabSize: number): { cost: AnyReleaseCost; privateTokenCap: number } {
  if (request.mode === 'NON_PRIVATE_REFERENCE') {
    const privateTokenCap = request.maxTokens;
    return {
      privateTokenCap,
      cost: { nonPrivate: true, generation: null, labelCount: null, rho: null, epsilon: null, delta, conversion: 'none', privateTokenCap, rhoPerPrivateToken: null },
    };
  }
  if (request.mode === 'PUBLIC_ONLY') {
    return {
      privateTokenCap: 0,
      cost: { generation: null, labelCount: null, rho: 0, epsilon: 0, delta, conversion: 'tight', privateTokenCap: 0, rhoPerPrivateToken: 0, floatingPointDelta: 0 },
    };
  }
  const parameters = tokenCostParameters(request);
  const perToken = rhoPerPrivateToken(parameters);
  const labelCount = request.labelAllocation?.mode === 'DP_COUNT' ? { sigma: request.labelAllocation.countSigma, rho: gaussianCountRho(request.labelAllocation.countSigma) } : null;
  let privateTokenCap = request.privateTokenCap;
  if (privateTokenCap === null) {
    const target = request.targetEpsilon!;
    const fitting = maxPrivateTokens(parameters, { epsilon: target, delta }, { spentRho: labelCount?.rho ?? 0 });
    if (fitting === 0) {
      throw DomainError.badInput(
        'input.targetEpsilon',
        `epsilon ${target} does not pay for a single private token with these parameters (one costs rho ${perToken.toPrecision(4)}${labelCount ? ` on top of the label count's ${labelCount.rho.toPrecision(4)}` : ''})`,
      );
    }
    privateTokenCap = Math.min(fitting, request.maxTokens);
  }
  const generation = releaseCost(parameters, privateTokenCap, delta, 'tight');
  const rho = generation.rho + (labelCount?.rho ?? 0);
  // Sampling in floating point adds a small delta (libs/privacy floating-point.ts); it must stay
  // negligible next to the dataset's delta, which the stated epsilon is computed at.
  const candidates = request.topK > 0 && vocabSize > 0 ? Math.min(request.topK, vocabSize) : vocabSize;
  const fpDelta = candidates > 0 ? floatingPointDelta({ vocabSize: candidates, privateTokenCap, clip: request.clip, expectedBatchSize: request.batchSize, temperature: request.temperature }) : null;
  if (fpDelta !== null && fpDelta > MAX_FLOATING_POINT_DELTA_SHARE * delta) {
    throw DomainError.badInput(
      'input.privateTokenCap',
      `${privateTokenCap} private tokens over ${candidates} candidate tokens add a floating-point delta of ${fpDelta.toPrecision(3)}, above 1% of the dataset's delta ${delta}; use fewer private tokens, a top-k, or a larger delta`,
    );
  }
  return {
    privateTokenCap,
    cost: {
      generation,
      labelCount,
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
