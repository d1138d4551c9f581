import { type OnnxDecoder } from './onnx-decoder';

/**
 * The KV-cache memory of one decoder's batches: one contiguous buffer per batch (all layers' keys
 * and values), and one spare, the largest buffer a finished batch gave back, which the next batch
 * reuses when it is large enough.
 *
 * Why: a fresh buffer is only backed by memory when first written, and on the development machine
 * that costs about 3 ms per MiB (an 80 MiB cache: ~230 ms, as long as the prefill's kernels), so
 * every example paid it again; and a dropped buffer stays resident until V8 collects it, so the
 * previous example's cache and the next one's were often both in the peak RSS. With the spare, a
 * worker running examples of one release holds one cache, the largest it has used (at most
 * KV_CACHE_LIMIT_BYTES, the limit each batch's buffer is planned under), already resident.
 * One buffer of more than 32 MiB is also returned to the system as soon as it is collected
 * (glibc maps it on its own), unlike the former per-tensor buffers (20 MiB each at 256 rows).
 *
 * A reused buffer is zeroed before it is handed out: a batch never sees another batch's keys and
 * values, not even in slots its attention mask hides.
 */
export class KvCacheMemory {
  private spare: ArrayBuffer | null = null;

  /** Bytes of the spare buffer held between batches (0 when none). */
  get spareBytes(): number {
    return this.spare?.byteLength ?? 0;
  }

  /**
   * A buffer of at least `bytes` bytes whose first `bytes` are zero: the spare when it is large
   * enough, else a new one (and a smaller spare is dropped).
   */
  take(bytes: number): ArrayBuffer {
    const spare = this.spare;
    this.spare = null;
    if (spare && spare.byteLength >= bytes) {
      new Uint8Array(spare, 0, bytes).fill(0);
      return spare;
    }
    return new ArrayBuffer(bytes);
  }

  /** Gives a batch's buffer back: it becomes the spare when it is larger than the current one. */
  give(buffer: ArrayBuffer): void {
    if (!this.spare || buffer.byteLength > this.spare.byteLength) this.spare = buffer;
  }

  /** Drops the spare (it is freed when collected). */
  clear(): void {
    this.spare = null;
  }
}

const memories = new WeakMap<OnnxDecoder, KvCacheMemory>();

/** The cache memory shared by `decoder`'s batches (one per decoder, i.e. per loaded model). */
export function kvCacheMemoryOf(decoder: OnnxDecoder): KvCacheMemory {
  let memory = memories.get(decoder);
  if (!memory) {
    memory = new KvCacheMemory();
    memories.set(decoder, memory);
  }
  return memory;
}
