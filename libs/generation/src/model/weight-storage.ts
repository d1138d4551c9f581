import { GenerationError } from '../generation.errors';
import { type OnnxGraphWriter } from './onnx-graph.writer';

/**
 * How a graph stores its weight matrices. Activations, the KV cache, norms and rotary tables stay
 * float32 in every case, so the runtime sees the same inputs and outputs.
 * - `fp32`: float32 initializers (exact).
 * - `fp16`: float16 initializers, Cast to float32 before each MatMul (half the file).
 * - `int4`: onnxruntime's `com.microsoft.MatMulNBits`, 4 bits per weight in blocks of
 *   {@link INT4_BLOCK_SIZE} along the input dimension with a float32 scale and a 4-bit zero point
 *   per block (~5 bits per weight); the token embedding is float16.
 * docs/benchmarks/weights.md has the speed and memory of each.
 */
export type WeightStorage = 'fp32' | 'fp16' | 'int4';

/** Every {@link WeightStorage}, for validation and CLI choices. */
export const WEIGHT_STORAGES: readonly WeightStorage[] = ['fp32', 'fp16', 'int4'];

/** Values of a row that share one int4 scale and zero point (as GGUF's Q4_1 blocks of 32). */
export const INT4_BLOCK_SIZE = 32;

/** The largest finite float16. */
const FLOAT16_MAX = 65504;

/**
 * float32 to float16 bits, round to nearest even. A value beyond float16's range would become
 * infinity and poison every logit, so it is refused naming the tensor (store it as fp32 instead).
 */
export function toFloat16Bits(data: Float32Array, tensor: string): Uint16Array {
  const out = new Uint16Array(data.length);
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i += 1) {
    const bits = words[i]!;
    const sign = (bits >>> 16) & 0x8000;
    const exponent = ((bits >>> 23) & 0xff) - 112;
    const mantissa = bits & 0x7fffff;
    if (exponent >= 31 || !Number.isFinite(data[i]!)) {
      throw new GenerationError(
        'UNSUPPORTED_MODEL',
        `${tensor}: value ${data[i]} does not fit float16 (|x| <= ${FLOAT16_MAX}); import with --weights fp32`,
      );
    }
    if (exponent <= 0) {
      out[i] = exponent < -10 ? sign : sign | Math.round((mantissa | 0x800000) * Math.pow(2, exponent - 14));
      continue;
    }
    let half = sign | (exponent << 10) | (mantissa >> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1;
    if ((half & 0x7fff) >= 0x7c00) {
      throw new GenerationError('UNSUPPORTED_MODEL', `${tensor}: value ${data[i]} rounds past float16's range; import with --weights fp32`);
    }
    out[i] = half;
  }
  return out;
}

/** A matrix `(rows, cols)` quantised to int4 blocks along each row, in MatMulNBits' layout. */
export interface Int4Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly blocksPerRow: number;
  /** `[rows, blocksPerRow, blockSize / 2]`: value j of a block in byte j >> 1, low nibble first. */
  readonly packed: Uint8Array;
  /** `[rows * blocksPerRow]`. */
  readonly scales: Float32Array;
  /** `[rows, ceil(blocksPerRow / 2)]`: block b's zero point in byte b >> 1, low nibble first. */
  readonly zeroPoints: Uint8Array;
}

/**
 * Quantises a row-major `(rows, cols)` matrix to asymmetric int4 blocks of {@link INT4_BLOCK_SIZE}
 * along each row (the last block zero-padded). Each block's range is widened to include 0, cut
 * into 15 steps, and 0 is an exact level; a value errs by at most half a step plus, at the
 * block's ends, the half step the integer zero point can move the grid (so at most one step,
 * `range / 15`).
 */
export function quantizeInt4(matrix: Float32Array, rows: number, cols: number): Int4Matrix {
  const block = INT4_BLOCK_SIZE;
  const blocksPerRow = Math.ceil(cols / block);
  const zeroBytesPerRow = Math.ceil(blocksPerRow / 2);
  const packed = new Uint8Array(rows * blocksPerRow * (block / 2));
  const scales = new Float32Array(rows * blocksPerRow);
  const zeroPoints = new Uint8Array(rows * zeroBytesPerRow);
  for (let r = 0; r < rows; r += 1) {
    for (let b = 0; b < blocksPerRow; b += 1) {
      const start = r * cols + b * block;
      const length = Math.min(block, cols - b * block);
      let min = 0;
      let max = 0;
      for (let j = 0; j < length; j += 1) {
        min = Math.min(min, matrix[start + j]!);
        max = Math.max(max, matrix[start + j]!);
      }
      const scale = max > min ? (max - min) / 15 : 1;
      const zero = Math.min(15, Math.max(0, Math.round(-min / scale)));
      const index = r * blocksPerRow + b;
      scales[index] = scale;
      zeroPoints[r * zeroBytesPerRow + (b >> 1)]! |= zero << ((b & 1) * 4);
      for (let j = 0; j < length; j += 1) {
        const q = Math.min(15, Math.max(0, Math.round(matrix[start + j]! / scale) + zero));
        packed[index * (block / 2) + (j >> 1)]! |= q << ((j & 1) * 4);
      }
      // Padding values (j >= length) keep code 0; their inputs are beyond K and never read.
    }
  }
  return { rows, cols, blocksPerRow, packed, scales, zeroPoints };
}

