import { NonPrivateReferenceSampler } from '../non-private-reference/non-private-reference.sampler';
import { type TokenMechanismParams, PrivateTokenSampler } from './private-token-sampler';
import { PrivacyError } from '../../privacy.errors';
import { type Rng, SeededRng } from '../../rng';
import { neighbourBatches, randomInt, randomRows, worstLogProbabilityError } from '../../testing/logit-cases';
import { CountingRng, chiSquareTest } from '../../testing/statistical-tests';
import { sparseVectorStatistic } from '../../token-mechanism';

const BASE: TokenMechanismParams = { clip: 3, expectedBatchSize: 4, temperature: 0.7, publicTemperature: 1 };

function logProbabilities(sampler: PrivateTokenSampler, logits: Float32Array, rows: number, pub: Float32Array): Float64Array {
  const out = new Float64Array(sampler.vocabSize);
  sampler.privateLogProbabilities(logits, rows, pub, out);
  return out;
}

/**
 * An independent reference for one private step's distribution, written from DESIGN.md section 5
 * with plain arrays: clip and recentre each row (limits for infinite maxima, NaN as -Infinity),
 * sum, divide by s, then by tau, restrict to the public top-k, normalise with log-sum-exp.
 * `divisor` lets a test swap in the (wrong) actual row count.
 */
function referenceLogProbabilities(
  logits: Float32Array,
  rows: number,
  vocab: number,
  pub: Float32Array,
  p: { clip: number; temperature: number; topK: number },
  divisor: number,
  restriction: Uint8Array | null = null,
): number[] {
  const sum = new Array<number>(vocab).fill(0);
  for (let i = 0; i < rows; i++) {
    const row = Array.from(logits.subarray(i * vocab, (i + 1) * vocab), (x) => (Number.isNaN(x) ? -Infinity : x));
    const max = Math.max(...row);
    row.forEach((z, j) => {
      sum[j] += Number.isFinite(max) ? Math.max(-p.clip, z - max + p.clip) : z === max ? p.clip : -p.clip;
    });
  }
  const key = (j: number): number => (Number.isNaN(pub[j]) ? -Infinity : pub[j]!);
  // A public restriction (restrictTo) comes first; the top-k is taken among what it allows.
  const ids = Array.from({ length: vocab }, (_, j) => j).filter((j) => restriction === null || restriction[j] === 1);
  const allowed = new Set(
    p.topK > 0 && p.topK < ids.length ? ids.sort((a, b) => (key(a) === key(b) ? a - b : key(b) > key(a) ? 1 : -1)).slice(0, p.topK) : ids,
  );
  const scaled = sum.map((v, j) => (allowed.has(j) ? v / divisor / p.temperature : -Infinity));
  const max = Math.max(...scaled);
  const logTotal = max + Math.log(scaled.reduce((a, v) => a + Math.exp(v - max), 0));
  return scaled.map((v) => v - logTotal);
}

interface PrivacyCase {
  vocab: number;
  rows: number;
  params: TokenMechanismParams;
  logits: Float32Array; // rows + 1 rows: the last is the neighbour's extra row
  pub: Float32Array;
  /** A public restriction of the candidates (PrivateTokenSampler.restrictTo), never empty; null: none. */
  allowed: Uint8Array | null;
}

function randomCase(rng: Rng): PrivacyCase {
  const vocab = randomInt(rng, 2, 12);
  const rows = randomInt(rng, 0, 6);
  const expectedBatchSize = rng.nextDouble() < 0.2 ? 0.5 + rng.nextDouble() : 1 + 9 * rng.nextDouble();
  const params: TokenMechanismParams = {
    clip: 0.1 + 20 * rng.nextDouble(),
    expectedBatchSize,
    temperature: 0.1 + 5 * rng.nextDouble(),
    publicTemperature: 1,
    topK: rng.nextDouble() < 0.4 ? randomInt(rng, 1, vocab) : 0,
  };
  const logits = randomRows(rng, rows + 1, vocab);
  const pub = randomRows(rng, 1, vocab);
  let allowed: Uint8Array | null = null;
  if (rng.nextDouble() < 0.4) {
    allowed = Uint8Array.from({ length: vocab }, () => (rng.nextDouble() < 0.5 ? 1 : 0));
    allowed[randomInt(rng, 0, vocab - 1)] = 1;
  }
  return { vocab, rows, params, logits, pub, allowed };
}

