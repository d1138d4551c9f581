import { SeededRng } from './rng';
import { chiSquareTest } from './testing/statistical-tests';
import { fillRow, randomInt, randomKind, randomRows } from './testing/logit-cases';
import {
  accumulateClippedRows,
  accumulateSoftmaxRow,
  argmaxIndex,
  clipAndRecentre,
  expNonPositive,
  privateAggregate,
  rowMaximum,
  sampleFromWeights,
  selectTopK,
  softmaxWeights,
  sparseVectorStatistic,
} from './token-mechanism';

describe('clipAndRecentre', () => {
  it('is max(-c, z_j - max(z) + c): the DESIGN.md example [2, 1, -30], c 10 gives [10, 9, -10]', () => {
    expect(Array.from(clipAndRecentre(new Float32Array([2, 1, -30]), 10))).toEqual([10, 9, -10]);
    expect(Array.from(clipAndRecentre([0.5, 0.5, -1], 1))).toEqual([1, 1, -0.5]);
  });

  it('takes limits on infinite rows and sends NaN and -Infinity to -c', () => {
    expect(Array.from(clipAndRecentre([Infinity, 3, Infinity, Number.NaN], 2))).toEqual([2, -2, 2, -2]);
    expect(Array.from(clipAndRecentre([-Infinity, -Infinity], 2))).toEqual([2, 2]);
    expect(Array.from(clipAndRecentre([Number.NaN, Number.NaN], 2))).toEqual([-2, -2]);
    expect(Array.from(clipAndRecentre([5, -Infinity, Number.NaN, 4.5], 2))).toEqual([2, -2, -2, 1.5]);
  });

  it('always lands in [-c, c] with the row maximum at exactly c, for thousands of extreme rows', () => {
    const rng = new SeededRng('clip-range');
    let violations = 0;
    for (let t = 0; t < 3000; t++) {
      const vocab = randomInt(rng, 1, 16);
      const row = new Float32Array(vocab);
      fillRow(rng, row, 0, vocab, randomKind(rng));
      const clip = 0.01 + 30 * rng.nextDouble();
      const clipped = clipAndRecentre(row, clip);
      const max = rowMaximum(row, 0, vocab);
      clipped.forEach((v, j) => {
        if (!(v >= -clip && v <= clip)) violations += 1;
        if (row[j] === max && v !== clip) violations += 1;
      });
    }
    expect(violations).toBe(0);
  });
});

describe('accumulateClippedRows', () => {
  it('sums clipped rows (restricted to candidates when given), whatever the rows hold', () => {
    const rng = new SeededRng('aggregate');
    for (let t = 0; t < 500; t++) {
      const vocab = randomInt(rng, 1, 12);
      const rows = randomInt(rng, 0, 6);
      const logits = randomRows(rng, rows, vocab);
      const clip = 0.5 + 10 * rng.nextDouble();
      const expected = new Float64Array(vocab);
      for (let i = 0; i < rows; i++) clipAndRecentre(logits.subarray(i * vocab, (i + 1) * vocab), clip).forEach((v, j) => (expected[j] += v));
      const acc = new Float64Array(vocab).fill(123); // stale contents must be overwritten
      accumulateClippedRows(acc, logits, rows, vocab, clip, null, vocab, null);
      expect(Array.from(acc)).toEqual(Array.from(expected));
      const candidates = Int32Array.from([vocab - 1, 0]);
      accumulateClippedRows(acc, logits, rows, vocab, clip, candidates, vocab > 1 ? 2 : 1, null);
      expect(acc[0]).toBe(expected[vocab - 1]);
      if (vocab > 1) expect(acc[1]).toBe(expected[0]);
    }
  });
});

describe('privateAggregate', () => {
  it('is the sum of clipped rows divided by s, not by the row count', () => {
    // Rows [2, 1, -30] and [0, 0, 0], c 10: clipped [10, 9, -10] and [10, 10, 10]; s 4 (two rows present).
    const zbar = privateAggregate(new Float32Array([2, 1, -30, 0, 0, 0]), 2, 3, 10, 4);
    expect(Array.from(zbar)).toEqual([5, 4.75, 0]);
    expect(Array.from(privateAggregate(new Float32Array(0), 0, 3, 10, 4))).toEqual([0, 0, 0]);
  });
});

