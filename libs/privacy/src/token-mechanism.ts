import { MIN_LOG_WEIGHT } from './floating-point';
import { type Rng } from './rng';

/*
 * The per-token building blocks of private prediction (DESIGN.md section 5, steps 4, 5 and 8), as
 * allocation-free functions over caller-owned typed arrays. `PrivateTokenSampler` composes them;
 * they are exported so each invariant can be tested on its own.
 *
 * Conventions shared by every function here:
 * - a row of logits is `values[offset .. offset + length)`; rows are row-major, `vocabSize` wide;
 * - NaN is treated as -Infinity (a token the model rules out), so no input can poison a sum;
 * - "candidates" is an optional list of token ids (the public top-k); when given, only those
 *   entries are aggregated and sampled, and outputs are indexed by candidate position.
 */

/** A row-major buffer of logits. Float32 is what the model produces; Float64 is accepted too. */
export type LogitBuffer = Float32Array | Float64Array;

/** The largest entry of a row, ignoring NaN; -Infinity when the row has no non-NaN entry. */
export function rowMaximum(values: LogitBuffer, offset: number, length: number): number {
  let max = -Infinity;
  const end = offset + length;
  for (let j = offset; j < end; j++) {
    const x = values[j]!;
    if (x > max) max = x;
  }
  return max;
}

/**
 * One clipped-and-recentred entry `max(-c, z - rowMax + c)`. Always in [-c, c] whatever the input:
 * for finite `rowMax`, `z - rowMax <= 0` (rounding is monotone) and NaN / -Infinity fall to -c; when
 * `rowMax` is infinite (a +Infinity entry, or an all -Infinity row) the limit is taken: entries equal
 * to the maximum get c, the rest -c.
 */
function clipEntry(z: number, rowMax: number, clip: number): number {
  if (rowMax === Infinity || rowMax === -Infinity) return z === rowMax ? clip : -clip;
  const shifted = z - rowMax + clip;
  return shifted > -clip ? shifted : -clip;
}

/**
 * `clip_c(z)_j = max(-c, z_j - max(z) + c)` (DESIGN.md section 5.4): the row's maximum is moved to
 * `c` and everything is clipped to [-c, c]. This is what bounds one record's influence on the
 * aggregate to `c / s` per entry. Writes into `out` (allocated when absent) and returns it.
 */
export function clipAndRecentre(logits: ArrayLike<number>, clip: number, out?: Float64Array): Float64Array {
  const length = logits.length;
  const result = out ?? new Float64Array(length);
  let max = -Infinity;
  for (let j = 0; j < length; j++) {
    const x = logits[j]!;
    if (x > max) max = x;
  }
  for (let j = 0; j < length; j++) result[j] = clipEntry(logits[j]!, max, clip);
  return result;
}

/**
 * The private aggregate `sum_i clip_c(z_i)` over `rows` rows, **not yet divided** by s (the caller
 * folds `1 / (s tau)` into one scale). Writes `acc[0 .. n)` with n = vocabSize, or n = candidate
 * count when `candidates` is given. `rowMaxima`, when given, must hold each row's
 * {@link rowMaximum} (the sparse-vector pass computes them already); otherwise they are computed.
 * Invariant: every row adds a vector in [-c, c]^n, whatever its values.
 */
export function accumulateClippedRows(
  acc: Float64Array,
  logits: LogitBuffer,
  rows: number,
  vocabSize: number,
  clip: number,
  candidates: Int32Array | null,
  candidateCount: number,
  rowMaxima: Float64Array | null,
): void {
  const n = candidates === null ? vocabSize : candidateCount;
  acc.fill(0, 0, n);
  const negativeClip = -clip;
  for (let i = 0; i < rows; i++) {
    const offset = i * vocabSize;
    const max = rowMaxima === null ? rowMaximum(logits, offset, vocabSize) : rowMaxima[i]!;
    if (max === Infinity || max === -Infinity) {
      for (let j = 0; j < n; j++) acc[j] += clipEntry(logits[offset + (candidates === null ? j : candidates[j]!)]!, max, clip);
      continue;
    }
    // Hot loop: `(z - max) + c`, floored at -c (NaN and -Infinity compare false and floor too).
    // The subtraction comes first: `z - max <= 0` exactly in sign, so the sum never exceeds c,
    // which `z + (c - max)` would not guarantee after rounding.
    if (candidates === null) {
      for (let j = 0; j < n; j++) {
        const v = logits[offset + j]! - max + clip;
        acc[j] += v > negativeClip ? v : negativeClip;
      }
    } else {
      for (let j = 0; j < n; j++) {
        const v = logits[offset + candidates[j]!]! - max + clip;
        acc[j] += v > negativeClip ? v : negativeClip;
      }
    }
  }
}