/**
 * Width of the privacy-loss random variable's range, `max_y L(y) - min_y L(y)` with
 * `L(y) = log p(y) - log p'(y)`, over the tokens both distributions can produce (the top-k set is
 * public, so both have the same support), and the largest |L(y)|.
 */
function lossRange(p: ArrayLike<number>, q: ArrayLike<number>): { width: number; largest: number; supportMismatch: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let supportMismatch = false;
  for (let y = 0; y < p.length; y++) {
    const a = p[y]!;
    const b = q[y]!;
    if (a === -Infinity || b === -Infinity) {
      if (a !== b) supportMismatch = true;
      continue;
    }
    const loss = a - b;
    min = Math.min(min, loss);
    max = Math.max(max, loss);
  }
  return { width: max - min, largest: Math.max(Math.abs(min), Math.abs(max)), supportMismatch };
}

describe('private step: exact privacy loss (bounded range 2c / (s tau))', () => {
  const CASES = 4000;

  it(`holds for ${CASES} random cases with extreme logits, adding and removing a row`, () => {
    const rng = new SeededRng('privacy-loss');
    let worst = 0;
    const failures: string[] = [];
    for (let t = 0; t < CASES; t++) {
      const c = randomCase(rng);
      const sampler = new PrivateTokenSampler(c.vocab, c.params, rng);
      sampler.restrictTo(c.allowed);
      const eta = (2 * c.params.clip) / (c.params.expectedBatchSize * c.params.temperature);
      const tolerance = 1e-9 * (1 + eta);
      const base = logProbabilities(sampler, c.logits, c.rows, c.pub);
      // One row added, and one removed (a random row replaced by the last).
      const neighbours = neighbourBatches(rng, c.logits, c.rows, c.vocab).map((n) => logProbabilities(sampler, n.logits, n.rows, c.pub));
      for (const neighbour of neighbours) {
        const { width, largest, supportMismatch } = lossRange(base, neighbour);
        if (supportMismatch || !(width <= eta + tolerance) || !(largest <= eta + tolerance)) {
          failures.push(`case ${t}: width ${width}, largest ${largest}, eta ${eta}, support mismatch ${supportMismatch}`);
        }
        worst = Math.max(worst, width / eta);
      }
    }
    expect(failures).toEqual([]);
    // The bound is nearly attained (extreme rows), so the test has the power to catch a looser mechanism.
    expect(worst).toBeGreaterThan(0.95);
  });

  it('the same harness catches the classic bug of dividing by the actual row count', () => {
    const rng = new SeededRng('privacy-loss-negative-control');
    let violations = 0;
    for (let t = 0; t < 500; t++) {
      const c = randomCase(rng);
      const p = { clip: c.params.clip, temperature: c.params.temperature, topK: c.params.topK ?? 0 };
      const eta = (2 * c.params.clip) / (c.params.expectedBatchSize * c.params.temperature);
      const wrong = referenceLogProbabilities(c.logits, c.rows, c.vocab, c.pub, p, Math.max(c.rows, 1));
      const wrongNeighbour = referenceLogProbabilities(c.logits, c.rows + 1, c.vocab, c.pub, p, c.rows + 1);
      if (lossRange(wrong, wrongNeighbour).width > eta * (1 + 1e-6)) violations += 1;
    }
    expect(violations).toBeGreaterThan(50);
  });

  it('matches the independent reference implementation on every case', () => {
    const rng = new SeededRng('privacy-reference');
    let worst = 0;
    for (let t = 0; t < 2000; t++) {
      const c = randomCase(rng);
      const sampler = new PrivateTokenSampler(c.vocab, c.params, rng);
      sampler.restrictTo(c.allowed);
      const ours = logProbabilities(sampler, c.logits, c.rows, c.pub);
      const reference = referenceLogProbabilities(
        c.logits,
        c.rows,
        c.vocab,
        c.pub,
        { clip: c.params.clip, temperature: c.params.temperature, topK: c.params.topK ?? 0 },
        c.params.expectedBatchSize,
        c.allowed,
      );
      worst = Math.max(worst, worstLogProbabilityError(ours, reference));
    }
    expect(worst).toBeLessThan(1e-9);
  });
});

