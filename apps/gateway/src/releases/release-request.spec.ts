import { noisyCounts, SeededRng } from '@synthgate/privacy';
import { allocateFromNoisyCounts, dpCountMargin, maxDpCountBatches } from './release-request';

const total = (plan: readonly { batches: number }[]) => plan.reduce((sum, entry) => sum + entry.batches, 0);

describe('the public cap on DP_COUNT batches', () => {
  it.each([
    // [N, s, sigma, L, margin, cap]
    [10, 5, 20_000, 2, 2, 4], // the case: floor(N/s) = 2, the margin is capped at floor(N/s)
    [10, 5, 10, 2, 2, 4],
    [1000, 10, 5, 4, 3, 103], // ceil(3 * 5 * 2 / 10) = 3
    [1000, 10, 1, 1, 1, 101], // ceil(0.3) = 1
    [10, 10, 1, 3, 1, 3], // floor(N/s) + margin = 2 < L = 3: one batch per label
    [255_000, 255, 50, 9, 2, 1002], // ceil(3 * 50 * 3 / 255) = ceil(1.76) = 2
  ])('N=%i, s=%i, sigma=%f, L=%i: margin %i, cap %i', (recordCount, expectedBatchSize, sigma, labels, margin, cap) => {
    expect(dpCountMargin(recordCount, expectedBatchSize, sigma, labels)).toBe(margin);
    expect(maxDpCountBatches(recordCount, expectedBatchSize, sigma, labels)).toBe(cap);
  });
});

describe('allocateFromNoisyCounts', () => {
  it('keeps floor(noisy / s), at least one per label, when that is within the cap', () => {
    expect(allocateFromNoisyCounts([
      { label: 'a', noisyCount: 52 },
      { label: 'b', noisyCount: 31 },
      { label: 'c', noisyCount: -4 },
    ], 10, 10)).toEqual([
      { label: 'a', batches: 5, noisyCount: 52, offset: 0 },
      { label: 'b', batches: 3, noisyCount: 31, offset: 5 },
      { label: 'c', batches: 1, noisyCount: -4, offset: 8 },
    ]);
  });

  it('scales an allocation over the cap down to the cap: one per label, the rest by noisy count', () => {
    // sigma 20000 on 10 records once gave thousands of batches; now at most the cap (4).
    expect(allocateFromNoisyCounts([
      { label: 'a', noisyCount: 4000 },
      { label: 'b', noisyCount: -3000 },
    ], 5, 4)).toEqual([
      { label: 'a', batches: 3, noisyCount: 4000, offset: 0 },
      { label: 'b', batches: 1, noisyCount: -3000, offset: 3 },
    ]);
    // Equal counts: 7 - 3 = 4 shared as 1.33 each; the remainder goes to the earlier label.
    expect(allocateFromNoisyCounts([
      { label: 'a', noisyCount: 100 },
      { label: 'b', noisyCount: 100 },
      { label: 'c', noisyCount: 100 },
    ], 1, 7).map((entry) => entry.batches)).toEqual([3, 2, 2]);
  });

  it('refuses a cap below one batch per label', () => {
    expect(() => allocateFromNoisyCounts([{ label: 'a', noisyCount: 1 }, { label: 'b', noisyCount: 1 }], 1, 1)).toThrow('below one batch per label');
  });

  it('never exceeds the cap on real noisy counts, whatever sigma (seeded, 2,000 draws)', () => {
    const rng = new SeededRng(15);
    const exact = [6, 3, 1];
    for (let draw = 0; draw < 2000; draw++) {
      const sigma = [0.5, 2, 10][draw % 3]!;
      const cap = maxDpCountBatches(10, 2, sigma, exact.length);
      const noisy = noisyCounts(rng, exact, sigma).counts;
      const plan = allocateFromNoisyCounts(noisy.map((noisyCount, index) => ({ label: String(index), noisyCount })), 2, cap);
      expect(total(plan)).toBeLessThanOrEqual(cap);
      for (const entry of plan) expect(entry.batches).toBeGreaterThanOrEqual(1);
    }
  });
});