describe('sparseVectorStatistic', () => {
  it('is || sum softmax(z_i) / s - softmax(z_pub) ||_1 on a hand-computed case', () => {
    // softmax([0, ln 3]) = [1/4, 3/4]; two such rows over s = 4 give [1/8, 3/8]; public [1/2, 1/2].
    const logits = new Float32Array([0, Math.log(3), 0, Math.log(3)]);
    const d = sparseVectorStatistic(logits, 2, 2, new Float32Array([5, 5]), 4, new Float64Array(2), new Float64Array(2), null);
    expect(d).toBeCloseTo(Math.abs(1 / 8 - 1 / 2) + Math.abs(3 / 8 - 1 / 2), 7);
    // No private rows: d = || softmax(z_pub) ||_1 = 1.
    expect(sparseVectorStatistic(logits, 0, 2, new Float32Array([1, 2]), 4, new Float64Array(2), new Float64Array(2), null)).toBeCloseTo(1, 15);
  });

  it('has sensitivity at most 1/s under adding or removing a row, for thousands of extreme cases', () => {
    const rng = new SeededRng('svt-sensitivity');
    let worstRatio = 0;
    for (let t = 0; t < 4000; t++) {
      const vocab = randomInt(rng, 2, 12);
      const rows = randomInt(rng, 0, 8);
      const s = rng.nextDouble() < 0.2 ? 0.5 + rng.nextDouble() : 1 + 30 * rng.nextDouble();
      const logits = randomRows(rng, rows + 1, vocab); // the last row is the one added
      const pub = randomRows(rng, 1, vocab);
      const mean = new Float64Array(vocab);
      const scratch = new Float64Array(vocab);
      const without = sparseVectorStatistic(logits, rows, vocab, pub, s, mean, scratch, null);
      const withRow = sparseVectorStatistic(logits, rows + 1, vocab, pub, s, mean, scratch, null);
      // Removing: drop a random row i by moving the last row into its place.
      const removed = Float32Array.from(logits);
      if (rows > 0) {
        const i = randomInt(rng, 0, rows - 1);
        removed.copyWithin(i * vocab, rows * vocab, (rows + 1) * vocab);
        const withoutI = sparseVectorStatistic(removed, rows, vocab, pub, s, mean, scratch, null);
        const d = sparseVectorStatistic(logits, rows + 1, vocab, pub, s, mean, scratch, null);
        expect(Math.abs(d - withoutI)).toBeLessThanOrEqual(1 / s + 1e-12);
      }
      expect(Math.abs(withRow - without)).toBeLessThanOrEqual(1 / s + 1e-12);
      expect(without).toBeGreaterThanOrEqual(0);
      expect(without).toBeLessThanOrEqual(1 + rows / s + 1e-12);
      worstRatio = Math.max(worstRatio, Math.abs(withRow - without) * s);
    }
    // The bound is tight: some added rows move the statistic by (almost) exactly 1/s.
    expect(worstRatio).toBeGreaterThan(0.99);
  });

  it('reports each row maximum for the clipping pass', () => {
    const logits = new Float32Array([1, 5, -2, Number.NaN, -Infinity, 3]);
    const maxima = new Float64Array(2);
    sparseVectorStatistic(logits, 2, 3, new Float32Array(3), 1, new Float64Array(3), new Float64Array(3), maxima);
    expect(Array.from(maxima)).toEqual([5, 3]);
  });
});

