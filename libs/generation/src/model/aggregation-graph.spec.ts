/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import {
  accumulateClippedRows,
  aggregationParameters,
  evaluateAggregation,
  FLOAT32_MAX,
  SeededRng,
  sparseVectorStatistic,
  sparseVectorStatisticFromSum,
  TOKEN_AGGREGATION,
} from '@synthgate/privacy';
import * as ort from 'onnxruntime-node';
import { AGGREGATION_IO, writeAggregation } from './aggregation-graph';
import { OnnxGraphWriter } from './onnx-graph.writer';

const VOCAB = 257;

/** The aggregation alone, on a `logits` input, as the decoder graph carries it. */
async function aggregationSession(vocab: number): Promise<ort.InferenceSession> {
  const g = new OnnxGraphWriter();
  g.input('logits', 'float32', ['batch', 'positions', vocab]);
  writeAggregation(g, TOKEN_AGGREGATION, 'logits', vocab);
  return ort.InferenceSession.create(g.encode({ graphName: 'aggregation', opsetImports: { '': 17 } }), { intraOpNumThreads: 1 });
}

interface Sums {
  clippedSum: Float64Array;
  softmaxSum: Float64Array;
}

async function aggregate(session: ort.InferenceSession, logits: Float32Array, rows: number, positions: number, selected: readonly number[], clip: number): Promise<Sums> {
  const parameters = aggregationParameters(clip);
  const out = await session.run({
    logits: new ort.Tensor('float32', logits, [rows, positions, VOCAB]),
    [AGGREGATION_IO.rows]: new ort.Tensor('int64', BigInt64Array.from(selected.map(BigInt)), [selected.length]),
    [AGGREGATION_IO.parameter('clip')]: new ort.Tensor('float32', Float32Array.of(parameters.clip), []),
    [AGGREGATION_IO.parameter('negativeClip')]: new ort.Tensor('float32', Float32Array.of(parameters.negativeClip), []),
  });
  return {
    clippedSum: (out[AGGREGATION_IO.output('clippedSum')] as ort.Tensor).data as Float64Array,
    softmaxSum: (out[AGGREGATION_IO.output('softmaxSum')] as ort.Tensor).data as Float64Array,
  };
}

/** Random rows: ordinary logits, and rows with NaN, +-Infinity, huge and tiny values, all-equal and all-masked rows. */
function adversarialLogits(rows: number, positions: number, seed: number): Float32Array {
  const rng = new SeededRng(seed);
  const out = new Float32Array(rows * positions * VOCAB);
  for (let r = 0; r < rows * positions; r += 1) {
    const row = out.subarray(r * VOCAB, (r + 1) * VOCAB);
    const kind = r % 9;
    for (let j = 0; j < VOCAB; j += 1) {
      const u = rng.nextDouble();
      row[j] = (u - 0.5) * 40;
      if (kind === 1 && u < 0.1) row[j] = Number.NaN;
      if (kind === 2 && u < 0.05) row[j] = Number.POSITIVE_INFINITY;
      if (kind === 3 && u < 0.3) row[j] = Number.NEGATIVE_INFINITY;
      if (kind === 4) row[j] = (u - 0.5) * 6e38; // huge: z - max overflows float32
      if (kind === 5) row[j] = (u - 0.5) * 1e-30;
      if (kind === 6) row[j] = 7;
      if (kind === 7) row[j] = u < 0.5 ? Number.NEGATIVE_INFINITY : Number.NaN;
      if (kind === 8 && u < 0.02) row[j] = FLOAT32_MAX;
    }
  }
  return out;
}

/** The rows of `logits` whose inputs the float32 specification and the float64 per-row path treat alike (no infinities, no NaN in an all-masked row, no FLT_MAX). */
const finiteKinds = (r: number): boolean => ![2, 7, 8].includes(r % 9);

