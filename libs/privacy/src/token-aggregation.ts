import { PrivacyError } from './privacy.errors';

/*
 * The private rows' aggregation of one decoding step as a small pure specification, so that an
 * engine can compute it next to the model (inside its ONNX graph) and return two vectors of length
 * V instead of rows x V logits. This file is the only definition of that computation: libs/generation
 * translates {@link TOKEN_AGGREGATION} node by node into graph operators, and
 * {@link evaluateAggregation} is its TypeScript reference (float32 steps rounded with Math.fround,
 * float64 steps in doubles), which the graph is tested against.
 *
 * What it computes, per new position, over the selected (private) rows i with logits z_i:
 * - `clippedSum = sum_i max(-c32, (z_i - max z_i) + c32)`, each row's term in float32, the sum in
 *   float64; c32 is the largest float32 <= c ({@link float32ClipBound}). The sampler divides by s
 *   in its scale `1 / (s tau)`: this is DESIGN.md section 5.4's aggregate times s.
 * - `softmaxSum = sum_i w_i / sum_j w_ij` with `w_i = exp(z_i - max z_i)` in float32, widened to
 *   float64 and normalised by its own float64 sum: the sparse-vector statistic's input
 *   (DESIGN.md section 5.5; the sampler divides by s and subtracts the public softmax).
 * NaN acts as -Infinity and +-Infinity as +-FLT_MAX (`finite`), before the maximum.
 *
 * Why this keeps the privacy argument exact (libs/privacy/README.md, "Aggregation inside the
 * graph", with the proof): every row's clipped term lies in [-c32, c32] for every input, and every
 * such term is an integer multiple of `ulp(c32) / 2` below `2^25` of them, so float64 sums of fewer
 * than 2^28 rows are exact in any order: the aggregate is exactly the sum of the rows' terms, whatever order
 * the graph (or the engine, adding row chunks) sums them in. Each softmax term is a non-negative
 * vector of mass 1 within `V 2^-52`, so the statistic's sensitivity is `1/s` as before.
 */

/** Element type of a value of the specification. */
export type AggregationElement = 'float32' | 'float64';

/** A named float32 scalar fed with every call (the clip bound of the release). */
export type AggregationParameterName = 'clip' | 'negativeClip';

/**
 * One node of the specification. Shapes: `logits` is `[rows, positions, V]` float32 (the selected
 * rows only); `rowMax` and `rowSum` reduce over V keeping a unit axis; `sumRows` reduces over the
 * rows to `[positions, V]`; elementwise nodes broadcast.
 */
export type AggregationNode =
  | { readonly op: 'logits' }
  | { readonly op: 'parameter'; readonly name: AggregationParameterName }
  /** float32: NaN -> -FLT_MAX, values clamped to [-FLT_MAX, FLT_MAX]. */
  | { readonly op: 'finite'; readonly x: AggregationNode }
  /** float32: maximum over the vocabulary. */
  | { readonly op: 'rowMax'; readonly x: AggregationNode }
  /** float32 elementwise (correctly rounded, as IEEE 754 binary32). */
  | { readonly op: 'sub' | 'add' | 'max'; readonly a: AggregationNode; readonly b: AggregationNode }
  /** float32 `exp` (the engine's kernel may differ from the reference by a few ulps). */
  | { readonly op: 'exp'; readonly x: AggregationNode }
  /** float32 -> float64, exact. */
  | { readonly op: 'float64'; readonly x: AggregationNode }
  /** float64: sum over the vocabulary. */
  | { readonly op: 'rowSum'; readonly x: AggregationNode }
  /** float64 elementwise division. */
  | { readonly op: 'div'; readonly a: AggregationNode; readonly b: AggregationNode }
  /** float64: sum over the rows. */
  | { readonly op: 'sumRows'; readonly x: AggregationNode };

/** The outputs of the aggregation, each `[positions, V]` float64. */
export type AggregationOutputName = 'clippedSum' | 'softmaxSum';

/** The whole specification: its named outputs (nodes shared between them are computed once). */
export interface AggregationSpec {
  readonly outputs: Readonly<Record<AggregationOutputName, AggregationNode>>;
  readonly parameters: readonly AggregationParameterName[];
}