describe('expNonPositive (the statistic\'s exp)', () => {
  it('is within 1e-15 relative of Math.exp on [-708, 0], exactly 1 at 0, and 0 for -Infinity and NaN', () => {
    const rng = new SeededRng('fast-exp');
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const x = i % 2 === 0 ? -708 * rng.nextDouble() : -rng.nextDouble() * 10 ** (-20 * rng.nextDouble());
      worst = Math.max(worst, Math.abs(expNonPositive(x) / Math.exp(x) - 1));
    }
    for (const x of [-708, -1, -Math.LN2 / 128, -Math.LN2, -1e-300, -Number.MIN_VALUE]) worst = Math.max(worst, Math.abs(expNonPositive(x) / Math.exp(x) - 1));
    expect(worst).toBeLessThan(1e-15);
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-0)).toBe(1);
    expect(expNonPositive(-Infinity)).toBe(0);
    expect(expNonPositive(Number.NaN)).toBe(0);
    for (const x of [-720, -744.9, -746]) expect(expNonPositive(x) >= 0 && expNonPositive(x) < 1e-307).toBe(true);
  });
});

describe('accumulateSoftmaxRow', () => {
  it('adds a probability vector times the weight, for any row', () => {
    const rng = new SeededRng('softmax-row');
    for (let t = 0; t < 2000; t++) {
      const vocab = randomInt(rng, 1, 10);
      const row = randomRows(rng, 1, vocab);
      const acc = new Float64Array(vocab);
      accumulateSoftmaxRow(acc, row, 0, vocab, 0.25, new Float64Array(vocab));
      expect(acc.every((v) => v >= 0)).toBe(true);
      expect(acc.reduce((a, b) => a + b, 0)).toBeCloseTo(0.25, 14);
    }
  });
});

describe('softmaxWeights and sampleFromWeights', () => {
  it('weights are exp((x - max) * scale) with the maximum at exactly 1, in log space (no overflow)', () => {
    const weights = new Float64Array(3);
    const total = softmaxWeights(weights, new Float64Array([1000, 999, -Infinity]), 0, 3, 1, null, 3);
    expect(Array.from(weights)).toEqual([1, Math.exp(-1), 0]);
    expect(total).toBeCloseTo(1 + Math.exp(-1), 15);
  });

  it('sampleFromWeights draws index j with probability w_j / total (chi-square, p > 1e-4)', () => {
    const weights = Float64Array.from([0.5, 0, 3, 1e-3, 2, 0.25, 1]);
    const total = weights.reduce((a, b) => a + b, 0);
    const rng = new SeededRng('sample-from-weights');
    const counts = new Array<number>(weights.length).fill(0);
    for (let i = 0; i < 60_000; i++) counts[sampleFromWeights(weights, weights.length, total, rng)] += 1;
    expect(counts[1]).toBe(0); // zero weight is never drawn
    expect(chiSquareTest(counts, Array.from(weights, (w) => w / total)).pValue).toBeGreaterThan(1e-4);
  });

  it('never returns a zero-weight index, even when the uniform rounds past the last sum', () => {
    const almostOne = { nextDouble: (): number => 1 - 2 ** -53 };
    expect(sampleFromWeights(Float64Array.from([0.1, 0.7, 0]), 3, 0.1 + 0.7, almostOne)).toBe(1);
  });
});

describe('selectTopK and argmaxIndex', () => {
  it('select the k largest public logits, ties to the smaller id, NaN as -Infinity', () => {
    const rng = new SeededRng('top-k');
    for (let t = 0; t < 2000; t++) {
      const vocab = randomInt(rng, 1, 30);
      const values = randomRows(rng, 1, vocab);
      const k = randomInt(rng, 1, vocab + 2);
      const out = new Int32Array(k);
      const count = selectTopK(values, vocab, k, out);
      const key = (j: number): number => (Number.isNaN(values[j]) ? -Infinity : values[j]!);
      // Rank by value (descending), then id; compared explicitly because Infinity - Infinity is NaN.
      const ranked = Array.from({ length: vocab }, (_, j) => j).sort((a, b) => (key(a) === key(b) ? a - b : key(b) > key(a) ? 1 : -1));
      expect(count).toBe(Math.min(k, vocab));
      expect(Array.from(out.subarray(0, count)).sort((a, b) => a - b)).toEqual(ranked.slice(0, count).sort((a, b) => a - b));
      expect(argmaxIndex(values, 0, null, vocab)).toBe(ranked[0]);
    }
  });
});
