import { bernoulliExpNeg, rationalFromDouble, sampleDiscreteGaussian, sampleDiscreteLaplace, uniformBigInt } from './discrete-noise';
import { SeededRng } from './rng';
import { chiSquareTest } from './testing/statistical-tests';

/*
 * The exact samplers are checked against their exact probability mass functions with Pearson's
 * chi-square test (cells with expected count < 5 pooled); a correct sampler fails with probability
 * 1e-4 per test under a fresh seed (the seeds are fixed).
 */
const P_MIN = 1e-4;

/** Histogram of integer samples over [-range, range], tails pooled into the end cells. */
function histogram(sample: readonly number[], range: number): number[] {
  const cells = new Array<number>(2 * range + 1).fill(0);
  for (const y of sample) cells[Math.max(-range, Math.min(range, y)) + range] += 1;
  return cells;
}

/** Exact pmf (with pooled tails) of a symmetric integer law with unnormalised weight w(|y|). */
function pooledPmf(weight: (magnitude: number) => number, range: number): number[] {
  const far = 10_000;
  let total = weight(0);
  for (let y = 1; y <= far; y++) total += 2 * weight(y);
  const cells = new Array<number>(2 * range + 1).fill(0);
  for (let y = -far; y <= far; y++) cells[Math.max(-range, Math.min(range, y)) + range] += weight(Math.abs(y)) / total;
  return cells;
}

describe('rationalFromDouble', () => {
  it('is the exact value of the double', () => {
    expect(rationalFromDouble(0.1)).toEqual({ num: 3602879701896397n, den: 36028797018963968n });
    expect(rationalFromDouble(3)).toEqual({ num: 3n, den: 1n });
    expect(rationalFromDouble(2 ** 70)).toEqual({ num: 1n << 70n, den: 1n });
    expect(rationalFromDouble(Number.MIN_VALUE)).toEqual({ num: 1n, den: 1n << 1074n });
    const rng = new SeededRng('rational');
    for (let i = 0; i < 200; i++) {
      const x = Math.exp(60 * (rng.nextDouble() - 0.5));
      const { num, den } = rationalFromDouble(x);
      expect(Number(num) / Number(den)).toBe(x);
      expect(num % 2n === 1n || den === 1n).toBe(true); // reduced
    }
  });
});

describe('uniformBigInt', () => {
  it('is uniform for small and for multi-word ranges', () => {
    const rng = new SeededRng('uniform-bigint');
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 14_000; i++) counts[Number(uniformBigInt(rng, 7n))] += 1;
    expect(chiSquareTest(counts, new Array<number>(7).fill(1 / 7)).pValue).toBeGreaterThan(P_MIN);

    const big = (1n << 100n) + 12345n; // needs two 53-bit chunks and rejection
    const bins = new Array<number>(8).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 8000; i++) {
      const value = uniformBigInt(rng, big);
      if (value < 0n || value >= big) outOfRange += 1;
      else bins[Number((value * 8n) / big)] += 1;
    }
    expect(outOfRange).toBe(0);
    expect(chiSquareTest(bins, new Array<number>(8).fill(1 / 8)).pValue).toBeGreaterThan(P_MIN);
  });
});

describe('bernoulliExpNeg', () => {
  it('is 1 with probability exp(-gamma), for gamma below and above 1', () => {
    const rng = new SeededRng('bernoulli-exp');
    const n = 20_000;
    for (const [num, den] of [
      [3n, 10n],
      [1n, 1n],
      [5n, 2n],
    ] as const) {
      let ones = 0;
      for (let i = 0; i < n; i++) if (bernoulliExpNeg(rng, { num, den })) ones += 1;
      const p = Math.exp(-Number(num) / Number(den));
      expect(Math.abs(ones / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });
});

describe('sampleDiscreteLaplace', () => {
  it.each([0.8, 2.5])('matches the exact pmf at scale %s', (scale) => {
    const rng = new SeededRng(`dlap-${scale}`);
    const sample = Array.from({ length: 20_000 }, () => sampleDiscreteLaplace(rng, scale));
    const range = Math.ceil(6 * scale);
    const test = chiSquareTest(histogram(sample, range), pooledPmf((m) => Math.exp(-m / scale), range));
    expect(test.pValue).toBeGreaterThan(P_MIN);
    expect(sample.every((y) => Number.isInteger(y))).toBe(true);
  });
});

describe('sampleDiscreteGaussian', () => {
  it.each([0.6, 3, 17.25])('matches the exact pmf at sigma %s', (sigma) => {
    const rng = new SeededRng(`dgauss-${sigma}`);
    const n = 20_000;
    const sample = Array.from({ length: n }, () => sampleDiscreteGaussian(rng, sigma));
    const range = Math.ceil(4 * sigma);
    const test = chiSquareTest(histogram(sample, range), pooledPmf((m) => Math.exp(-(m * m) / (2 * sigma * sigma)), range));
    expect(test.pValue).toBeGreaterThan(P_MIN);
    const mean = sample.reduce((a, b) => a + b, 0) / n;
    expect(Math.abs(mean)).toBeLessThan((5 * Math.max(sigma, 0.5)) / Math.sqrt(n));
  });

  it('refuses a non-positive sigma', () => {
    expect(() => sampleDiscreteGaussian(new SeededRng(0), 0)).toThrow(/^sigma /);
  });
});
