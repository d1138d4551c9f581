import { gaussianSigmaForRho } from './accountant';
import { clampCounts, gaussianCountRho, noisyCounts } from './count-mechanism';
import { SeededRng } from './rng';

describe('Gaussian count mechanism (noisy label counts)', () => {
  it('costs 1 / (2 sigma^2) for the whole vector, whatever the number of labels', () => {
    expect(gaussianCountRho(5)).toBeCloseTo(0.02, 15);
    const rng = new SeededRng('counts');
    expect(noisyCounts(rng, [10, 20], 5).rho).toBe(noisyCounts(rng, [1, 2, 3, 4, 5, 6], 5).rho);
  });

  it('adds independent integer noise with standard deviation sigma to each count', () => {
    const rng = new SeededRng('counts-noise');
    const sigma = gaussianSigmaForRho(0.01); // about 7.07
    const n = 4000;
    const truth = [120, 0, 3000];
    const sums = [0, 0, 0];
    const squares = [0, 0, 0];
    let nonInteger = 0;
    for (let i = 0; i < n; i++) {
      const { counts } = noisyCounts(rng, truth, sigma);
      counts.forEach((c, j) => {
        if (!Number.isInteger(c)) nonInteger += 1;
        sums[j] += c - truth[j]!;
        squares[j] += (c - truth[j]!) ** 2;
      });
    }
    expect(nonInteger).toBe(0);
    for (let j = 0; j < 3; j++) {
      // mean within 5 standard errors; variance within 5 standard errors (sqrt(2 sigma^4 / n)).
      expect(Math.abs(sums[j]! / n)).toBeLessThan((5 * sigma) / Math.sqrt(n));
      expect(Math.abs(squares[j]! / n - sigma ** 2)).toBeLessThan(5 * Math.sqrt((2 * sigma ** 4) / n) + 0.1);
    }
  });

  it('refuses non-integer or negative counts and a bad sigma, naming them', () => {
    const rng = new SeededRng(0);
    expect(() => noisyCounts(rng, [1, 2.5], 1)).toThrow(/^counts\[1\] /);
    expect(() => noisyCounts(rng, [-1], 1)).toThrow(/^counts\[0\] /);
    expect(() => noisyCounts(rng, [1], 0)).toThrow(/^sigma /);
  });

  it('clamping negative counts is post-processing', () => {
    expect(clampCounts([-3, 0, 7])).toEqual([0, 0, 7]);
  });
});
