import { rhoPerPrivateToken, type TokenCostParameters } from '../../accountant';
import { PrivacyError, requireFinite, requireInteger, requireNonNegative, requirePositive } from '../../privacy.errors';
import { defineMechanism } from '../mechanism';
import { PrivateTokenSampler } from './private-token-sampler';

/** The parameters of private prediction (DESIGN.md section 5), stored once with a release. */
export interface PrivatePredictionParameters {
  readonly mechanism: 'private-prediction';
  /** `s` > 0: the fixed divisor of the private aggregate. */
  readonly expectedBatchSize: number;
  /** Logit clip bound `c` > 0. */
  readonly clip: number;
  /** Private temperature `tau` > 0. */
  readonly temperature: number;
  /** Public temperature `tau_pub` >= 0; 0 is greedy. */
  readonly publicTemperature: number;
  /** Public top-k; 0 (what parse stores when absent): off. */
  readonly topK?: number;
  /** Sparse-vector drafter (threshold `theta`, noise scale `sigma`); null (what parse stores when absent): every step private. */
  readonly drafter?: { readonly threshold: number; readonly sigma: number } | null;
  /** `r`: the cap on private tokens per example. */
  readonly privateTokenCap: number;
}

/** Reads a drafter field: null/absent, or `{ threshold, sigma }`. */
export function parseDrafter(value: unknown): { readonly threshold: number; readonly sigma: number } | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'drafter', 'must be an object { threshold, sigma } or null');
  const drafter = value as { threshold?: unknown; sigma?: unknown };
  return Object.freeze({ threshold: requireFinite('drafter.threshold', drafter.threshold), sigma: requirePositive('drafter.sigma', drafter.sigma) });
}

/**
 * The part of the parameters that fixes the cost of one private token (the accountant's input):
 * `c`, `s`, `tau`, and the drafter's `sigma` (null when off).
 */
export function tokenCostParameters(p: PrivatePredictionParameters): TokenCostParameters & { readonly svtSigma: number | null } {
  return { clip: p.clip, expectedBatchSize: p.expectedBatchSize, temperature: p.temperature, svtSigma: p.drafter?.sigma ?? null };
}

/**
 * Private prediction: clipped, recentred logits averaged with the fixed divisor `s`, the exponential
 * mechanism at `tau`, and the optional sparse-vector drafter. One private token costs
 * `c^2 / (2 s^2 tau^2)`, plus `2 / (s sigma)^2` with the drafter (libs/privacy accountant).
 */
export const privatePrediction = defineMechanism<PrivatePredictionParameters>({
  name: 'private-prediction',
  charged: true,
  partition: 'keyed-hash',
  parse: (value) =>
    Object.freeze({
      mechanism: 'private-prediction',
      expectedBatchSize: requirePositive('expectedBatchSize', value.expectedBatchSize),
      clip: requirePositive('clip', value.clip),
      temperature: requirePositive('temperature', value.temperature),
      publicTemperature: requireNonNegative('publicTemperature', value.publicTemperature),
      topK: requireInteger('topK', value.topK ?? 0, 0),
      drafter: parseDrafter(value.drafter),
      privateTokenCap: requireInteger('privateTokenCap', value.privateTokenCap, 0),
    }),
  rhoPerPrivateToken: (p) => rhoPerPrivateToken(tokenCostParameters(p)),
  createSampler: (p, vocabSize, rng) => new PrivateTokenSampler(vocabSize, p, rng),
});
