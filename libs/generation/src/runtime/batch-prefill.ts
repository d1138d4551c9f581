import { type DecoderSignature, type ForwardAggregation, type KvBlock, type OnnxDecoder } from './onnx-decoder';

/** Result of prefilling a batch: next-token logits per row. */
export interface PrefillResult {
  /** `[rows, vocab]`: logits at each row's last position. */
  readonly logits: Float32Array;
  readonly vocabSize: number;
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
  /**
   * Receives each chunk's keys and values (`[n, kvHeads, width, headDim]` per tensor, rows
   * `firstRow..firstRow + n`) to copy into the caller's cache; when absent the graph runs for
   * logits only and no cache comes back.
   */
  readonly onCache?: ((firstRow: number, block: KvBlock) => void) | null;
  /** A `rows * vocab` array the logits are written into (allocated when absent). */
  readonly logits?: Float32Array | null;
  /**
   * Aggregate every row in the graph instead of returning logits: each chunk's sums are added to
   * `into` (the caller zeroes it first); the result's `logits` are then not written.
   */
  readonly aggregation?: Omit<ForwardAggregation, 'rows'> | null;
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
 * of rows so a large batch never needs all its activations at once. With `onCache` the chunks'
 * caches are handed to `onCache` chunk by chunk.
 */
export async function prefillRows(decoder: OnnxDecoder, rows: readonly (readonly number[])[], vocabHint: number, options: PrefillOptions): Promise<PrefillResult> {
  const signature = decoder.signature;
  const count = rows.length;
  const width = Math.max(...rows.map((r) => r.length));
  const chunk = prefillChunkRows(signature, width, vocabHint, options.chunkTokens);
  const padId = BigInt(options.padTokenId);
  let logits: Float32Array | null = null;
  let vocabSize = vocabHint;
  let ortMs = 0;
  const target = options.logits && options.logits.length === count * vocabHint ? options.logits : null;
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
    const chunkLogits = target?.subarray(start * vocabHint, (start + n) * vocabHint) ?? null;
    const aggregation = options.aggregation ? { ...options.aggregation, rows: allRows(n) } : null;
    const out = await decoder.forward({
      rows: n,
      newTokens: width,
      inputIds: ids,
      attentionMask: mask,
      positionIds: positions,
      past: null,
      keep: 1,
      logits: chunkLogits,
      fetchCache: Boolean(options.onCache),
      aggregation,
      fetchLogits: !aggregation,
    });
    ortMs += out.ortMs;
    if (aggregation) {
      if (options.onCache && out.cache) options.onCache(start, out.cache);
      continue;
    }
    vocabSize = out.vocabSize;
    logits ??= target && vocabSize === vocabHint ? target : new Float32Array(count * vocabSize);
    if (out.logits !== chunkLogits) logits.set(out.logits, start * vocabSize);
    if (options.onCache && out.cache) options.onCache(start, out.cache);
  }
  return { logits: logits ?? target ?? new Float32Array(0), vocabSize, width, ortMs };
}

/** `[0, 1, .., n - 1]`: every row of a call. */
export function allRows(n: number): BigInt64Array {
  return BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
}
