/*
 * Reference statistics for the privacy library's specs (not exported from the library): p-values
 * of the chi-square and Kolmogorov-Smirnov tests, the normal CDF, and a counting Rng wrapper.
 * With fixed seeds every test is deterministic; the thresholds below say how surprising a failure
 * would be for a correct sampler under a fresh seed.
 */
import { type Rng } from '../rng';

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9; relative error about 1e-15). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The regularised upper incomplete gamma function Q(a, x) (series / continued fraction). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  // Lentz's continued fraction for Q.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * h;
}

/** p-value of Pearson's chi-square statistic with `dof` degrees of freedom. */
export function chiSquarePValue(statistic: number, dof: number): number {
  return upperRegularizedGamma(dof / 2, statistic / 2);
}

/**
 * Pearson's chi-square goodness of fit of observed counts against exact probabilities. Cells whose
 * expected count is below 5 are pooled into one cell (the usual validity rule). Returns the
 * statistic, the degrees of freedom and the p-value.
 */
export function chiSquareTest(observed: ArrayLike<number>, probabilities: ArrayLike<number>): { statistic: number; dof: number; pValue: number } {
  let total = 0;
  for (let j = 0; j < observed.length; j++) total += observed[j]!;
  let statistic = 0;
  let cells = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let j = 0; j < observed.length; j++) {
    const expected = probabilities[j]! * total;
    if (expected < 5) {
      pooledObserved += observed[j]!;
      pooledExpected += expected;
      continue;
    }
    statistic += (observed[j]! - expected) ** 2 / expected;
    cells += 1;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / Math.max(pooledExpected, 1e-300);
    cells += 1;
  }
  const dof = cells - 1;
  return { statistic, dof, pValue: chiSquarePValue(statistic, dof) };
}

/** The two-sided Kolmogorov-Smirnov statistic of a sample against a continuous CDF. */
export function kolmogorovSmirnov(sample: readonly number[], cdf: (x: number) => number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  const n = sorted.length;
  let worst = 0;
  sorted.forEach((x, i) => {
    const f = cdf(x);
    worst = Math.max(worst, f - i / n, (i + 1) / n - f);
  });
  return worst;
}

/** Asymptotic critical value of the KS statistic at significance `alpha`: sqrt(ln(2/alpha) / 2) / sqrt(n). */
export function kolmogorovSmirnovCritical(n: number, alpha: number): number {
  return Math.sqrt(Math.log(2 / alpha) / 2) / Math.sqrt(n);
}

/** erfc(x) for x >= 0 by the continued fraction (x >= 2) or the Taylor series of erf; relative error below 1e-12. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated bottom-up
  let fraction = x;
  for (let k = 200; k >= 1; k--) fraction = x + k / 2 / fraction;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / fraction;
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** An Rng that counts the draws of another (to check how much randomness a step consumes). */
export class CountingRng implements Rng {
  draws = 0;
  constructor(private readonly inner: Rng) {}
  nextDouble(): number {
    this.draws += 1;
    return this.inner.nextDouble();
  }
}

/** An Rng replaying a fixed sequence (for deterministic edge cases); throws when exhausted. */
export class ScriptedRng implements Rng {
  private index = 0;
  constructor(private readonly values: readonly number[]) {}
  nextDouble(): number {
    if (this.index >= this.values.length) throw new Error('ScriptedRng exhausted');
    return this.values[this.index++]!;
  }
}