/**
 * The private aggregate of DESIGN.md section 5.4, `zbar = sum_i clip_c(z_i) / s`, over the first
 * `rows` rows of `logits`, written to `out[0 .. vocabSize)` (allocated when absent). The divisor is
 * the declared expected batch size `s`, never `rows`: with the actual count, removing a record
 * would also rescale everyone else's contribution and the `c/s` bound would not hold. The sampler
 * folds the division into its temperature scale instead; this form is for audits and tests.
 */
export function privateAggregate(
  logits: LogitBuffer,
  rows: number,
  vocabSize: number,
  clip: number,
  expectedBatchSize: number,
  out?: Float64Array,
): Float64Array {
  const result = out ?? new Float64Array(vocabSize);
  accumulateClippedRows(result, logits, rows, vocabSize, clip, null, vocabSize, null);
  for (let j = 0; j < vocabSize; j++) result[j] = result[j]! / expectedBatchSize;
  return result;
}

const EXP_TABLE_BITS = 7;
const EXP_TABLE_SIZE = 1 << EXP_TABLE_BITS;
/** 2^(i / 128) for i in [0, 128). */
const EXP_FRACTIONS = Float64Array.from({ length: EXP_TABLE_SIZE }, (_, i) => 2 ** (i / EXP_TABLE_SIZE));
/** 2^-n for n in [0, 1076). */
const EXP_POWERS = Float64Array.from({ length: 1076 }, (_, n) => 2 ** -n);
const EXP_SCALE = EXP_TABLE_SIZE / Math.LN2;
// ln2/128 split Cody-Waite style, from fdlibm's ln2_hi / ln2_lo: the high part has 32 significant
// bits, so `k * EXP_STEP_HIGH` is exact for every k reached here (k < 2^18), and the low part carries
// the rest of ln 2 to about 1e-26, so the argument reduction loses nothing measurable.
const EXP_STEP_HIGH = 6.93147180369123816490e-1 / EXP_TABLE_SIZE;
const EXP_STEP_LOW = 1.90821492927058770002e-10 / EXP_TABLE_SIZE;

/**
 * `exp(x)` for `x <= 0`, about twice as fast as `Math.exp` and within 1e-15 relative for
 * x >= -708 (below that the result is subnormal or 0 and only its being tiny matters; NaN gives 0).
 * `x = -k ln2/128 + r` with `r` in [0, ln2/128): `2^(-k/128)` from two tables, `e^r` from a degree-5
 * polynomial (truncation below 1e-17). `exp(0)` is exactly 1.
 *
 * Used only for the sparse-vector statistic, where it is privacy-neutral: each row's weights are
 * normalised by their own sum, so every row still contributes a non-negative vector of mass 1/s and
 * the statistic's sensitivity stays 1/s whatever the rounding. The exponential mechanism, whose
 * privacy loss does depend on its weights, uses `Math.exp`.
 */
export function expNonPositive(x: number): number {
  if (!(x > -745)) return 0;
  const k = Math.ceil(-x * EXP_SCALE);
  const r = x + k * EXP_STEP_HIGH + k * EXP_STEP_LOW;
  const fraction = EXP_FRACTIONS[(EXP_TABLE_SIZE - (k & (EXP_TABLE_SIZE - 1))) & (EXP_TABLE_SIZE - 1)]!;
  const power = EXP_POWERS[(k + EXP_TABLE_SIZE - 1) >> EXP_TABLE_BITS]!;
  return fraction * power * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120))))));
}

/**
 * Adds `weight * softmax(row)` into `acc[0 .. vocabSize)`, using `scratch` for the row's
 * exponentials. Robust to any input: NaN and -Infinity get probability 0; a row with +Infinity
 * entries puts its mass uniformly on them, an all -Infinity row uniformly on all of them, and a row
 * with no usable entry uniformly on the vocabulary. So the added vector always has non-negative
 * entries summing to `weight` (up to rounding), the fact behind the `1/s` sensitivity of the
 * sparse-vector statistic. Returns the row's {@link rowMaximum} for reuse by the clipping pass.
 */
export function accumulateSoftmaxRow(
  acc: Float64Array,
  values: LogitBuffer,
  offset: number,
  vocabSize: number,
  weight: number,
  scratch: Float64Array,
): number {
  const max = rowMaximum(values, offset, vocabSize);
  let total = 0;
  if (max === Infinity || max === -Infinity) {
    for (let j = 0; j < vocabSize; j++) {
      const e = values[offset + j] === max ? 1 : 0;
      scratch[j] = e;
      total += e;
    }
    if (total === 0) {
      scratch.fill(1, 0, vocabSize);
      total = vocabSize;
    }
  } else {
    for (let j = 0; j < vocabSize; j++) {
      const x = values[offset + j]!;
      const e = x > -Infinity ? expNonPositive(x - max) : 0; // NaN compares false: probability 0
      scratch[j] = e;
      total += e;
    }
  }
  const factor = weight / total; // total >= 1 in the finite case: the maximum contributes exp(0)
  for (let j = 0; j < vocabSize; j++) acc[j] += scratch[j]! * factor;
  return max;
}