describe('private step: aggregation and sampling', () => {
  it('divides the clipped sum by the declared s, never by the row count', () => {
    // One row [0, -100], c 1: clipped [1, -1]; s 4, tau 1: zbar [0.25, -0.25].
    const sampler = new PrivateTokenSampler(2, { ...BASE, clip: 1, expectedBatchSize: 4, temperature: 1 }, new SeededRng(0));
    const logp = logProbabilities(sampler, new Float32Array([0, -100]), 1, new Float32Array(2));
    const lse = Math.log(Math.exp(0.25) + Math.exp(-0.25));
    expect(logp[0]).toBeCloseTo(0.25 - lse, 15);
    expect(logp[1]).toBeCloseTo(-0.25 - lse, 15);
  });

  it('is uniform over the vocabulary (or the top-k) when the batch is empty', () => {
    const sampler = new PrivateTokenSampler(5, BASE, new SeededRng(0));
    expect(Array.from(logProbabilities(sampler, new Float32Array(0), 0, new Float32Array(5)))).toEqual(new Array(5).fill(-Math.log(5)));
    const topK = new PrivateTokenSampler(5, { ...BASE, topK: 2 }, new SeededRng(0));
    const logp = logProbabilities(topK, new Float32Array(0), 0, new Float32Array([0, 9, 1, 9, 3]));
    expect(Array.from(logp)).toEqual([-Infinity, -Math.log(2), -Infinity, -Math.log(2), -Infinity]);
  });

  it('samples exactly its stated distribution (chi-square against the exact probabilities, p > 1e-4)', () => {
    const rng = new SeededRng('em-chi-square');
    const vocab = 25;
    const rows = 5;
    const logits = randomRows(new SeededRng('em-logits'), rows, vocab);
    const pub = randomRows(new SeededRng('em-public'), 1, vocab);
    // Three paths: samplePrivate, and next() with a drafter that always goes private (which reuses
    // the row maxima of the sparse-vector pass), with and without top-k.
    const alwaysPrivate = { threshold: -1e6, sigma: 1e-3 };
    for (const [topK, drafter] of [
      [0, null],
      [10, null],
      [10, alwaysPrivate],
    ] as const) {
      const sampler = new PrivateTokenSampler(vocab, { ...BASE, topK, drafter }, rng);
      const probabilities = Array.from(logProbabilities(sampler, logits, rows, pub), Math.exp);
      const counts = new Array<number>(vocab).fill(0);
      for (let i = 0; i < 12_000; i++) {
        const token = drafter === null ? sampler.samplePrivate(logits, rows, pub) : sampler.next(logits, rows, pub).token;
        counts[token] += 1;
      }
      const test = chiSquareTest(counts, probabilities);
      expect(test.dof).toBeGreaterThanOrEqual(topK === 0 ? 8 : 5);
      expect(test.pValue).toBeGreaterThan(1e-4);
      probabilities.forEach((p, y) => {
        if (p === 0) expect(counts[y]).toBe(0);
      });
    }
  });

  it('computes in log space: logits of 1e30 and float32 limits neither overflow nor produce NaN', () => {
    const sampler = new PrivateTokenSampler(3, { ...BASE, clip: 1e30, temperature: 1e-3 }, new SeededRng(1));
    const logits = new Float32Array([3.4e38, -3.4e38, 1e30, 0, 0, 0]);
    const logp = logProbabilities(sampler, logits, 2, new Float32Array(3));
    expect(logp.every((v) => !Number.isNaN(v))).toBe(true);
    expect(Math.exp(logp[0]!)).toBeCloseTo(1, 12);
    expect(sampler.samplePrivate(logits, 2, new Float32Array(3))).toBe(0);
  });

  it('restricts private sampling to the public top-k, which private rows cannot change', () => {
    const rng = new SeededRng('top-k-support');
    const pub = new Float32Array([0, 5, 1, 4, 3, 2]);
    const sampler = new PrivateTokenSampler(6, { ...BASE, topK: 3 }, rng);
    for (let t = 0; t < 200; t++) {
      const rows = randomInt(rng, 0, 5);
      const logits = randomRows(rng, rows, 6);
      const logp = logProbabilities(sampler, logits, rows, pub);
      expect(Array.from(logp, (v) => v > -Infinity)).toEqual([false, true, false, true, true, false]);
      expect([1, 3, 4]).toContain(sampler.samplePrivate(logits, rows, pub));
    }
  });
});