/** The float32 matrix an {@link Int4Matrix} stands for: `(q - zero) * scale`. */
export function dequantizeInt4(m: Int4Matrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  const zeroBytesPerRow = Math.ceil(m.blocksPerRow / 2);
  for (let r = 0; r < m.rows; r += 1) {
    for (let c = 0; c < m.cols; c += 1) {
      const b = Math.floor(c / INT4_BLOCK_SIZE);
      const j = c % INT4_BLOCK_SIZE;
      const index = r * m.blocksPerRow + b;
      const q = (m.packed[index * (INT4_BLOCK_SIZE / 2) + (j >> 1)]! >> ((j & 1) * 4)) & 15;
      const zero = (m.zeroPoints[r * zeroBytesPerRow + (b >> 1)]! >> ((b & 1) * 4)) & 15;
      out[r * m.cols + c] = (q - zero) * m.scales[index]!;
    }
  }
  return out;
}

/** `(rows, cols)` row-major to `(cols, rows)` row-major. */
export function transposeMatrix(source: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < cols; c += 1) out[c * rows + r] = source[r * cols + c]!;
  }
  return out;
}

/**
 * Writes weight matrices and the ops that apply them in one {@link WeightStorage}. The builder
 * hands every matrix over input-major (`[in, out]`, ready for `x W`).
 */
export class WeightWriter {
  /**
   * @param int4AccuracyLevel MatMulNBits' `accuracy_level`: 4 (default) quantises each activation
   *   block to int8 and multiplies in integers (measured 2x faster per decoding step than level 0
   *   on x86 CPUs, same logit drift: docs/benchmarks/weights.md); 0 computes in float32.
   */
  constructor(
    private readonly g: OnnxGraphWriter,
    readonly storage: WeightStorage,
    private readonly int4AccuracyLevel: 0 | 4 = 4,
  ) {}

  /** `x W` for `W` `[inFeatures, outFeatures]` row-major; `output` names the result. */
  matMul(x: string, name: string, inFeatures: number, outFeatures: number, weight: Float32Array, output?: string): string {
    const named = output ? { name: output } : {};
    if (this.storage === 'fp32') return this.g.op1('MatMul', [x, this.g.floatTensor(name, [inFeatures, outFeatures], weight)], {}, named);
    if (this.storage === 'fp16') {
      const half = this.g.float16Tensor(name, [inFeatures, outFeatures], toFloat16Bits(weight, name));
      return this.g.op1('MatMul', [x, this.g.op1('Cast', [half], { to: { int: 1 } })], {}, named);
    }
    return this.int4MatMul(x, name, quantizeInt4(transposeMatrix(weight, inFeatures, outFeatures), outFeatures, inFeatures), output);
  }

  /** `x E^T` for an embedding-like `E` `[outFeatures, inFeatures]` row-major (a tied output head). */
  matMulTransposed(x: string, name: string, outFeatures: number, inFeatures: number, matrix: Float32Array, tableName: string, output?: string): string {
    if (this.storage === 'int4') return this.int4MatMul(x, name, quantizeInt4(matrix, outFeatures, inFeatures), output);
    // fp32 and fp16 read the stored table through a Transpose (folded by ORT when the session loads).
    const table = this.storage === 'fp16' ? this.g.op1('Cast', [tableName], { to: { int: 1 } }) : tableName;
    return this.g.op1('MatMul', [x, this.g.op1('Transpose', [table], { perm: { ints: [1, 0] } })], {}, output ? { name: output } : {});
  }

  /** The embedding table `[vocab, hidden]`, float32 in fp32 storage and float16 otherwise. */
  embeddingTable(name: string, vocab: number, hidden: number, table: Float32Array): string {
    if (this.storage === 'fp32') return this.g.floatTensor(name, [vocab, hidden], table);
    return this.g.float16Tensor(name, [vocab, hidden], toFloat16Bits(table, name));
  }

  /** Rows of the embedding table for `ids`, as float32. */
  gather(tableName: string, ids: string): string {
    const rows = this.g.op1('Gather', [tableName, ids], { axis: { int: 0 } });
    return this.storage === 'fp32' ? rows : this.g.op1('Cast', [rows], { to: { int: 1 } });
  }

  private int4MatMul(x: string, name: string, m: Int4Matrix, output?: string): string {
    const packed = this.g.uint8Tensor(`${name}.int4`, [m.rows, m.blocksPerRow, INT4_BLOCK_SIZE / 2], m.packed);
    const scales = this.g.floatTensor(`${name}.scales`, [m.rows * m.blocksPerRow], m.scales);
    const zeros = this.g.uint8Tensor(`${name}.zero_points`, [m.rows * Math.ceil(m.blocksPerRow / 2)], m.zeroPoints);
    return this.g.op1(
      'MatMulNBits',
      [x, packed, scales, zeros],
      { K: { int: m.cols }, N: { int: m.rows }, bits: { int: 4 }, block_size: { int: INT4_BLOCK_SIZE }, accuracy_level: { int: this.int4AccuracyLevel } },
      { domain: 'com.microsoft', ...(output ? { name: output } : {}) },
    );
  }
}
