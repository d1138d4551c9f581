import { PrivateTokenSampler } from './mechanisms/private-prediction/private-token-sampler';
import { SeededRng } from './rng';
import { type AggregatedStep, aggregationParameters, clipAggregatesInFloat32, evaluateAggregation, float32ClipBound, TOKEN_AGGREGATION } from './token-aggregation';
import { accumulateClippedRows } from './token-mechanism';
import { takesAggregatedSteps } from './token-sampler';

const V = 64;

function randomLogits(rows: number, seed: number, spread = 30): Float32Array {
  const rng = new SeededRng(seed);
  return Float32Array.from({ length: rows * V }, () => (rng.nextDouble() - 0.5) * spread);
}

/** The engine's answer for `logits`, computed by the reference. */
function stepOf(logits: Float32Array, rows: number, clip: number, withSoftmax: boolean): AggregatedStep {
  const parameters = aggregationParameters(clip);
  return {
    rows,
    clippedSum: evaluateAggregation(TOKEN_AGGREGATION.outputs.clippedSum, logits, rows, 1, V, parameters),
    softmaxSum: withSoftmax ? evaluateAggregation(TOKEN_AGGREGATION.outputs.softmaxSum, logits, rows, 1, V, parameters) : null,
  };
}

describe('float32ClipBound', () => {
  it('is the largest float32 <= c, and refuses c outside [2^-100, 2^100]', () => {
    for (const c of [10, 0.1, 1 / 3, 2 ** -100, 2 ** 100, 7e29, 1e-20]) {
      const c32 = float32ClipBound(c);
      expect(c32).toBeLessThanOrEqual(c);
      expect(Math.fround(c32)).toBe(c32);
      // The next float32 up is above c.
      const next = new Float32Array([c32]);
      new Int32Array(next.buffer)[0]! += 1;
      expect(next[0]!).toBeGreaterThan(c);
    }
    expect(float32ClipBound(10)).toBe(10);
    expect(float32ClipBound(0.1)).toBe(0.09999999403953552);
    expect(clipAggregatesInFloat32(2 ** -101)).toBe(false);
    expect(clipAggregatesInFloat32(2 ** 101)).toBe(false);
    expect(() => float32ClipBound(1e31)).toThrow(expect.objectContaining({ code: 'INVALID_PRIVACY_PARAMETER', field: 'clip' }));
  });
});

