import { GenerationError } from '../generation.errors';
import { allRows, prefillRows } from './batch-prefill';
import { type KvCacheMemory, kvCacheMemoryOf } from './kv-cache-memory';
import { type ForwardAggregation, type KvBlock, type OnnxDecoder } from './onnx-decoder';

/** Bytes of a float32 KV cache holding `sequence` positions for `rows` rows. */
export function kvCacheBytes(shape: { numLayers: number; numKvHeads: number; headDim: number }, rows: number, sequence: number): number {
  return 2 * shape.numLayers * rows * shape.numKvHeads * sequence * shape.headDim * 4;
}

/**
 * Cache buffers a batch of a graph in `layout` holds at once, in units of {@link kvCacheBytes}: one
 * for the in-place layout; two for the concat layout (ONNX Runtime returns a new present while the
 * past it read is still held).
 */
export function kvCacheBuffers(layout: 'concat' | 'in-place'): number {
  return layout === 'in-place' ? 1 : 2;
}

/** Positions the in-place cache's capacity grows by: attention reads the capacity, so it follows the used length within this step. */
export const KV_CAPACITY_STEP = 32;

/**
 * One batch's KV-cached decoding (DESIGN.md section 5.3): every row (the private prompts and the
 * public one) is prefilled once, then each step feeds one new token per row with the past keys
 * and values; the cache stays with the batch for the whole sequence.
 *
 * In-place layout (graphs this project builds): one tensor per layer and kind, allocated once for
 * the whole sequence, `[rows, kvHeads, capacity, headDim]` in its first part; all of them views of
 * one buffer, reused from the decoder's previous batch (see {@link KvCacheMemory}). ONNX Runtime
 * reads them as the past without a copy (onnxruntime-node passes input arrays through); only the new
 * positions' keys and values come back, and they are written into their slots here. The capacity
 * (the past length the graph attends over, empty slots masked) grows by {@link KV_CAPACITY_STEP}
 * positions, rearranging the buffer in place, so attention cost follows the used length.
 *
 * Concat layout (Optimum exports as stored): the graph returns the whole present, past and new,
 * which becomes the next step's past (one cache copy in the graph's Concat and one more in the
 * binding per step).
 *
 * A returned logits array is only valid until the next call.
 */
