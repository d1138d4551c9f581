import { PrivacyError, requirePositive } from './privacy.errors';
import { type Rng, nextUint53 } from './rng';

/*
 * Exact samplers for integer-valued noise, after Canonne, Kamath and Steinke (2020), "The Discrete
 * Gaussian for Differential Privacy", Algorithms 1-3. Every step is integer (BigInt) arithmetic on
 * exact rationals and uniform random integers, so the output distribution is exactly the stated one:
 * no floating-point rounding, no truncated tails, nothing for a porosity attack to read. Slower than
 * the continuous samplers (microseconds per draw): meant for released values such as label counts,
 * not for the per-token hot path.
 */

/** A non-negative rational `num / den`, `den > 0`. */
interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

const TWO_POW_53_BIG = 1n << 53n;

/** The exact value of a finite positive double as a rational (every double is a dyadic rational). */
export function rationalFromDouble(value: number): Rational {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`expected a finite positive number, got ${value}`);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // normal: (2^52 + f) * 2^(e - 1075); subnormal: f * 2^(-1074)
  let num = exponentBits === 0 ? fraction : fraction | (1n << 52n);
  let exponent = (exponentBits === 0 ? 1 : exponentBits) - 1075;
  while (num % 2n === 0n && exponent < 0) {
    num >>= 1n;
    exponent += 1;
  }
  return exponent >= 0 ? { num: num << BigInt(exponent), den: 1n } : { num, den: 1n << BigInt(-exponent) };
}

/** A uniform integer in [0, n), n >= 1, by rejection from 53-bit draws (exact, unbiased). */
export function uniformBigInt(rng: Rng, n: bigint): bigint {
  if (n < 1n) throw new RangeError('uniformBigInt needs n >= 1');
  if (n <= TWO_POW_53_BIG) {
    const bound = Number(n);
    const limit = Math.floor(2 ** 53 / bound) * bound; // largest multiple of n that fits: reject above it
    for (;;) {
      const k = nextUint53(rng);
      if (k < limit) return BigInt(k % bound);
    }
  }
  const bitLength = (n - 1n).toString(2).length;
  for (;;) {
    let value = 0n;
    let remaining = bitLength;
    while (remaining > 0) {
      const take = Math.min(remaining, 53);
      // The low `take` bits of a uniform 53-bit integer are themselves uniform.
      value = (value << BigInt(take)) | (BigInt(nextUint53(rng)) & ((1n << BigInt(take)) - 1n));
      remaining -= take;
    }
    if (value < n) return value;
  }
}

/** Bernoulli(num / den) for 0 <= num <= den. */
function bernoulli(rng: Rng, num: bigint, den: bigint): boolean {
  return uniformBigInt(rng, den) < num;
}

/** Bernoulli(exp(-gamma)) for a rational gamma in [0, 1] (CKS Algorithm 1). */
function bernoulliExpNegUnit(rng: Rng, gamma: Rational): boolean {
  let k = 1n;
  while (bernoulli(rng, gamma.num, gamma.den * k)) k += 1n;
  return k % 2n === 1n;
}

/** Bernoulli(exp(-gamma)) for any rational gamma >= 0 (CKS Algorithm 1, the gamma > 1 extension). */
export function bernoulliExpNeg(rng: Rng, gamma: Rational): boolean {
  let num = gamma.num;
  const one: Rational = { num: 1n, den: 1n };
  while (num > gamma.den) {
    if (!bernoulliExpNegUnit(rng, one)) return false;
    num -= gamma.den;
  }
  return bernoulliExpNegUnit(rng, { num, den: gamma.den });
}

/** Discrete Laplace on the integers with P(y) proportional to exp(-|y| s / t), s, t >= 1 (CKS Algorithm 2). */
function discreteLaplace(rng: Rng, s: bigint, t: bigint): bigint {
  for (;;) {
    const u = uniformBigInt(rng, t);
    if (!bernoulliExpNeg(rng, { num: u, den: t })) continue;
    let v = 0n;
    while (bernoulliExpNeg(rng, { num: 1n, den: 1n })) v += 1n;
    const y = (u + t * v) / s; // BigInt division floors for non-negative operands
    const negative = uniformBigInt(rng, 2n) === 1n;
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** Floor of the square root of a non-negative BigInt (Newton's method from above). */
function integerSqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2)); // >= sqrt(n)
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

function toSafeNumber(value: bigint): number {
  const result = Number(value);
  if (!Number.isSafeInteger(result)) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'scale', 'is too large for an exact integer sample');
  return result;
}

/**
 * An exact draw from the discrete Laplace distribution on the integers,
 * `P(y) = (1 - e^(-1/scale)) / (1 + e^(-1/scale)) * e^(-|y| / scale)`. `scale` is taken as the exact
 * rational value of the double, so the output law is exactly the stated one.
 */
export function sampleDiscreteLaplace(rng: Rng, scale: number): number {
  requirePositive('scale', scale);
  const { num, den } = rationalFromDouble(scale); // scale = t / s
  return toSafeNumber(discreteLaplace(rng, den, num));
}

/**
 * An exact draw from the discrete Gaussian on the integers, `P(y)` proportional to
 * `exp(-y^2 / (2 sigma^2))` (CKS Algorithm 3). Adding it to an integer query of L2 sensitivity
 * `Delta` is `Delta^2 / (2 sigma^2)`-zCDP (CKS Theorem 4), the same rho as the continuous Gaussian.
 */
export function sampleDiscreteGaussian(rng: Rng, sigma: number): number {
  requirePositive('sigma', sigma);
  const root = rationalFromDouble(sigma);
  const varianceNum = root.num * root.num; // sigma^2 = n / d exactly
  const varianceDen = root.den * root.den;
  const t = integerSqrt(varianceNum / varianceDen) + 1n; // floor(sigma) + 1
  for (;;) {
    const y = discreteLaplace(rng, 1n, t);
    const magnitude = y < 0n ? -y : y;
    // gamma = (|y| - sigma^2 / t)^2 / (2 sigma^2) = (|y| d t - n)^2 / (2 n d t^2)
    const centred = magnitude * varianceDen * t - varianceNum;
    const gamma: Rational = { num: centred * centred, den: 2n * varianceNum * varianceDen * t * t };
    if (bernoulliExpNeg(rng, gamma)) return toSafeNumber(y);
  }
}
