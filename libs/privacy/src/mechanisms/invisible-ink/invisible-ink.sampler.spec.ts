import { type InvisibleInkParams, InvisibleInkSampler, invisibleInkRhoPerToken, publicTopKPlus } from './invisible-ink.sampler';
import { type Rng, SeededRng } from '../../rng';
import { neighbourBatches, randomInt, randomRows, worstLogProbabilityError } from '../../testing/logit-cases';
import { chiSquareTest } from '../../testing/statistical-tests';

function logProbabilities(sampler: InvisibleInkSampler, logits: Float32Array, rows: number, pub: Float32Array): Float64Array {
  const out = new Float64Array(sampler.vocabSize);
  sampler.privateLogProbabilities(logits, rows, pub, out);
  return out;
}

/** Plain-array log softmax, NaN as -Infinity, +Infinity entries share the mass, all -Infinity uniform. */
function referenceLogSoftmax(row: number[]): number[] {
  const clean = row.map((x) => (Number.isNaN(x) ? -Infinity : x));
  const max = Math.max(...clean);
  if (max === Infinity) {
    const m = clean.filter((x) => x === Infinity).length;
    return clean.map((x) => (x === Infinity ? -Math.log(m) : -Infinity));
  }
  if (max === -Infinity) return clean.map(() => -Math.log(clean.length));
  const logTotal = max + Math.log(clean.reduce((a, x) => a + Math.exp(x - max), 0));
  return clean.map((x) => x - logTotal);
}

/**
 * An independent reference of one step, written from the formula with plain arrays and a full sort:
 * phi = l_pub + sum_i clip_C(l_i - l_pub) / divisor over the top-k+ set, softmax(phi / tau).
 */
function referenceLogProbabilities(logits: Float32Array, rows: number, vocab: number, pub: Float32Array, p: InvisibleInkParams, divisor: number, clipRows = true): number[] {
  const lpub = referenceLogSoftmax([...pub.subarray(0, vocab)]);
  const sums = new Array<number>(vocab).fill(0);
  for (let i = 0; i < rows; i++) {
    const l = referenceLogSoftmax([...logits.subarray(i * vocab, (i + 1) * vocab)]);
    l.forEach((x, j) => {
      const d = x - lpub[j]!;
      sums[j] += Number.isNaN(d) ? 0 : clipRows ? Math.min(p.clip, Math.max(-p.clip, d)) : d;
    });
  }
  let candidates = Array.from({ length: vocab }, (_, j) => j);
  if (p.topK > 0 && p.topK < vocab) {
    const kth = [...lpub].sort((a, b) => b - a)[p.topK - 1]!;
    candidates = candidates.filter((j) => lpub[j]! >= kth - 2 * p.clip);
  }
  const scaled = Array.from({ length: vocab }, (_, j) => (candidates.includes(j) ? (lpub[j]! + sums[j]! / divisor) / p.temperature : -Infinity));
  const max = Math.max(...candidates.map((j) => scaled[j]!));
  if (max === -Infinity) return scaled.map((_, j) => (candidates.includes(j) ? -Math.log(candidates.length) : -Infinity));
  const logTotal = max + Math.log(candidates.reduce((a, j) => a + Math.exp(scaled[j]! - max), 0));
  return scaled.map((v) => v - logTotal);
}

interface Case {
  vocab: number;
  rows: number;
  params: InvisibleInkParams;
  logits: Float32Array;
  pub: Float32Array;
}

function randomCase(rng: Rng): Case {
  const vocab = randomInt(rng, 2, 12);
  const rows = randomInt(rng, 0, 6);
  return {
    vocab,
    rows,
    params: {
      clip: 0.05 + 4 * rng.nextDouble(),
      expectedBatchSize: rng.nextDouble() < 0.2 ? 0.5 + rng.nextDouble() : 1 + 9 * rng.nextDouble(),
      temperature: 0.1 + 3 * rng.nextDouble(),
      topK: rng.nextDouble() < 0.5 ? randomInt(rng, 1, vocab) : 0,
    },
    logits: randomRows(rng, rows + 1, vocab),
    pub: randomRows(rng, 1, vocab),
  };
}

