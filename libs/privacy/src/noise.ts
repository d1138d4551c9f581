import { requirePositive } from './privacy.errors';
import { type Rng, nextUint53 } from './rng';

const TWO_POW_21 = 0x200000;

/**
 * Number of leading zero bits in the 53-bit binary expansion of `k` (an integer in [1, 2^53)).
 */
function leadingZeros53(k: number): number {
  const high = Math.floor(k / TWO_POW_21); // top 32 of the 53 bits
  if (high !== 0) return Math.clz32(high);
  return 32 + Math.clz32(k) - 11; // k < 2^21 here, so clz32(k) >= 11
}

/**
 * A standard exponential variate, Exp(1), with an **unbounded tail**.
 *
 * The textbook `-ln(U)` with a 53-bit `U` can never exceed 53 ln 2 (about 36.7), so for neighbouring
 * inputs far from a threshold one side can have probability exactly 0: an infinite privacy loss.
 * Here `U` is drawn at unbounded precision instead: its binary expansion is read until the first 1
 * bit (position `j`, geometric), and the bits after it form `U = 2^-(j+1) (1 + F)` with `F` uniform
 * on [0, 1) from a fresh 53-bit draw. Then `-ln U = (j + 1) ln 2 - log1p(F)` exactly in distribution;
 * the only error left is the rounding of that one expression (relative 2^-52) and the 2^-53 grid of
 * `F`. Typically two draws and one `log1p`; no allocation.
 */
export function sampleStandardExponential(rng: Rng): number {
  let zeros = 0;
  for (;;) {
    const k = nextUint53(rng);
    if (k === 0) {
      zeros += 53;
      continue;
    }
    zeros += leadingZeros53(k);
    break;
  }
  return (zeros + 1) * Math.LN2 - Math.log1p(rng.nextDouble());
}

/**
 * A Laplace variate with density `exp(-|x| / scale) / (2 scale)`, as a sign times `scale` times
 * an {@link sampleStandardExponential} variate.
 *
 * Floating point: the tails are unbounded (no truncation at 36.7 scales), and the density is exact
 * up to relative rounding of about 2^-52. The *output* is still a double, so releasing `x + noise`
 * itself would expose Mironov's (2012) porosity attack on the low-order bits. Synthgate never does:
 * Laplace noise is used only inside the sparse-vector comparison, whose sole output is one bit, so
 * only the probability of that bit matters and it is accurate to about 2^-50. To release a noisy
 * integer, use {@link sampleDiscreteLaplace} (exact, integer arithmetic) instead.
 */
export function sampleLaplace(rng: Rng, scale: number): number {
  requirePositive('scale', scale);
  const magnitude = scale * sampleStandardExponential(rng);
  return rng.nextDouble() < 0.5 ? -magnitude : magnitude;
}

/**
 * A Gaussian variate with mean 0 and standard deviation `sigma`, by Box-Muller with the radius
 * `sqrt(2 E)` taken from an unbounded-tail exponential `E` (so, like {@link sampleLaplace}, no
 * truncation of the tails) and the angle from a 53-bit uniform.
 *
 * Floating point: accurate in distribution to about 2^-50, but the result is a double and subject to
 * the same porosity caveat as {@link sampleLaplace} if it were added to a released value. Noisy
 * counts are therefore released with {@link sampleDiscreteGaussian}, which is exact.
 */
export function sampleGaussian(rng: Rng, sigma: number): number {
  requirePositive('sigma', sigma);
  const radius = Math.sqrt(2 * sampleStandardExponential(rng));
  return sigma * radius * Math.cos(2 * Math.PI * rng.nextDouble());
}