describe('public restriction (restrictTo)', () => {
  it('keeps every draw (private, public, greedy, non-private) inside the allowed set, the top-k taken among it', () => {
    const rng = new SeededRng('restrict-to');
    const pub = new Float32Array([0, 5, 1, 4, 3, 2]);
    const allowed = Uint8Array.of(1, 0, 1, 1, 0, 1);
    const samplers = [
      new PrivateTokenSampler(6, { ...BASE, topK: 2, drafter: { threshold: 0.5, sigma: 1 } }, rng),
      new PrivateTokenSampler(6, { ...BASE, publicTemperature: 0 }, rng),
      new NonPrivateReferenceSampler(6, { temperature: BASE.temperature, publicTemperature: BASE.publicTemperature, topK: 2 }, rng),
    ] as const;
    const seen = samplers.map(() => new Set<number>());
    for (let t = 0; t < 300; t++) {
      const rows = randomInt(rng, 0, 4);
      const logits = randomRows(rng, rows, 6);
      samplers.forEach((sampler, i) => {
        sampler.restrictTo(allowed);
        seen[i]!.add(sampler.next(logits, rows, pub).token);
        seen[i]!.add(sampler.samplePublic(pub));
      });
    }
    // Top-2 among {0, 2, 3, 5} by the public logits: 3 (4) and 5 (2).
    expect([...seen[0]!].sort()).toEqual([3, 5]);
    expect(seen[1]!.has(1) || seen[1]!.has(4)).toBe(false);
    expect([...seen[2]!].sort()).toEqual([3, 5]);
    const out = new Float64Array(6);
    samplers[0]!.restrictTo(null);
    samplers[0]!.publicLogProbabilities(pub, out);
    expect(Array.from(out, (v) => v > -Infinity)).toEqual([false, true, false, true, false, false]);
  });

  it('is ignored when it allows nothing, and refuses a set shorter than the vocabulary', () => {
    const sampler = new PrivateTokenSampler(3, BASE, new SeededRng('restrict-empty'));
    sampler.restrictTo(new Uint8Array(3));
    const out = new Float64Array(3);
    sampler.publicLogProbabilities(new Float32Array([1, 2, 3]), out);
    expect(out.every((v) => v > -Infinity)).toBe(true);
    expect(() => sampler.restrictTo(new Uint8Array(2))).toThrow(PrivacyError);
  });
});