export class KvCacheBatch {
  private readonly inPlace: boolean;
  private readonly lengths: Int32Array;
  private readonly pads: Int32Array;
  private readonly width: number;
  private readonly maxLength: number;
  private readonly idBuffer: BigInt64Array;
  private readonly positionBuffer: BigInt64Array;
  private readonly logits: Float32Array;
  private readonly aggregation: ForwardAggregation | null;
  private maskBuffer: BigInt64Array;
  /** The layout `maskBuffer` holds (past slots, new positions, used slots); past -1: to be rebuilt. */
  private maskLayout = { past: -1, n: 0, used: 0 };
  /** In-place: the cache buffers. Concat: the current past (the prefill's joined block, then ORT's present). */
  private tensors: Float32Array[];
  /** The decoder's cache memory, and the buffer taken from it (every tensor's view lies in it) until dispose(). */
  private readonly memory: KvCacheMemory;
  private buffer: ArrayBuffer | null;
  /** Used positions; 0 before the prefill. */
  private used = 0;
  /** In-place: slots per (row, kv head) in the buffers' current arrangement. Concat: `used`. */
  private capacity = 0;
  private pastView: KvBlock | null = null;
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
      /**
       * Aggregate every row in the graph (libs/privacy's specification) and add each step's sums
       * to `into` instead of returning logits (the caller zeroes `into` before each step). Only
       * one position per call (`append`, `prefill`).
       */
      aggregation?: Omit<ForwardAggregation, 'rows'> | null;
    },
  ) {
    if (rowTokens.length === 0) throw new GenerationError('INVALID_GENERATION_INPUT', 'a batch needs at least one row');
    const rows = rowTokens.length;
    this.inPlace = decoder.signature.cacheLayout === 'in-place';
    this.lengths = Int32Array.from(rowTokens.map((r) => r.length));
    this.width = Math.max(...this.lengths);
    this.pads = this.lengths.map((length) => this.width - length);
    this.maxLength = this.width + options.maxNewTokens;
    this.maskBuffer = new BigInt64Array(rows * (this.maxLength + 1));
    this.idBuffer = new BigInt64Array(rows);
    this.positionBuffer = new BigInt64Array(rows);
    if (options.logits && options.logits.length !== rows * options.vocabSize) {
      throw new GenerationError('INVALID_GENERATION_INPUT', `the logits buffer holds ${options.logits.length} floats, not rows * vocab = ${rows * options.vocabSize}`);
    }
    this.aggregation = options.aggregation ? { ...options.aggregation, rows: allRows(rows) } : null;
    this.logits = options.logits ?? new Float32Array(this.aggregation ? 0 : rows * options.vocabSize);
    const { numLayers, numKvHeads, headDim } = decoder.signature;
    const floats = rows * numKvHeads * (this.inPlace ? this.maxLength : this.width) * headDim;
    // One buffer for every layer's keys and values, reused from the decoder's previous batch when large enough.
    this.memory = kvCacheMemoryOf(decoder);
    const buffer = this.memory.take(2 * numLayers * floats * 4);
    this.buffer = buffer;
    this.tensors = Array.from({ length: 2 * numLayers }, (_, t) => new Float32Array(buffer, t * floats * 4, floats));
  }

  get rows(): number {
    return this.rowTokens.length;
  }

  /** Current cache length (padded prompt width plus decoded steps). */
  get length(): number {
    return this.used;
  }

  /** Bytes of every cache tensor this batch holds now (the in-place ones are allocated for the whole sequence). */
  get cacheBytes(): number {
    return this.tensors.reduce((sum, t) => sum + t.byteLength, 0);
  }

  /** Prefills every row; returns `[rows, vocab]` logits for the first new token. */
  async prefill(): Promise<Float32Array> {
    const { numKvHeads, headDim } = this.decoder.signature;
    const width = this.width;
    this.capacity = this.inPlace ? Math.min(this.maxLength, width + KV_CAPACITY_STEP) : width;
    const stride = this.capacity * headDim;
    const out = await prefillRows(this.decoder, this.rowTokens, this.options.vocabSize, {
      chunkTokens: this.options.chunkTokens,
      padTokenId: this.options.padTokenId,
      logits: this.logits,
      aggregation: this.options.aggregation ?? null,
      onCache: (firstRow, block) => {
        const blocks = block.rows * numKvHeads;
        const first = firstRow * numKvHeads;
        block.tensors.forEach((source, t) => {
          const target = this.tensors[t]!;
          if (stride === width * headDim) target.set(source.subarray(0, blocks * stride), first * stride);
          else for (let b = 0; b < blocks; b += 1) target.set(source.subarray(b * width * headDim, (b + 1) * width * headDim), (first + b) * stride);
        });
      },
    });
    this.ortMs += out.ortMs;
    this.used = width;
    this.pastView = null;
    if (!this.aggregation && out.logits !== this.logits && out.logits.length === this.logits.length) this.logits.set(out.logits);
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
    if (this.aggregation) throw new GenerationError('INVALID_GENERATION_INPUT', 'appendMany() of an aggregating batch: verification reads logits');
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
   * after the sparse-vector test cut a speculative draft. In place the dropped slots are simply
   * masked again; the concat layout copies the kept part once.
   */
  truncate(length: number): void {
    if (this.used === 0 || length > this.used || length < this.width) throw new GenerationError('INVALID_GENERATION_INPUT', `cannot truncate the cache to ${length} positions`);
    if (length === this.used) return;
    const removed = this.used - length;
    for (let r = 0; r < this.rows; r += 1) this.lengths[r]! -= removed;
    if (!this.inPlace) {
      const { numKvHeads, headDim } = this.decoder.signature;
      const blocks = this.rows * numKvHeads;
      const from = this.used * headDim;
      const to = length * headDim;
      this.tensors = this.tensors.map((source) => {
        const out = new Float32Array(blocks * to);
        for (let b = 0; b < blocks; b += 1) out.set(source.subarray(b * from, b * from + to), b * to);
        return out;
      });
      this.capacity = length;
      this.pastView = null;
    }
    this.used = length;
  }

  /** Feeds `n` new positions per row (ids row-major `[rows, n]`). */
  private async feed(n: number, ids: BigInt64Array, positions: BigInt64Array, logits: Float32Array): Promise<Float32Array> {
    if (this.used === 0) throw new GenerationError('INVALID_GENERATION_INPUT', 'append() before prefill()');
    if (this.used + n > this.maxLength) throw new GenerationError('INVALID_GENERATION_INPUT', 'more steps than maxNewTokens');
    if (this.inPlace) this.reserve(this.used + n);
    const rows = this.rows;
    const past = this.capacity;
    const total = past + n;
    if (this.maskBuffer.length < rows * total) {
      this.maskBuffer = new BigInt64Array(rows * total);
      this.maskLayout.past = -1;
    }
    const mask = this.maskBuffer.subarray(0, rows * total);
    const layout = this.maskLayout;
    // Same capacity and step width as the previous call: only the slots filled since then change.
    const incremental = layout.past === past && layout.n === n && layout.used <= this.used;
    for (let r = 0; r < rows; r += 1) {
      const base = r * total;
      if (incremental) mask.fill(1n, base + layout.used, base + this.used);
      else {
        // Padding and (in place) the empty slots past the used length are masked.
        mask.fill(0n, base, base + this.pads[r]!);
        mask.fill(1n, base + this.pads[r]!, base + this.used);
        mask.fill(0n, base + this.used, base + past);
        mask.fill(1n, base + past, base + total);
      }
      // New tokens' positions continue the row's real length (positions start at 0).
      for (let j = 0; j < n; j += 1) positions[r * n + j] = BigInt(this.lengths[r]! + j);
      this.lengths[r]! += n;
    }
    this.maskLayout = { past, n, used: this.used };
    const out = await this.decoder.forward({
      rows,
      newTokens: n,
      inputIds: ids,
      attentionMask: mask,
      positionIds: positions,
      past: this.past(),
      keep: n,
      logits,
      aggregation: this.aggregation,
      fetchLogits: !this.aggregation,
    });
    this.ortMs += out.ortMs;
    this.forwardCalls += 1;
    const cache = out.cache!;
    if (this.inPlace) this.writeSlots(cache, n);
    else {
      this.tensors = [...cache.tensors];
      this.capacity = cache.length;
      this.pastView = null;
    }
    this.used += n;
    // A graph without num_logits_to_keep answers in a buffer of its own: keep the caller's buffer current.
    if (!this.aggregation && out.logits !== logits) logits.set(out.logits);
    return logits;
  }

  /** The past fed to the graph: the buffers' first `rows * kvHeads * capacity * headDim` floats. */
  private past(): KvBlock {
    if (!this.pastView) {
      const { numKvHeads, headDim } = this.decoder.signature;
      const floats = this.rows * numKvHeads * this.capacity * headDim;
      this.pastView = { rows: this.rows, length: this.capacity, tensors: this.tensors.map((t) => (t.length === floats ? t : t.subarray(0, floats))) };
    }
    return this.pastView;
  }

  /** Writes the new positions' keys and values (`[rows, kvHeads, n, headDim]`) into slots `used..used + n`. */
  private writeSlots(fresh: KvBlock, n: number): void {
    const { numKvHeads, headDim } = this.decoder.signature;
    const blocks = this.rows * numKvHeads;
    const stride = this.capacity * headDim;
    const offset = this.used * headDim;
    const size = n * headDim;
    fresh.tensors.forEach((source, t) => {
      const target = this.tensors[t]!;
      for (let b = 0; b < blocks; b += 1) target.set(source.subarray(b * size, (b + 1) * size), b * stride + offset);
    });
  }

  /**
   * Grows the in-place capacity to hold `needed` positions, in steps of {@link KV_CAPACITY_STEP}:
   * each (row, head) block moves to its wider place, last block first, within the same buffer.
   */
  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    const next = Math.min(this.maxLength, Math.max(needed, this.capacity + KV_CAPACITY_STEP));
    const { numKvHeads, headDim } = this.decoder.signature;
    const blocks = this.rows * numKvHeads;
    const from = this.capacity * headDim;
    const to = next * headDim;
    const usedFloats = this.used * headDim;
    for (const tensor of this.tensors) {
      for (let b = blocks - 1; b > 0; b -= 1) tensor.copyWithin(b * to, b * from, b * from + usedFloats);
    }
    this.capacity = next;
    this.pastView = null;
  }

  /** Gives the cache buffer back to the decoder's cache memory for its next batch (it can be hundreds of megabytes). */
  dispose(): void {
    if (this.buffer) this.memory.give(this.buffer);
    this.buffer = null;
    this.tensors = [];
    this.pastView = null;
    this.used = 0;
  }
}