function lossRange(p: ArrayLike<number>, q: ArrayLike<number>): { width: number; supportMismatch: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let supportMismatch = false;
  for (let y = 0; y < p.length; y++) {
    if (p[y] === -Infinity || q[y] === -Infinity) {
      if (p[y] !== q[y]) supportMismatch = true;
      continue;
    }
    min = Math.min(min, p[y]! - q[y]!);
    max = Math.max(max, p[y]! - q[y]!);
  }
  return { width: max === -Infinity ? 0 : max - min, supportMismatch };
}

describe('InvisibleInk step: exact privacy loss (bounded range 2C / (s tau))', () => {
  it('costs C^2 / (2 s^2 tau^2) per token (worked number)', () => {
    // C = 0.5, s = 8, tau = 1: 0.25 / 128 = 0.001953125.
    expect(invisibleInkRhoPerToken({ clip: 0.5, expectedBatchSize: 8, temperature: 1, topK: 40 })).toBe(0.001953125);
    expect(() => invisibleInkRhoPerToken({ clip: 0, expectedBatchSize: 8, temperature: 1, topK: 0 })).toThrow(/^clip /);
    expect(() => invisibleInkRhoPerToken({ clip: 1, expectedBatchSize: 8, temperature: 1, topK: -1 })).toThrow(/^topK /);
  });

  it('holds for 4000 random cases with extreme logits, adding and removing a row, and the bound is nearly attained', () => {
    const rng = new SeededRng('invisible-ink-loss');
    const failures: string[] = [];
    let worst = 0;
    for (let t = 0; t < 4000; t++) {
      const c = randomCase(rng);
      const sampler = new InvisibleInkSampler(c.vocab, c.params, rng);
      const eta = (2 * c.params.clip) / (c.params.expectedBatchSize * c.params.temperature);
      const base = logProbabilities(sampler, c.logits, c.rows, c.pub);
      // One row added, and one removed (a random row replaced by the last).
      const neighbours = neighbourBatches(rng, c.logits, c.rows, c.vocab).map((n) => logProbabilities(sampler, n.logits, n.rows, c.pub));
      for (const neighbour of neighbours) {
        const { width, supportMismatch } = lossRange(base, neighbour);
        if (supportMismatch || !(width <= eta * (1 + 1e-9) + 1e-12)) failures.push(`case ${t}: width ${width}, eta ${eta}, support mismatch ${supportMismatch}`);
        worst = Math.max(worst, width / eta);
      }
    }
    expect(failures).toEqual([]);
    expect(worst).toBeGreaterThan(0.95);
  });

  it('the harness catches an unclipped difference and a division by the actual row count', () => {
    const rng = new SeededRng('invisible-ink-negative-control');
    let unclipped = 0;
    let byRows = 0;
    for (let t = 0; t < 500; t++) {
      const c = randomCase(rng);
      const eta = (2 * c.params.clip) / (c.params.expectedBatchSize * c.params.temperature);
      const s = c.params.expectedBatchSize;
      const a = referenceLogProbabilities(c.logits, c.rows, c.vocab, c.pub, c.params, s, false);
      const b = referenceLogProbabilities(c.logits, c.rows + 1, c.vocab, c.pub, c.params, s, false);
      if (lossRange(a, b).width > eta * (1 + 1e-6)) unclipped += 1;
      const d = referenceLogProbabilities(c.logits, c.rows, c.vocab, c.pub, c.params, Math.max(c.rows, 1));
      const e = referenceLogProbabilities(c.logits, c.rows + 1, c.vocab, c.pub, c.params, c.rows + 1);
      if (lossRange(d, e).width > eta * (1 + 1e-6)) byRows += 1;
    }
    expect(unclipped).toBeGreaterThan(50);
    expect(byRows).toBeGreaterThan(50);
  });

  it('matches the independent reference implementation on every case', () => {
    const rng = new SeededRng('invisible-ink-reference');
    let worst = 0;
    for (let t = 0; t < 2000; t++) {
      const c = randomCase(rng);
      const ours = logProbabilities(new InvisibleInkSampler(c.vocab, c.params, rng), c.logits, c.rows, c.pub);
      const reference = referenceLogProbabilities(c.logits, c.rows, c.vocab, c.pub, c.params, c.params.expectedBatchSize);
      worst = Math.max(worst, worstLogProbabilityError(ours, reference));
    }
    expect(worst).toBeLessThan(1e-9);
  });
});