describe('public step', () => {
  it('samples softmax(z_pub / tau_pub) (chi-square, p > 1e-4), within the top-k when set', () => {
    const rng = new SeededRng('public-chi-square');
    const pub = randomRows(new SeededRng('public-logits'), 1, 12);
    for (const topK of [0, 6]) {
      const sampler = new PrivateTokenSampler(12, { ...BASE, publicTemperature: 1.7, topK }, rng);
      const logp = new Float64Array(12);
      sampler.publicLogProbabilities(pub, logp);
      const expected = Array.from(logp, Math.exp);
      expect(expected.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      const counts = new Array<number>(12).fill(0);
      for (let i = 0; i < 40_000; i++) counts[sampler.samplePublic(pub)] += 1;
      expect(chiSquareTest(counts, expected).pValue).toBeGreaterThan(1e-4);
    }
  });

  it('is greedy at tau_pub 0 (ties to the smaller id)', () => {
    const sampler = new PrivateTokenSampler(4, { ...BASE, publicTemperature: 0 }, new SeededRng(0));
    expect(sampler.samplePublic(new Float32Array([1, 7, 7, Number.NaN]))).toBe(1);
    expect(() => sampler.publicLogProbabilities(new Float32Array(4), new Float64Array(4))).toThrow(/^publicTemperature /);
  });
});

describe('sparse-vector drafter', () => {
  /** P(Lap(2 sigma) - Lap(sigma) >= t): the sum of Laplaces with scales a = 2 sigma, b = sigma. */
  function probabilityPrivate(statistic: number, threshold: number, sigma: number): number {
    const a = 2 * sigma;
    const b = sigma;
    const tail = (t: number): number => (a * a * Math.exp(-t / a) - b * b * Math.exp(-t / b)) / (2 * (a * a - b * b));
    const t = threshold - statistic;
    return t >= 0 ? tail(t) : 1 - tail(-t);
  }

  it('exposes the statistic of the last tested step (NaN when no test ran), for aggregate metrics', () => {
    const vocab = 8;
    const logits = randomRows(new SeededRng('svt-last-logits'), 3, vocab);
    const pub = randomRows(new SeededRng('svt-last-public'), 1, vocab);
    const d = sparseVectorStatistic(logits, 3, vocab, pub, 4, new Float64Array(vocab), new Float64Array(vocab), null);
    const sampler = new PrivateTokenSampler(vocab, { ...BASE, expectedBatchSize: 4, drafter: { threshold: 0.5, sigma: 1 } }, new SeededRng(1));
    expect(sampler.lastStatistic).toBeNaN();
    sampler.next(logits, 3, pub);
    expect(sampler.lastStatistic).toBeCloseTo(d, 12);
    sampler.isPrivateStep(logits, 2, pub);
    expect(sampler.lastStatistic).toBeCloseTo(sparseVectorStatistic(logits, 2, vocab, pub, 4, new Float64Array(vocab), new Float64Array(vocab), null), 12);
    const plain = new PrivateTokenSampler(vocab, BASE, new SeededRng(1));
    plain.next(logits, 3, pub);
    expect(plain.lastStatistic).toBeNaN();
  });

  it('goes private with probability P(d + Lap(2 sigma) >= theta + Lap(sigma)) for a fresh threshold', () => {
    const vocab = 8;
    const rows = 3;
    const logits = randomRows(new SeededRng('svt-logits'), rows, vocab);
    const pub = randomRows(new SeededRng('svt-public'), 1, vocab);
    const d = sparseVectorStatistic(logits, rows, vocab, pub, 4, new Float64Array(vocab), new Float64Array(vocab), null);
    const rng = new SeededRng('svt-probability');
    const n = 10_000;
    for (const [threshold, sigma] of [
      [d, 0.2],
      [d + 0.3, 0.1],
      [d - 0.5, 0.4],
    ] as const) {
      let privateSteps = 0;
      for (let i = 0; i < n; i++) {
        const sampler = new PrivateTokenSampler(vocab, { ...BASE, drafter: { threshold, sigma } }, rng);
        if (sampler.isPrivateStep(logits, rows, pub)) privateSteps += 1;
      }
      const p = probabilityPrivate(d, threshold, sigma);
      expect(Math.abs(privateSteps / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n) + 1 / n);
    }
  });

  it('redraws the noisy threshold after each private step only (one Laplace draw per public step, two per private)', () => {
    const counting = new CountingRng(new SeededRng('svt-redraw'));
    const vocab = 6;
    const logits = randomRows(new SeededRng('svt-redraw-logits'), 4, vocab);
    const pub = randomRows(new SeededRng('svt-redraw-public'), 1, vocab);
    const sampler = new PrivateTokenSampler(vocab, { ...BASE, drafter: { threshold: 0.9, sigma: 0.3 } }, counting);
    // A Laplace draw takes 3 uniforms (leading-zero draw, fraction, sign) except with probability 2^-53.
    expect(counting.draws).toBe(3);
    const seen = new Set<string>();
    for (let step = 0; step < 300; step++) {
      const before = counting.draws;
      const decision = sampler.next(logits, 4, pub);
      const used = counting.draws - before;
      // public: query noise (3) + public sample (1); private: query (3) + new threshold (3) + sample (1)
      expect(used).toBe(decision.private ? 7 : 4);
      seen.add(String(decision.private));
    }
    expect(seen).toEqual(new Set(['true', 'false']));
    expect(sampler.privateSteps).toBeGreaterThan(0);
  });

  it('uses the public distribution for public steps and the private one for private steps', () => {
    // Public row strongly prefers token 0, private rows token 1; with theta far below d every step is
    // private, far above every step is public.
    const logits = new Float32Array([0, 50, 0, 50]);
    const pub = new Float32Array([50, 0]);
    const alwaysPrivate = new PrivateTokenSampler(2, { ...BASE, clip: 20, temperature: 0.1, drafter: { threshold: -100, sigma: 0.01 } }, new SeededRng(3));
    const alwaysPublic = new PrivateTokenSampler(2, { ...BASE, clip: 20, temperature: 0.1, drafter: { threshold: 100, sigma: 0.01 } }, new SeededRng(3));
    for (let i = 0; i < 50; i++) {
      expect(alwaysPrivate.next(logits, 2, pub)).toEqual({ token: 1, private: true });
      expect(alwaysPublic.next(logits, 2, pub)).toEqual({ token: 0, private: false });
    }
    expect(alwaysPrivate.privateSteps).toBe(50);
    expect(alwaysPublic.privateSteps).toBe(0);
  });
});

describe('PrivateTokenSampler without drafter, and the non-private reference', () => {
  it('without a drafter every step is private', () => {
    const sampler = new PrivateTokenSampler(3, BASE, new SeededRng(0));
    for (let i = 0; i < 20; i++) expect(sampler.next(new Float32Array(6), 2, new Float32Array(3)).private).toBe(true);
    expect(sampler.privateSteps).toBe(20);
  });

  it('the non-private reference samples softmax(mean of raw logits / tau) over the actual rows', () => {
    // Rows [0, ln 3 - 1] and [0, ln 3 + 1]: mean [0, ln 3]; tau 1 gives P(1) = 3/4. No clipping: with c 0.01
    // a private mechanism would be near uniform.
    const sampler = new NonPrivateReferenceSampler(2, { temperature: 1, publicTemperature: BASE.publicTemperature }, new SeededRng('non-private'));
    const logits = new Float32Array([0, Math.log(3) - 1, 0, Math.log(3) + 1]);
    let ones = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) ones += sampler.next(logits, 2, new Float32Array(2)).token;
    expect(Math.abs(ones / n - 0.75)).toBeLessThan(5 * Math.sqrt(0.1875 / n));
    expect(sampler.next(logits, 0, new Float32Array([9, 0])).private).toBe(false);
  });
});

