import { type DecoderSignature, type KvBlock, type OnnxDecoder } from './onnx-decoder';

/** Result of prefilling a batch: next-token logits per row and, if kept, the batch's cache. */
export interface PrefillResult {
  /** `[rows, vocab]`: logits at each row's last position. */
  readonly logits: Float32Array;
  readonly vocabSize: number;
  /** `[rows, kvHeads, width, headDim]` per tensor; null when `keepCache` was false. */
  readonly cache: KvBlock | null;
  /** Padded width (the longest row). */
  readonly width: number;
  readonly ortMs: number;
}

/** Options of {@link prefillRows}. */
export interface PrefillOptions {
  /** Upper bound on `chunkRows * width` (tokens per forward call), to bound activation memory. */
  readonly chunkTokens: number;
  /** Id placed under a zero mask in padded slots (any id works; it is never attended to). */
  readonly padTokenId: number;
  readonly keepCache: boolean;
  /**
   * With `keepCache`: arrays (one per cache tensor, each holding at least `rows * kvHeads * width *
   * headDim` floats) that ONNX Runtime writes each chunk's keys and values into, at the chunk's
   * rows, so the batch's cache is assembled without copies; and a `rows * vocab` logits array.
   */
  readonly targets?: { readonly logits: Float32Array; readonly cache: readonly Float32Array[] } | null;
}

/** Rows per prefill call: as many as fit `chunkTokens`, at least one. */
export function prefillChunkRows(signature: DecoderSignature, width: number, vocabSize: number, chunkTokens: number): number {
  let rows = Math.max(1, Math.floor(chunkTokens / width));
  if (!signature.hasNumLogitsToKeep) {
    // A graph without num_logits_to_keep returns logits for every position: bound those too.
    rows = Math.min(rows, Math.max(1, Math.floor((64 * 1024 * 1024) / (width * vocabSize * 4))));
  }
  return rows;
}

/**
 * Prefills rows of token ids in one padded batch: left padding, `attention_mask` 0 on padding,
 * `position_ids = cumsum(mask) - 1` (so each row's first real token sits at position 0), in chunks
 * of rows so a large batch never needs all its activations at once. With `keepCache` the chunks'
 * caches are joined into one `[rows, ...]` block for the decoding steps that follow.
 */
export async function prefillRows(decoder: OnnxDecoder, rows: readonly (readonly number[])[], vocabHint: number, options: PrefillOptions): Promise<PrefillResult> {
  const signature = decoder.signature;
  const count = rows.length;
  const width = Math.max(...rows.map((r) => r.length));
  const chunk = prefillChunkRows(signature, width, vocabHint, options.chunkTokens);
  const padId = BigInt(options.padTokenId);
  let logits: Float32Array | null = null;
  let vocabSize = vocabHint;
  let cache: KvBlock | null = null;
  let joined: Float32Array[] | null = null;
  let ortMs = 0;
  const perRowKv = signature.numKvHeads * width * signature.headDim;
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const ids = new BigInt64Array(n * width);
    const mask = new BigInt64Array(n * width);
    const positions = new BigInt64Array(n * width);
    for (let r = 0; r < n; r += 1) {
      const row = rows[start + r]!;
      const pad = width - row.length;
      const base = r * width;
      ids.fill(padId, base, base + pad);
      for (let j = 0; j < row.length; j += 1) {
        ids[base + pad + j] = BigInt(row[j]!);
        mask[base + pad + j] = 1n;
        positions[base + pad + j] = BigInt(j);
      }
    }
    const targets = options.keepCache ? options.targets : null;
    const outputs = targets
      ? {
          logits: targets.logits.subarray(start * vocabHint, (start + n) * vocabHint),
          present: targets.cache.map((c) => c.subarray(start * perRowKv, (start + n) * perRowKv)),
        }
      : null;
    const out = await decoder.forward({ rows: n, newTokens: width, inputIds: ids, attentionMask: mask, positionIds: positions, past: null, keep: 1, outputs });
    ortMs += out.ortMs;
    vocabSize = out.vocabSize;
    logits ??= targets && targets.logits.length === count * vocabSize ? targets.logits : new Float32Array(count * vocabSize);
    if (out.logits !== outputs?.logits) logits.set(out.logits, start * vocabSize);
    if (!options.keepCache) continue;
    if (targets) continue;
    if (n === count) {
      cache = out.present;
      continue;
    }
    joined ??= out.present.tensors.map(() => new Float32Array(count * perRowKv));
    out.present.tensors.forEach((tensor, t) => joined![t]!.set(tensor, start * perRowKv));
  }
  if (joined) cache = { rows: count, length: width, tensors: joined };
  if (options.keepCache && options.targets) cache = { rows: count, length: width, tensors: options.targets.cache.map((c) => c.subarray(0, count * perRowKv)) };
  return { logits: logits!, vocabSize, cache, width, ortMs };
}