describe('InvisibleInk step: candidates and sampling', () => {
  it('top-k+ is the public top-k widened by 2C, restricted to the allowed tokens, and independent of the private rows', () => {
    const lp = Float64Array.from([-1, -2, -3, -3.5, -6, -Infinity]);
    expect([...publicTopKPlus(lp, 6, 2, 0.5, null)]).toEqual([0, 1, 2]); // k-th = -2, floor -3
    expect([...publicTopKPlus(lp, 6, 2, 0.8, null)]).toEqual([0, 1, 2, 3]); // floor -3.6
    expect([...publicTopKPlus(lp, 6, 0, 0.5, null)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...publicTopKPlus(lp, 6, 2, 0.5, Uint8Array.from([0, 1, 1, 1, 1, 1]))]).toEqual([1, 2, 3]); // k-th among allowed = -3
    const sampler = new InvisibleInkSampler(6, { clip: 0.5, expectedBatchSize: 2, temperature: 1, topK: 2 }, new SeededRng(1));
    const pub = Float32Array.from(lp);
    const out = new Float64Array(6);
    for (const rows of [Float32Array.from([9, -9, -9, -9, 50, 9]), Float32Array.from([0, 0, 0, 0, 0, 0])]) {
      sampler.privateLogProbabilities(rows, 1, pub, out);
      expect([...out].map((v) => v > -Infinity)).toEqual([true, true, true, false, false, false]);
    }
  });

  it('samples exactly its stated distribution (chi-square against the exact probabilities, p > 1e-4)', () => {
    const rng = new SeededRng('invisible-ink-sampling');
    const vocab = 8;
    const params = { clip: 1, expectedBatchSize: 3, temperature: 0.8, topK: 0 };
    const logits = Float32Array.from({ length: 3 * vocab }, (_, i) => Math.sin(i) * 3);
    const pub = Float32Array.from({ length: vocab }, (_, j) => -j / 3);
    const sampler = new InvisibleInkSampler(vocab, params, rng);
    const exact = logProbabilities(sampler, logits, 3, pub);
    const counts = new Array<number>(vocab).fill(0);
    for (let i = 0; i < 40000; i++) counts[sampler.next(logits, 3, pub).token] += 1;
    expect(chiSquareTest(counts, [...exact].map(Math.exp)).pValue).toBeGreaterThan(1e-4);
    expect(sampler.privateSteps).toBe(40000);
  });

  it('with no private row it samples the public distribution at temperature tau', () => {
    const sampler = new InvisibleInkSampler(4, { clip: 1, expectedBatchSize: 3, temperature: 2, topK: 0 }, new SeededRng(0));
    const pub = Float32Array.from([1, 2, 3, 4]);
    const out = logProbabilities(sampler, new Float32Array(0), 0, pub);
    const expected = referenceLogSoftmax([0.5, 1, 1.5, 2]);
    out.forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 12));
  });

  it('has the engine-facing shape of PrivateTokenSampler: every step private, no drafter statistic', () => {
    const sampler = new InvisibleInkSampler(4, { clip: 1, expectedBatchSize: 3, temperature: 1, topK: 0 }, new SeededRng(3));
    const rows = Float32Array.from([1, 2, 3, 4, 4, 3, 2, 1]);
    const pub = Float32Array.from([0, 0, 0, 0]);
    expect(sampler.isPrivateStep(rows, 2, pub)).toBe(true);
    expect(sampler.samplePrivate(rows, 2, pub)).toBeGreaterThanOrEqual(0);
    expect(sampler.privateSteps).toBe(1);
    expect(sampler.samplePublic(pub)).toBeLessThan(4);
    expect(sampler.privateSteps).toBe(1);
    expect(sampler.lastStatistic).toBeNaN();
  });

  it('refuses logits that do not match the vocabulary, naming the field', () => {
    const sampler = new InvisibleInkSampler(4, { clip: 1, expectedBatchSize: 3, temperature: 1, topK: 0 }, new SeededRng(0));
    expect(() => sampler.next(new Float32Array(7), 2, new Float32Array(4))).toThrow(/^logits must hold privateRows \* vocabSize = 8/);
    expect(() => sampler.next(new Float32Array(8), 2, new Float32Array(3))).toThrow(/^publicLogits /);
    expect(() => sampler.restrictTo(new Uint8Array(2))).toThrow(/^allowed /);
  });
});