describe('the token aggregation inside the graph (libs/privacy TOKEN_AGGREGATION)', () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await aggregationSession(VOCAB);
  });
  afterAll(async () => {
    await session.release();
  });

  it('onnxruntime does not carry NaN through Max and ReduceMax in a way to rely on: the graph maps NaN to -FLT_MAX before them', async () => {
    // What the kernels do with NaN (pinned so a runtime upgrade that changes it is noticed); the
    // aggregation never feeds them one (`finite` first), so its result does not depend on this.
    const g = new OnnxGraphWriter();
    g.input('x', 'float32', [4]);
    g.op1('ReduceMax', ['x'], { axes: { ints: [-1] }, keepdims: { int: 0 } }, { name: 'reduced' });
    g.op1('Max', ['x', g.floatConstant([0])], {}, { name: 'floored' });
    g.output('reduced', 'float32', []);
    g.output('floored', 'float32', [4]);
    const probe = await ort.InferenceSession.create(g.encode({ graphName: 'nan', opsetImports: { '': 17 } }));
    const out = await probe.run({ x: new ort.Tensor('float32', Float32Array.of(1, Number.NaN, 3, -1), [4]) });
    const reduced = (out.reduced as ort.Tensor).data as Float32Array;
    const floored = (out.floored as ort.Tensor).data as Float32Array;
    await probe.release();
    // onnxruntime-node 1.30: ReduceMax skips NaN, Max propagates it: (z - max) + c floored by Max
    // would let a NaN logit through to the sum. Hence `finite` before both.
    expect(reduced[0]).toBe(3);
    expect(Array.from(floored)).toEqual([1, Number.NaN, 3, 0]);
    const nanRow = new Float32Array(VOCAB).fill(Number.NaN);
    nanRow[3] = 2;
    const sums = await aggregate(session, nanRow, 1, 1, [0], 10);
    expect(sums.clippedSum.every((v) => !Number.isNaN(v))).toBe(true);
    expect(sums.clippedSum[3]).toBe(Math.fround(10));
    expect(sums.softmaxSum[3]).toBe(1);
  });

  it('equals the float32 reference exactly (clipped sum) and within 2^-20 relative per row (softmax sum: onnxruntime exp vs Math.exp)', async () => {
    const rows = 45;
    const positions = 2;
    const logits = adversarialLogits(rows, positions, 11);
    const selected = Array.from({ length: rows }, (_, r) => r).filter((r) => r % 5 !== 4);
    for (const clip of [10, 0.1, 3.3, 1e6]) {
      const sums = await aggregate(session, logits, rows, positions, selected, clip);
      const picked = new Float32Array(selected.length * positions * VOCAB);
      selected.forEach((r, i) => picked.set(logits.subarray(r * positions * VOCAB, (r + 1) * positions * VOCAB), i * positions * VOCAB));
      const parameters = aggregationParameters(clip);
      const clipped = evaluateAggregation(TOKEN_AGGREGATION.outputs.clippedSum, picked, selected.length, positions, VOCAB, parameters);
      const softmax = evaluateAggregation(TOKEN_AGGREGATION.outputs.softmaxSum, picked, selected.length, positions, VOCAB, parameters);
      // Exact: the sums of float32 terms on one grid are exact in any order (token-aggregation.ts).
      expect(Array.from(sums.clippedSum)).toEqual(Array.from(clipped));
      // Each row's weights differ by the exp kernels' few ulps; the sum of rows by at most 2^-20 per row.
      for (let k = 0; k < positions * VOCAB; k += 1) expect(Math.abs(sums.softmaxSum[k]! - softmax[k]!)).toBeLessThanOrEqual(selected.length * 2 ** -20);
    }
  });

  it('matches the per-row float64 path of token-mechanism.ts within rows * c * 2^-22 (clipped sum) and its statistic within 1e-6', async () => {
    // The float32 terms differ from the float64 ones by the rounding of (z - max) and (.) + c32 and by
    // c - c32: each at most c 2^-24, so at most 3 c 2^-24 < c 2^-22 per row and entry.
    const rows = 64;
    const logits = adversarialLogits(rows, 1, 29);
    const selected = Array.from({ length: rows }, (_, r) => r).filter(finiteKinds);
    const picked = new Float32Array(selected.length * VOCAB);
    selected.forEach((r, i) => picked.set(logits.subarray(r * VOCAB, (r + 1) * VOCAB), i * VOCAB));
    const publicRow = adversarialLogits(1, 1, 31);
    for (const clip of [10, 0.25, 1000]) {
      const sums = await aggregate(session, picked, selected.length, 1, selected.map((_, i) => i), clip);
      const reference = new Float64Array(VOCAB);
      accumulateClippedRows(reference, picked, selected.length, VOCAB, clip, null, VOCAB, null);
      for (let j = 0; j < VOCAB; j += 1) expect(Math.abs(sums.clippedSum[j]! - reference[j]!)).toBeLessThanOrEqual(selected.length * clip * 2 ** -22);
      const s = 40;
      const expected = sparseVectorStatistic(picked, selected.length, VOCAB, publicRow, s, new Float64Array(VOCAB), new Float64Array(VOCAB), null);
      const actual = sparseVectorStatisticFromSum(sums.softmaxSum, VOCAB, publicRow, s, new Float64Array(VOCAB), new Float64Array(VOCAB));
      expect(Math.abs(actual - expected)).toBeLessThan(1e-6);
    }
  });

  it('keeps the privacy invariant on adversarial rows: each row adds a vector in [-c, c] and a non-negative vector of mass 1 within V 2^-52, and the sum is exactly the sum of the rows', async () => {
    const rows = 36;
    const logits = adversarialLogits(rows, 1, 47);
    for (const clip of [10, 1 / 3, 2 ** -100, 7e29]) {
      const single: Sums[] = [];
      for (let r = 0; r < rows; r += 1) single.push(await aggregate(session, logits, rows, 1, [r], clip));
      for (const { clippedSum, softmaxSum } of single) {
        for (let j = 0; j < VOCAB; j += 1) {
          expect(Math.abs(clippedSum[j]!)).toBeLessThanOrEqual(clip);
          expect(softmaxSum[j]!).toBeGreaterThanOrEqual(0);
        }
        expect(Math.abs(softmaxSum.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(VOCAB * 2 ** -52);
      }
      // Adding or removing a row changes the clipped sum by exactly that row's vector: no rounding
      // in the float64 sums, in the graph's order or in ours (reversed here).
      const all = await aggregate(session, logits, rows, 1, Array.from({ length: rows }, (_, r) => r), clip);
      const byHand = new Float64Array(VOCAB);
      for (let r = rows - 1; r >= 0; r -= 1) for (let j = 0; j < VOCAB; j += 1) byHand[j] += single[r]!.clippedSum[j]!;
      expect(Array.from(all.clippedSum)).toEqual(Array.from(byHand));
      const withoutOne = await aggregate(session, logits, rows, 1, Array.from({ length: rows - 1 }, (_, r) => r + 1), clip);
      for (let j = 0; j < VOCAB; j += 1) expect(all.clippedSum[j]! - withoutOne.clippedSum[j]!).toBe(single[0]!.clippedSum[j]!);
    }
  });

  it('returns zeros when no row is selected (the public row of its own batch)', async () => {
    const sums = await aggregate(session, adversarialLogits(2, 1, 3), 2, 1, [], 10);
    expect(sums.clippedSum.length).toBe(VOCAB);
    expect(sums.clippedSum.every((v) => v === 0)).toBe(true);
    expect(sums.softmaxSum.every((v) => v === 0)).toBe(true);
  });
});