const logits: AggregationNode = { op: 'logits' };
const finite: AggregationNode = { op: 'finite', x: logits };
/** `z - max z` in float32: exactly <= 0 in sign (rounding is monotone), -Infinity on overflow. */
const shifted: AggregationNode = { op: 'sub', a: finite, b: { op: 'rowMax', x: finite } };
const clipped: AggregationNode = {
  op: 'max',
  a: { op: 'add', a: shifted, b: { op: 'parameter', name: 'clip' } },
  b: { op: 'parameter', name: 'negativeClip' },
};
const weights: AggregationNode = { op: 'float64', x: { op: 'exp', x: shifted } };

/** The private-prediction mechanism's aggregation (DESIGN.md section 5, steps 4 and 5). */
const clippedSum: AggregationNode = { op: 'sumRows', x: { op: 'float64', x: clipped } };
const softmaxSum: AggregationNode = { op: 'sumRows', x: { op: 'div', a: weights, b: { op: 'rowSum', x: weights } } };
const outputs: Readonly<Record<AggregationOutputName, AggregationNode>> = Object.freeze({ clippedSum, softmaxSum });

/** The private-prediction mechanism's aggregation (DESIGN.md section 5, steps 4 and 5). */
export const TOKEN_AGGREGATION: AggregationSpec = Object.freeze({ outputs, parameters: Object.freeze(['clip', 'negativeClip'] as const) });

/** The largest float32 magnitude. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The largest float32 <= x, for x > 0. */
function float32AtMost(x: number): number {
  const rounded = Math.fround(x);
  if (rounded <= x) return rounded;
  const bits = new Float32Array([rounded]);
  const view = new Int32Array(bits.buffer);
  view[0] = view[0]! - 1;
  return bits[0]!;
}

/** Whether c32 for `clip` is within [2^-100, 2^100], where the float32 aggregation is defined. */
export function clipAggregatesInFloat32(clip: number): boolean {
  const c32 = float32AtMost(clip);
  return c32 >= 2 ** -100 && c32 <= 2 ** 100;
}

/**
 * c32, the largest float32 <= c: so every clipped float32 term is in [-c, c] however c rounds.
 * Refuses a c whose c32 is outside [2^-100, 2^100] (the exactness of the float64 sums needs a
 * normal c32 far from overflow; such extreme bounds use the per-row path).
 */
export function float32ClipBound(clip: number): number {
  if (!clipAggregatesInFloat32(clip)) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'clip', `must be within [2^-100, 2^100] to be aggregated in float32, got ${clip}`);
  }
  return float32AtMost(clip);
}

/** The parameters of one release: `clip` = c32, `negativeClip` = -c32. */
export function aggregationParameters(clip: number): Readonly<Record<AggregationParameterName, number>> {
  const c32 = float32ClipBound(clip);
  return Object.freeze({ clip: c32, negativeClip: -c32 });
}

/**
 * What a sampler that aggregates in the graph asks of the engine: the outputs it reads and the
 * parameters to feed. The same {@link TOKEN_AGGREGATION} for every private-prediction release.
 */
export interface AggregationRequest {
  readonly spec: AggregationSpec;
  readonly outputs: readonly AggregationOutputName[];
  readonly parameters: Readonly<Record<AggregationParameterName, number>>;
}

/**
 * One step's aggregate over the private rows (length V each), as the engine returns it. Computed
 * from sensitive data: the sampler's input, never released.
 */
export interface AggregatedStep {
  /** How many private rows were summed (for the input checks only: the divisor is always s). */
  readonly rows: number;
  readonly clippedSum: Float64Array;
  /** Null when the request did not ask for it (no drafter). */
  readonly softmaxSum: Float64Array | null;
}

/** A value of the reference evaluator: `dims` = [rows, positions, width], 1 where broadcast. */
interface Value {
  readonly type: AggregationElement;
  readonly dims: readonly [number, number, number];
  readonly data: Float64Array;
}