describe('evaluateAggregation (the reference of TOKEN_AGGREGATION)', () => {
  it('agrees with accumulateClippedRows within rows * 3 c 2^-24 and gives each row a term in [-c, c]', () => {
    const rows = 20;
    const logits = randomLogits(rows, 3);
    for (const clip of [10, 0.7, 1e5]) {
      const sum = evaluateAggregation(TOKEN_AGGREGATION.outputs.clippedSum, logits, rows, 1, V, aggregationParameters(clip));
      const reference = new Float64Array(V);
      accumulateClippedRows(reference, logits, rows, V, clip, null, V, null);
      for (let j = 0; j < V; j += 1) expect(Math.abs(sum[j]! - reference[j]!)).toBeLessThanOrEqual(rows * 3 * clip * 2 ** -24);
      for (let r = 0; r < rows; r += 1) {
        const one = evaluateAggregation(TOKEN_AGGREGATION.outputs.clippedSum, logits.subarray(r * V, (r + 1) * V), 1, 1, V, aggregationParameters(clip));
        for (const v of one) expect(Math.abs(v)).toBeLessThanOrEqual(clip);
      }
    }
  });

  it('sums rows exactly: the terms lie on one grid, so any order gives the same double', () => {
    const rows = 50;
    const logits = randomLogits(rows, 5, 1e4);
    const parameters = aggregationParameters(1 / 3);
    const terms = Array.from({ length: rows }, (_, r) => evaluateAggregation(TOKEN_AGGREGATION.outputs.clippedSum, logits.subarray(r * V, (r + 1) * V), 1, 1, V, parameters));
    const forward = evaluateAggregation(TOKEN_AGGREGATION.outputs.clippedSum, logits, rows, 1, V, parameters);
    const grid = 2 ** (Math.floor(Math.log2(parameters.clip)) - 24);
    for (let j = 0; j < V; j += 1) {
      let backward = 0;
      for (let r = rows - 1; r >= 0; r -= 1) backward += terms[r]![j]!;
      expect(backward).toBe(forward[j]);
      for (const term of terms) expect(Number.isInteger(term[j]! / grid)).toBe(true);
    }
  });

  it('gives softmax terms that are non-negative with mass 1 within V 2^-52, NaN and infinities included', () => {
    const row = randomLogits(1, 7);
    row[3] = Number.NaN;
    row[5] = Number.NEGATIVE_INFINITY;
    const parameters = aggregationParameters(10);
    for (const input of [row, Float32Array.from(row, (x, j) => (j === 9 ? Number.POSITIVE_INFINITY : x)), new Float32Array(V).fill(Number.NaN)]) {
      const softmax = evaluateAggregation(TOKEN_AGGREGATION.outputs.softmaxSum, input, 1, 1, V, parameters);
      expect(softmax.every((p) => p >= 0)).toBe(true);
      expect(Math.abs(softmax.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(V * 2 ** -52);
    }
  });
});

describe('PrivateTokenSampler on aggregated steps', () => {
  const params = { clip: 4, expectedBatchSize: 12, temperature: 0.8, publicTemperature: 1, topK: 16, drafter: { threshold: 0.4, sigma: 0.1 } };

  it('asks for c32 and the outputs it reads (the softmax sum only with the drafter); none for c out of range', () => {
    const sampler = new PrivateTokenSampler(V, params, new SeededRng(1));
    expect(takesAggregatedSteps(sampler)).toBe(true);
    expect(sampler.aggregation).toMatchObject({ spec: TOKEN_AGGREGATION, outputs: ['clippedSum', 'softmaxSum'], parameters: { clip: 4, negativeClip: -4 } });
    expect(new PrivateTokenSampler(V, { ...params, drafter: null }, new SeededRng(1)).aggregation?.outputs).toEqual(['clippedSum']);
    const extreme = new PrivateTokenSampler(V, { ...params, clip: 1e31 }, new SeededRng(1));
    expect(extreme.aggregation).toBeNull();
    expect(takesAggregatedSteps(extreme)).toBe(false);
  });

  it('draws the same tokens and decisions as the per-row path from the same seed, with log-probabilities within 6 rows c 2^-24 / (s tau)', () => {
    const rows = 12;
    for (const drafter of [params.drafter, null]) {
      const perRow = new PrivateTokenSampler(V, { ...params, drafter }, new SeededRng('same'));
      const aggregated = new PrivateTokenSampler(V, { ...params, drafter }, new SeededRng('same'));
      for (let step = 0; step < 40; step += 1) {
        const logits = randomLogits(rows + 1, 100 + step, step % 2 ? 30 : 3);
        const publicLogits = logits.subarray(rows * V);
        const aggregatedStep = stepOf(logits, rows, params.clip, drafter !== null);
        const expected = new Float64Array(V);
        const actual = new Float64Array(V);
        perRow.privateLogProbabilities(logits, rows, publicLogits, expected);
        aggregated.privateLogProbabilitiesAggregated(aggregatedStep, publicLogits, actual);
        for (let j = 0; j < V; j += 1) {
          if (expected[j] === -Infinity) expect(actual[j]).toBe(-Infinity);
          else expect(Math.abs(actual[j]! - expected[j]!)).toBeLessThanOrEqual((6 * rows * params.clip * 2 ** -24) / (params.expectedBatchSize * params.temperature));
        }
        expect(aggregated.nextAggregated(aggregatedStep, publicLogits)).toEqual(perRow.next(logits, rows, publicLogits));
        if (drafter) expect(Math.abs(aggregated.lastStatistic - perRow.lastStatistic)).toBeLessThan(1e-6);
      }
      expect(aggregated.privateSteps).toBe(perRow.privateSteps);
    }
  });

  it('refuses a step without the softmax sum when the drafter needs it, and short vectors', () => {
    const sampler = new PrivateTokenSampler(V, params, new SeededRng(1));
    const logits = randomLogits(3, 1);
    const step = stepOf(logits, 2, params.clip, false);
    expect(() => sampler.nextAggregated(step, logits.subarray(2 * V))).toThrow(expect.objectContaining({ code: 'INVALID_LOGITS', field: 'step.softmaxSum' }));
    expect(() => sampler.samplePrivateAggregated({ ...step, clippedSum: new Float64Array(V - 1) }, logits.subarray(2 * V))).toThrow(
      expect.objectContaining({ code: 'INVALID_LOGITS', field: 'step.clippedSum' }),
    );
  });
});
