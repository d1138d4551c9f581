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
 * Steps reuse their id, mask and position buffers: after prefill a step allocates only what ONNX
 * Runtime returns (the logits and the grown cache).
 */
export class KvCacheBatch {
  private cache: KvBlock | null = null;
  private readonly lengths: Int32Array;
  private readonly pads: Int32Array;
  private maskBuffer: BigInt64Array = new BigInt64Array(0);
  private readonly idBuffer: BigInt64Array;
  private readonly positionBuffer: BigInt64Array;
  /** Milliseconds spent inside ONNX Runtime so far. */
  ortMs = 0;
  vocabSize = 0;

  constructor(
    private readonly decoder: OnnxDecoder,
    private readonly rowTokens: readonly (readonly number[])[],
    private readonly options: { chunkTokens: number; padTokenId: number; vocabHint: number; maxNewTokens: number },
  ) {
    if (rowTokens.length === 0) throw new GenerationError('INVALID_GENERATION_INPUT', 'a batch needs at least one row');
    this.lengths = Int32Array.from(rowTokens.map((r) => r.length));
    this.pads = new Int32Array(rowTokens.length);
    this.idBuffer = new BigInt64Array(rowTokens.length);
    this.positionBuffer = new BigInt64Array(rowTokens.length);
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
    const out = await prefillRows(this.decoder, this.rowTokens, this.options.vocabHint, {
      chunkTokens: this.options.chunkTokens,
      padTokenId: this.options.padTokenId,
      keepCache: true,
    });
    this.ortMs += out.ortMs;
    this.vocabSize = out.vocabSize;
    this.cache = out.cache;
    this.lengths.forEach((length, r) => {
      this.pads[r] = out.width - length;
    });
    this.maskBuffer = new BigInt64Array(this.rows * (out.width + this.options.maxNewTokens));
    return out.logits;
  }

  /** Appends `token` to every row and returns `[rows, vocab]` logits for the next position. */
  async append(token: number): Promise<Float32Array> {
    const cache = this.cache;
    if (!cache) throw new GenerationError('INVALID_GENERATION_INPUT', 'append() before prefill()');
    const total = cache.length + 1;
    const rows = this.rows;
    if (rows * total > this.maskBuffer.length) this.maskBuffer = new BigInt64Array(rows * total * 2);
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
    const out = await this.decoder.forward({
      rows,
      newTokens: 1,
      inputIds: this.idBuffer,
      attentionMask: mask,
      positionIds: this.positionBuffer,
      past: cache,
      keep: 1,
    });
    this.ortMs += out.ortMs;
    this.cache = out.present;
    return out.logits;
  }

  /** Drops the cache (it can be hundreds of megabytes). */
  dispose(): void {
    this.cache = null;
  }
}
