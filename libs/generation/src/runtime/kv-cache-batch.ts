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
  private multiLogits: Float32Array = new Float32Array(0);
  private multiIds: BigInt64Array = new BigInt64Array(0);
  private multiPositions: BigInt64Array = new BigInt64Array(0);
  /** Milliseconds spent inside ONNX Runtime so far. */
  ortMs = 0;
  /** Forward calls after the prefill (decoding steps and verification passes). */
  forwardCalls = 0;

  constructor(
    private readonly decoder: OnnxDecoder,
    private readonly rowTokens: readonly (readonly number[])[],
    private readonly options: {
      chunkTokens: number;
      padTokenId: number;
      vocabSize: number;
      maxNewTokens: number;
      /** Where to write each step's `[rows, vocab]` logits (e.g. a slice of a larger buffer); allocated when absent. */
      logits?: Float32Array;
    },
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
    if (options.logits && options.logits.length !== rows * options.vocabSize) {
      throw new GenerationError('INVALID_GENERATION_INPUT', `the logits buffer holds ${options.logits.length} floats, not rows * vocab = ${rows * options.vocabSize}`);
    }
    this.logits = options.logits ?? new Float32Array(rows * options.vocabSize);
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
    if (out.logits !== this.logits && out.logits.length === this.logits.length) this.logits.set(out.logits);
    return this.logits;
  }

  /** Appends `token` to every row and returns `[rows, vocab]` logits for the next position. */
  async append(token: number): Promise<Float32Array> {
    this.idBuffer.fill(BigInt(token));
    return this.feed(1, this.idBuffer, this.positionBuffer, this.logits);
  }

  /**
   * Appends the same `tokens` to every row in one forward pass (speculative verification) and
   * returns `[rows, tokens.length, vocab]` logits: position j holds the logits that follow
   * `tokens[j]`.
   */
  async appendMany(tokens: readonly number[]): Promise<Float32Array> {
    if (tokens.length === 1) return this.append(tokens[0]!);
    const rows = this.rows;
    const n = tokens.length;
    if (this.multiIds.length < rows * n) {
      this.multiIds = new BigInt64Array(rows * n);
      this.multiPositions = new BigInt64Array(rows * n);
      this.multiLogits = new Float32Array(rows * n * this.options.vocabSize);
    }
    const ids = this.multiIds.subarray(0, rows * n);
    for (let r = 0; r < rows; r += 1) for (let j = 0; j < n; j += 1) ids[r * n + j] = BigInt(tokens[j]!);
    return this.feed(n, ids, this.multiPositions.subarray(0, rows * n), this.multiLogits.subarray(0, rows * n * this.options.vocabSize));
  }

  /**
   * Rolls every row back to `length` cache positions (dropping the last appended tokens), e.g.
   * after the sparse-vector test cut a speculative draft. Copies the kept part of the cache once.
   */
  truncate(length: number): void {
    const cache = this.cache;
    if (!cache || length > cache.length || length < this.width) throw new GenerationError('INVALID_GENERATION_INPUT', `cannot truncate the cache to ${length} positions`);
    if (length === cache.length) return;
    const { numKvHeads, headDim } = this.decoder.signature;
    const blocks = this.rows * numKvHeads;
    const from = cache.length * headDim;
    const to = length * headDim;
    const target = this.buffers[1];
    const tensors = cache.tensors.map((source, t) => {
      const out = target[t]!.subarray(0, blocks * to);
      for (let b = 0; b < blocks; b += 1) out.set(source.subarray(b * from, b * from + to), b * to);
      return out;
    });
    const removed = cache.length - length;
    for (let r = 0; r < this.rows; r += 1) this.lengths[r]! -= removed;
    this.cache = { rows: this.rows, length, tensors };
    this.buffers = [this.buffers[1], this.buffers[0]];
  }

  /** Feeds `n` new positions per row (ids row-major `[rows, n]`). */
  private async feed(n: number, ids: BigInt64Array, positions: BigInt64Array, logits: Float32Array): Promise<Float32Array> {
    const cache = this.cache;
    if (!cache) throw new GenerationError('INVALID_GENERATION_INPUT', 'append() before prefill()');
    const total = cache.length + n;
    const rows = this.rows;
    if (total > this.width + this.options.maxNewTokens) throw new GenerationError('INVALID_GENERATION_INPUT', 'more steps than maxNewTokens');
    const mask = this.maskBuffer.subarray(0, rows * total);
    for (let r = 0; r < rows; r += 1) {
      const base = r * total;
      const pad = this.pads[r]!;
      mask.fill(0n, base, base + pad);
      mask.fill(1n, base + pad, base + total);
      // New tokens' positions continue the row's real length (positions start at 0).
      for (let j = 0; j < n; j += 1) positions[r * n + j] = BigInt(this.lengths[r]! + j);
      this.lengths[r]! += n;
    }
    const { numKvHeads, headDim } = this.decoder.signature;
    const target = this.buffers[1];
    const presentFloats = rows * numKvHeads * total * headDim;
    const out = await this.decoder.forward({
      rows,
      newTokens: n,
      inputIds: ids,
      attentionMask: mask,
      positionIds: positions,
      past: cache,
      keep: n,
      outputs: { logits, present: target.map((buffer) => buffer.subarray(0, presentFloats)) },
    });
    this.ortMs += out.ortMs;
    this.forwardCalls += 1;
    this.cache = out.present;
    this.buffers = [this.buffers[1], this.buffers[0]];
    // A graph without num_logits_to_keep answers in a buffer of its own: keep the caller's buffer current.
    if (out.logits !== logits) logits.set(out.logits);
    return logits;
  }

  /** Drops the cache buffers (they can be hundreds of megabytes). */
  dispose(): void {
    this.cache = null;
    this.buffers = [[], []];
  }
}