/**
 * The TypeScript reference of a specification: evaluates `node` on `logits` (`[rows, positions,
 * vocab]` float32) with float32 steps rounded by Math.fround (correct binary32 rounding for + - and
 * max: double rounding is innocuous at 53 >= 2 * 24 + 2 bits) and float64 steps in doubles, summing
 * rows in index order. For tests and audits; returns `[positions, vocab]` (or the node's own shape).
 */
export function evaluateAggregation(
  node: AggregationNode,
  input: Float32Array,
  rows: number,
  positions: number,
  vocabSize: number,
  parameters: Readonly<Record<AggregationParameterName, number>>,
): Float64Array {
  const memo = new Map<AggregationNode, Value>();
  const at = (v: Value, r: number, p: number, j: number): number =>
    v.data[((v.dims[0] === 1 ? 0 : r) * v.dims[1] + (v.dims[1] === 1 ? 0 : p)) * v.dims[2] + (v.dims[2] === 1 ? 0 : j)]!;
  const evaluate = (n: AggregationNode): Value => {
    const known = memo.get(n);
    if (known) return known;
    let value: Value;
    switch (n.op) {
      case 'logits':
        value = { type: 'float32', dims: [rows, positions, vocabSize], data: Float64Array.from(input.subarray(0, rows * positions * vocabSize)) };
        break;
      case 'parameter':
        value = { type: 'float32', dims: [1, 1, 1], data: Float64Array.of(Math.fround(parameters[n.name])) };
        break;
      case 'finite': {
        const x = evaluate(n.x);
        value = { ...x, data: x.data.map((v) => (Number.isNaN(v) ? -FLOAT32_MAX : Math.min(FLOAT32_MAX, Math.max(-FLOAT32_MAX, v)))) };
        break;
      }
      case 'exp': {
        const x = evaluate(n.x);
        value = { ...x, data: x.data.map((v) => Math.fround(Math.exp(v))) };
        break;
      }
      case 'float64': {
        const x = evaluate(n.x);
        value = { ...x, type: 'float64' };
        break;
      }
      case 'rowMax':
      case 'rowSum': {
        const x = evaluate(n.x);
        const [r0, p0, w0] = x.dims;
        const data = new Float64Array(r0 * p0);
        for (let k = 0; k < r0 * p0; k += 1) {
          let acc = n.op === 'rowMax' ? -Infinity : 0;
          for (let j = 0; j < w0; j += 1) acc = n.op === 'rowMax' ? Math.max(acc, x.data[k * w0 + j]!) : acc + x.data[k * w0 + j]!;
          data[k] = acc;
        }
        value = { type: x.type, dims: [r0, p0, 1], data };
        break;
      }
      case 'sumRows': {
        const x = evaluate(n.x);
        const [r0, p0, w0] = x.dims;
        const data = new Float64Array(p0 * w0);
        for (let r = 0; r < r0; r += 1) for (let k = 0; k < p0 * w0; k += 1) data[k] += x.data[r * p0 * w0 + k]!;
        value = { type: 'float64', dims: [1, p0, w0], data };
        break;
      }
      case 'sub':
      case 'add':
      case 'max':
      case 'div': {
        const a = evaluate(n.a);
        const b = evaluate(n.b);
        const dims: [number, number, number] = [Math.max(a.dims[0], b.dims[0]), Math.max(a.dims[1], b.dims[1]), Math.max(a.dims[2], b.dims[2])];
        const data = new Float64Array(dims[0] * dims[1] * dims[2]);
        const float32 = a.type === 'float32';
        for (let r = 0, k = 0; r < dims[0]; r += 1) {
          for (let p = 0; p < dims[1]; p += 1) {
            for (let j = 0; j < dims[2]; j += 1, k += 1) {
              const x = at(a, r, p, j);
              const y = at(b, r, p, j);
              const v = n.op === 'sub' ? x - y : n.op === 'add' ? x + y : n.op === 'max' ? Math.max(x, y) : x / y;
              data[k] = float32 ? Math.fround(v) : v;
            }
          }
        }
        value = { type: a.type, dims, data };
        break;
      }
    }
    memo.set(n, value);
    return value;
  };
  return evaluate(node).data;
}
