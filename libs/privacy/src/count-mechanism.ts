import { gaussianMechanismRho } from './accountant';
import { sampleDiscreteGaussian } from './discrete-noise';
import { requireInteger, requirePositive } from './privacy.errors';
import { type Rng } from './rng';

/** A released set of noisy counts and what it cost. */
export interface NoisyCounts {
  /** One noisy count per input count, same order; integers, may be negative (see {@link clampCounts}). */
  readonly counts: readonly number[];
  /** Standard deviation of the discrete Gaussian noise added to each count. */
  readonly sigma: number;
  /** rho charged for the whole vector: `1 / (2 sigma^2)`. */
  readonly rho: number;
}

/**
 * The Gaussian count mechanism for a histogram, e.g. a labelled dataset's records per label
 * (DESIGN.md section 5.1: batches per label must not come from exact counts). Each record falls in
 * exactly one bin, so adding or removing a record changes one count by 1: L2 sensitivity 1, and the
 * whole vector costs `rho = 1 / (2 sigma^2)` however many bins there are. The noise is the exact
 * discrete Gaussian (CKS 2020), so the released integers carry no floating-point side channel.
 * The number of bins (the label set) must itself be public.
 */
export function noisyCounts(rng: Rng, counts: readonly number[], sigma: number): NoisyCounts {
  requirePositive('sigma', sigma);
  counts.forEach((count, index) => requireInteger(`counts[${index}]`, count, 0));
  const noisy = counts.map((count) => count + sampleDiscreteGaussian(rng, sigma));
  return Object.freeze({ counts: Object.freeze(noisy), sigma, rho: gaussianCountRho(sigma) });
}

/** rho of {@link noisyCounts} with noise `sigma`: `1 / (2 sigma^2)`. */
export function gaussianCountRho(sigma: number): number {
  return gaussianMechanismRho(sigma, 1);
}

/** Post-processing (free): negative noisy counts become 0. */
export function clampCounts(counts: readonly number[]): number[] {
  return counts.map((count) => Math.max(0, count));
}