/**
 * The sparse-vector statistic `d = || sum_i softmax(z_i) / s - softmax(z_pub) ||_1`
 * (DESIGN.md section 5.5), at temperature 1 on the full vocabulary. Adding or removing one row
 * changes the first term by one probability vector divided by s, so `d` has sensitivity `1/s` by the
 * triangle inequality; `0 <= d <= 1 + rows/s`. That argument needs each row's contribution to be a
 * non-negative vector of sum 1/s, not an exact softmax, so rounding in `exp` cannot break it; the
 * computed `d` exceeds the bound by at most a few `V * 2^-53` (the spec checks 1e-12). Buffers: `meanBuffer` and `scratch` hold at least
 * `vocabSize` entries; `rowMaxima` (optional) receives each private row's maximum.
 */
export function sparseVectorStatistic(
  logits: LogitBuffer,
  rows: number,
  vocabSize: number,
  publicLogits: LogitBuffer,
  expectedBatchSize: number,
  meanBuffer: Float64Array,
  scratch: Float64Array,
  rowMaxima: Float64Array | null,
): number {
  meanBuffer.fill(0, 0, vocabSize);
  const weight = 1 / expectedBatchSize;
  for (let i = 0; i < rows; i++) {
    const max = accumulateSoftmaxRow(meanBuffer, logits, i * vocabSize, vocabSize, weight, scratch);
    if (rowMaxima !== null) rowMaxima[i] = max;
  }
  // Subtract the public distribution: accumulate it with weight -1 into the same buffer.
  accumulateSoftmaxRow(meanBuffer, publicLogits, 0, vocabSize, -1, scratch);
  let distance = 0;
  for (let j = 0; j < vocabSize; j++) distance += Math.abs(meanBuffer[j]!);
  return distance;
}

/**
 * {@link sparseVectorStatistic} from the private rows' softmax sum `sum_i softmax(z_i)` (as the
 * engine's in-graph aggregation returns it, token-aggregation.ts): `d = || sum / s - softmax(z_pub) ||_1`.
 * Each row's term is a non-negative vector of mass 1 (within `V 2^-52`), so `d` keeps its
 * sensitivity `1/s`. `meanBuffer` and `scratch` hold at least `vocabSize` entries.
 */
export function sparseVectorStatisticFromSum(
  softmaxSum: Float64Array,
  vocabSize: number,
  publicLogits: LogitBuffer,
  expectedBatchSize: number,
  meanBuffer: Float64Array,
  scratch: Float64Array,
): number {
  const weight = 1 / expectedBatchSize;
  for (let j = 0; j < vocabSize; j++) meanBuffer[j] = softmaxSum[j]! * weight;
  accumulateSoftmaxRow(meanBuffer, publicLogits, 0, vocabSize, -1, scratch);
  let distance = 0;
  for (let j = 0; j < vocabSize; j++) distance += Math.abs(meanBuffer[j]!);
  return distance;
}

/**
 * Fills `weights[0 .. n)` with unnormalised probabilities of `softmax(scale * values)` over the
 * whole row (n = vocabSize) or over `candidates` (n = candidate count), in log space: each weight
 * is `exp(max(scale * (x - max), MIN_LOG_WEIGHT))`, so the largest is exactly 1, nothing overflows,
 * and no finite entry's weight underflows (below e^-700 the floor applies; see floating-point.ts
 * for why the exponential mechanism stays `2c/(s tau)`-bounded-range with it). Returns their sum.
 * Same robustness as {@link accumulateSoftmaxRow} (NaN is -Infinity; infinite maxima take limits;
 * a row with no usable entry is uniform). `scale` is `1 / temperature`, or `1 / (s tau)` for the
 * private aggregate.
 */
export function softmaxWeights(
  weights: Float64Array,
  values: LogitBuffer,
  offset: number,
  vocabSize: number,
  scale: number,
  candidates: Int32Array | null,
  candidateCount: number,
): number {
  const n = candidates === null ? vocabSize : candidateCount;
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const x = values[offset + (candidates === null ? j : candidates[j]!)]!;
    if (x > max) max = x;
  }
  let total = 0;
  if (max === Infinity || max === -Infinity) {
    for (let j = 0; j < n; j++) {
      const e = values[offset + (candidates === null ? j : candidates[j]!)] === max ? 1 : 0;
      weights[j] = e;
      total += e;
    }
    if (total === 0) {
      weights.fill(1, 0, n);
      total = n;
    }
    return total;
  }
  for (let j = 0; j < n; j++) {
    const x = values[offset + (candidates === null ? j : candidates[j]!)]!;
    // Floored at MIN_LOG_WEIGHT: no weight is subnormal or 0 (the floor keeps the bounded range; floating-point.ts).
    const exponent = (x - max) * scale;
    const e = x > -Infinity ? Math.exp(exponent > MIN_LOG_WEIGHT ? exponent : MIN_LOG_WEIGHT) : 0;
    weights[j] = e;
    total += e;
  }
  return total;
}

