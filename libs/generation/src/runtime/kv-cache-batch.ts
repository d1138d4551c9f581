import { GenerationError } from '../generation.errors';
import { prefillRows } from './batch-prefill';
import { type KvBlock, type OnnxDecoder } from './onnx-decoder';

/** Bytes of a float32 KV cache holding `sequence` positions for `rows` rows. */
export function kvCacheBytes(shape: { numLayers: number; numKvHeads: number; headDim: number }, rows: number, sequence: number): number {
  return 2 * shape.numLayers * rows * shape.numKvHeads * sequence * shape.headDim * 4;
}

/**
 * One batch's KV-cached decoding (DESIGN.md section 5.3): every row (the private prompts and the
 * public one) is prefilled once, then each step feeds one new token per row with the past keys
 * and values; the cache stays with the batch for the whole sequence.
 *
 * Memory: two cache buffers sized for the whole sequence are allocated up front and used in turn,
 * the past of a step being read from one while ONNX Runtime writes the present into the other
 * (the Optimum layout `[rows, kvHeads, length, headDim]` grows in its third axis, so each step
 * copies the cache once, inside the graph's Concat). The logits buffer is reused too: after
 * prefill a step allocates nothing but the ORT tensor wrappers. A returned logits array is only
 * valid until the next call.
 */
export class KvCacheBatch {
  private cache: KvBlock | null = null;
  private readonly lengths: Int32Array;
  private readonly pads: Int32Array;
  private readonly width: number;
  private readonly maskBuffer: BigInt64Array;
  private readonly idBuffer: BigInt64Array;
  private readonly positionBuffer: BigInt64Array;
  private readonly logits: Float32Array;
  private buffers: [Float32Array[], Float32Array[]];
  /** Milliseconds spent inside ONNX Runtime so far. */
  ortMs = 0;

  constructor(
    private readonly decoder: OnnxDecoder,
    private readonly rowTokens: readonly (readonly number[])[],
    private readonly options: { chunkTokens: number; padTokenId: number; vocabSize: number; maxNewTokens: number },
  ) {
    if (rowTokens.length === 0) throw new GenerationError('INVALID_GENERATION_INPUT', 'a batch needs at least one row');
    const rows = rowTokens.length;
    this.lengths = Int32Array.from(rowTokens.map((r) => r.length));
    this.width = Math.max(...this.lengths);
    this.pads = this.lengths.map((length) => this.width - length);
    const capacity = this.width + options.maxNewTokens;
    this.maskBuffer = new BigInt64Array(rows * capacity);
    this.idBuffer = new BigInt64Array(rows);
    this.positionBuffer = new BigInt64Array(rows);
    this.logits = new Float32Array(rows * options.vocabSize);
    const { numLayers, numKvHeads, headDim } = decoder.signature;
    const floats = rows * numKvHeads * capacity * headDim;
    const set = (): Float32Array[] => Array.from({ length: 2 * numLayers }, () => new Float32Array(floats));
    this.buffers = [set(), set()];
  }

  get rows(): number {
    return this.rowTokens.length;
  }

  /** Current cache length (padded prompt width plus decoded steps). */
  get length(): number {
    return this.cache?.length ?? 0;
  }

  /** Prefills every row; returns `[rows, vocab]` logits for the first new token. */
  async prefill(): Promise<Float32Array> {
    const out = await prefillRows(this.decoder, this.rowTokens, this.options.vocabSize, {
      chunkTokens: this.options.chunkTokens,
      padTokenId: this.options.padTokenId,
      keepCache: true,
      targets: { logits: this.logits, cache: this.buffers[0] },
    });
    this.ortMs += out.ortMs;
    this.cache = out.cache;
    return out.logits;
  }

  /** Appends `token` to every row and returns `[rows, vocab]` logits for the next position. */
  async append(token: number): Promise<Float32Array> {
    const cache = this.cache;
    if (!cache) throw new GenerationError('INVALID_GENERATION_INPUT', 'append() before prefill()');
    const total = cache.length + 1;
    const rows = this.rows;
    if (total > this.width + this.options.maxNewTokens) throw new GenerationError('INVALID_GENERATION_INPUT', 'more steps than maxNewTokens');
    const mask = this.maskBuffer.subarray(0, rows * total);
    for (let r = 0; r < rows; r += 1) {
      const base = r * total;
      const pad = this.pads[r]!;
      mask.fill(0n, base, base + pad);
      mask.fill(1n, base + pad, base + total);
      // The new token's position: the row's real length so far (positions start at 0).
      this.positionBuffer[r] = BigInt(this.lengths[r]!);
      this.lengths[r]! += 1;
    }
    this.idBuffer.fill(BigInt(token));
    const { numKvHeads, headDim } = this.decoder.signature;
    const target = this.buffers[1];
    const presentFloats = rows * numKvHeads * total * headDim;
    const out = await this.decoder.forward({
      rows,
      newTokens: 1,
      inputIds: this.idBuffer,
      attentionMask: mask,
      positionIds: this.positionBuffer,
      past: cache,
      keep: 1,
      outputs: { logits: this.logits, present: target.map((buffer) => buffer.subarray(0, presentFloats)) },
    });
    this.ortMs += out.ortMs;
    this.cache = out.present;
    this.buffers = [this.buffers[1], this.buffers[0]];
    return out.logits;
  }

  /** Drops the cache buffers (they can be hundreds of megabytes). */
  dispose(): void {
    this.cache = null;
    this.buffers = [[], []];
  }
}
