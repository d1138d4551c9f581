import { sampleGaussian, sampleLaplace, sampleStandardExponential } from './noise';
import { PrivacyError } from './privacy.errors';
import { SeededRng } from './rng';
import { ScriptedRng, kolmogorovSmirnov, kolmogorovSmirnovCritical, normalCdf } from './testing/statistical-tests';

/*
 * Tolerances: with n draws, a sample mean is checked to within 5 standard errors (sd / sqrt(n)),
 * a sample variance to within 5 standard errors (sqrt((mu4 - sigma^4) / n)), a tail frequency to
 * within 5 binomial standard errors plus 1/n, and the whole law with the Kolmogorov-Smirnov test at
 * alpha = 1e-4. A correct sampler fails any one of these for fewer than 1 seed in 10,000; the
 * seeds are fixed, so the suite is deterministic.
 */
const N = 40_000;

function moments(sample: readonly number[]): { mean: number; variance: number } {
  const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
  const variance = sample.reduce((a, x) => a + (x - mean) ** 2, 0) / (sample.length - 1);
  return { mean, variance };
}

function tailFrequency(sample: readonly number[], threshold: number): number {
  return sample.filter((x) => Math.abs(x) > threshold).length / sample.length;
}

function expectTail(sample: readonly number[], threshold: number, exact: number): void {
  const tolerance = 5 * Math.sqrt((exact * (1 - exact)) / sample.length) + 1 / sample.length;
  expect(Math.abs(tailFrequency(sample, threshold) - exact)).toBeLessThan(tolerance);
}

describe('sampleStandardExponential', () => {
  it('follows Exp(1): mean, variance and the whole CDF', () => {
    const rng = new SeededRng('exponential');
    const sample = Array.from({ length: N }, () => sampleStandardExponential(rng));
    const { mean, variance } = moments(sample);
    expect(Math.abs(mean - 1)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(8 / N)); // mu4 = 9, sigma^4 = 1
    expect(kolmogorovSmirnov(sample, (x) => 1 - Math.exp(-x))).toBeLessThan(kolmogorovSmirnovCritical(N, 1e-4));
    expect(Math.min(...sample)).toBeGreaterThan(0);
  });

  it('reads the leading zero bits of U across draws: the tail is not truncated at 53 ln 2', () => {
    // Two all-zero 53-bit draws, then one whose first 1 bit is at position 10 (u = 2^-10), then F = 0:
    // U = 2^-(53 + 53 + 10) exactly, so -ln U = 116 ln 2, far beyond the 36.7 of a one-draw sampler.
    const x = sampleStandardExponential(new ScriptedRng([0, 0, 2 ** -10, 0]));
    expect(x).toBeCloseTo(116 * Math.LN2, 12);
    // First bit already 1 (u >= 1/2): U = (1 + F) / 2 with F = 0.5, -ln U = ln 2 - log1p(0.5).
    expect(sampleStandardExponential(new ScriptedRng([0.75, 0.5]))).toBeCloseTo(Math.LN2 - Math.log1p(0.5), 15);
    // The smallest nonzero 53-bit draw (k = 1) has 52 leading zeros.
    expect(sampleStandardExponential(new ScriptedRng([2 ** -53, 0]))).toBeCloseTo(53 * Math.LN2, 12);
  });
});

describe('sampleLaplace', () => {
  const scale = 1.7;
  const rng = new SeededRng('laplace');
  const sample = Array.from({ length: N }, () => sampleLaplace(rng, scale));

  it('has mean 0 and variance 2 b^2', () => {
    const { mean, variance } = moments(sample);
    expect(Math.abs(mean)).toBeLessThan((5 * scale * Math.SQRT2) / Math.sqrt(N));
    // mu4 = 24 b^4, sigma^4 = 4 b^4
    expect(Math.abs(variance - 2 * scale ** 2)).toBeLessThan(5 * Math.sqrt((20 * scale ** 4) / N));
  });

  it('has tails P(|X| > k b) = e^-k', () => {
    for (const k of [0.5, 1, 2, 4, 6]) expectTail(sample, k * scale, Math.exp(-k));
  });

  it('matches the Laplace CDF (Kolmogorov-Smirnov) and is symmetric', () => {
    const cdf = (x: number): number => (x < 0 ? 0.5 * Math.exp(x / scale) : 1 - 0.5 * Math.exp(-x / scale));
    expect(kolmogorovSmirnov(sample, cdf)).toBeLessThan(kolmogorovSmirnovCritical(N, 1e-4));
    const positive = sample.filter((x) => x > 0).length / N;
    expect(Math.abs(positive - 0.5)).toBeLessThan(5 * 0.5 / Math.sqrt(N));
  });

  it('refuses a non-positive or non-finite scale, naming it', () => {
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      expect(() => sampleLaplace(rng, bad)).toThrow(PrivacyError);
      expect(() => sampleLaplace(rng, bad)).toThrow(/^scale /);
    }
  });
});

describe('sampleGaussian', () => {
  const sigma = 2.5;
  const rng = new SeededRng('gaussian');
  const sample = Array.from({ length: N }, () => sampleGaussian(rng, sigma));

  it('has mean 0 and variance sigma^2', () => {
    const { mean, variance } = moments(sample);
    expect(Math.abs(mean)).toBeLessThan((5 * sigma) / Math.sqrt(N));
    expect(Math.abs(variance - sigma ** 2)).toBeLessThan(5 * Math.sqrt((2 * sigma ** 4) / N)); // mu4 = 3 sigma^4
  });

  it('has normal tails and matches the normal CDF (Kolmogorov-Smirnov)', () => {
    for (const k of [1, 2, 3, 3.5]) expectTail(sample, k * sigma, 2 * normalCdf(-k));
    expect(kolmogorovSmirnov(sample, (x) => normalCdf(x / sigma))).toBeLessThan(kolmogorovSmirnovCritical(N, 1e-4));
  });

  it('refuses a non-positive sigma', () => {
    expect(() => sampleGaussian(rng, 0)).toThrow(/^sigma must be a finite number > 0/);
  });
});