/**
 * Draws an index in [0, n) with probability `weights[j] / total` by inversion: one 53-bit uniform,
 * scaled by `total` (the sum of the same weights in the same order), against running sums.
 *
 * Floating point: the running sums accumulate rounding, but token j's interval has length
 * `C_j - C_{j-1} = w_j + e_j` where `e_j` is the single rounding of its own addition,
 * `|e_j| <= 2^-53 total` (earlier errors only shift intervals, and `total` is the last running sum,
 * so nothing is lost at the end). With the 2^-53 grid of the uniform and the rounding of
 * `u * total`, the realised probability is `w_j / total +- 2^-51`. That absolute error is negligible
 * while every probability is far above 2^-51, which the exponential mechanism guarantees for moderate
 * `c / tau`: with about s rows each probability is at least `e^-(2c/tau) / V` (1.8e-10 for c 10,
 * tau 2, V 256000, so the privacy loss moves by at most 2.5e-6 relative). For extreme `c / tau` the
 * step degrades gracefully to (epsilon, delta) with delta below `V * 2^-50` per token.
 * The rare draw that rounds past the last sum goes to the last positive weight.
 */
export function sampleFromWeights(weights: Float64Array, n: number, total: number, rng: Rng): number {
  const target = rng.nextDouble() * total;
  let cumulative = 0;
  let lastPositive = -1;
  for (let j = 0; j < n; j++) {
    const w = weights[j]!;
    if (w > 0) {
      cumulative += w;
      if (target < cumulative) return j;
      lastPositive = j;
    }
  }
  return lastPositive;
}

/** The index of the largest weight-bearing value (ties: the earliest), for temperature 0. */
export function argmaxIndex(values: LogitBuffer, offset: number, candidates: Int32Array | null, n: number): number {
  let best = 0;
  let bestValue = -Infinity;
  let bestToken = Infinity;
  for (let j = 0; j < n; j++) {
    const token = candidates === null ? j : candidates[j]!;
    const x = values[offset + token]!;
    const value = x === x ? x : -Infinity; // NaN is -Infinity
    if (value > bestValue || (value === bestValue && token < bestToken)) {
      best = j;
      bestValue = value;
      bestToken = token;
    }
  }
  return best;
}

/** Rank key of a public logit: NaN counts as -Infinity. */
function rankKey(values: LogitBuffer, token: number): number {
  const x = values[token]!;
  return x === x ? x : -Infinity;
}

/** Whether token `a` ranks below token `b`: smaller logit, or equal logit and larger id. */
function ranksBelow(values: LogitBuffer, a: number, b: number): boolean {
  const ka = rankKey(values, a);
  const kb = rankKey(values, b);
  return ka < kb || (ka === kb && a > b);
}

function siftDown(values: LogitBuffer, heap: Int32Array, size: number, start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= size) return;
    const right = left + 1;
    const child = right < size && ranksBelow(values, heap[right]!, heap[left]!) ? right : left;
    if (!ranksBelow(values, heap[child]!, heap[i]!)) return;
    const tmp = heap[i]!;
    heap[i] = heap[child]!;
    heap[child] = tmp;
    i = child;
  }
}

/**
 * Selects the public top-k: the `k` token ids with the largest public logits, ties broken by the
 * smaller id, NaN counted as -Infinity. Writes them (in heap order, not sorted) into `out` and
 * returns how many were written, `min(k, vocabSize)`. A bounded min-heap with the lowest-ranked
 * selected token at the root: O(vocabSize log k) worst case, deterministic, allocation-free.
 * Restricting both samplers to this set is post-processing of public data (DESIGN.md section 5.8).
 * With `among` (token ids, `amongCount` of them), selects among those ids only.
 */
export function selectTopK(values: LogitBuffer, vocabSize: number, k: number, out: Int32Array, among: Int32Array | null = null, amongCount = vocabSize): number {
  const count = among === null ? vocabSize : amongCount;
  const id = (i: number) => (among === null ? i : among[i]!);
  const size = Math.min(k, count);
  for (let i = 0; i < size; i++) out[i] = id(i);
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(values, out, size, i);
  for (let i = size; i < count; i++) {
    const token = id(i);
    if (ranksBelow(values, out[0]!, token)) {
      out[0] = token;
      siftDown(values, out, size, 0);
    }
  }
  return size;
}