describe('PrivateTokenSampler input validation', () => {
  const rng = new SeededRng(0);
  it('refuses bad parameters, naming the field', () => {
    expect(() => new PrivateTokenSampler(0, BASE, rng)).toThrow(/^vocabSize /);
    expect(() => new PrivateTokenSampler(4, { ...BASE, clip: 0 }, rng)).toThrow(/^clip /);
    expect(() => new PrivateTokenSampler(4, { ...BASE, expectedBatchSize: Infinity }, rng)).toThrow(/^expectedBatchSize /);
    expect(() => new PrivateTokenSampler(4, { ...BASE, temperature: -1 }, rng)).toThrow(/^temperature /);
    expect(() => new PrivateTokenSampler(4, { ...BASE, publicTemperature: -1 }, rng)).toThrow(/^publicTemperature /);
    expect(() => new PrivateTokenSampler(4, { ...BASE, topK: 1.5 }, rng)).toThrow(/^topK /);
    expect(() => new PrivateTokenSampler(4, { ...BASE, expectedBatchSize: 1e-200, temperature: 1e-200 }, rng)).toThrow(/^temperature is too small/);
    expect(() => new PrivateTokenSampler(4, { ...BASE, publicTemperature: 5e-324 }, rng)).toThrow(/^publicTemperature is too small/);
    expect(() => new PrivateTokenSampler(4, { ...BASE, drafter: { threshold: 1, sigma: 0 } }, rng)).toThrow(/^drafter.sigma /);
    expect(() => new PrivateTokenSampler(4, { ...BASE, drafter: { threshold: Number.NaN, sigma: 1 } }, rng)).toThrow(/^drafter.threshold /);
  });

  it('refuses logits that do not match the vocabulary and row count', () => {
    const sampler = new PrivateTokenSampler(4, BASE, rng);
    const expectLogitsError = (run: () => unknown, field: RegExp): void => {
      expect(run).toThrow(PrivacyError);
      expect(run).toThrow(field);
    };
    expectLogitsError(() => sampler.next(new Float32Array(7), 2, new Float32Array(4)), /^logits must hold privateRows \* vocabSize = 8/);
    expectLogitsError(() => sampler.next(new Float32Array(8), 2, new Float32Array(3)), /^publicLogits /);
    expectLogitsError(() => sampler.next(new Float32Array(8), -1, new Float32Array(4)), /^privateRows /);
    expectLogitsError(() => sampler.next(new Float32Array(8), 1.5, new Float32Array(4)), /^privateRows /);
    // A longer buffer is fine (preallocated for a larger batch); only the first rows are read.
    expect(() => sampler.next(new Float32Array(40), 2, new Float32Array(4))).not.toThrow();
  });
});
