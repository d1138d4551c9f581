import { type AggregatedStep, type AggregationOutputName, type AggregationRequest, type Rng } from '@synthgate/privacy';
import { GenerationError } from '../generation.errors';
import { prefillRows } from '../runtime/batch-prefill';
import { KvCacheBatch } from '../runtime/kv-cache-batch';
import { type ForwardAggregation, type OnnxDecoder } from '../runtime/onnx-decoder';

/**
 * How the logits of each step are computed. Only `kv-cache` is used in production; the others
 * exist for benchmarks and for tests that hold `kv-cache` to the same logits as `recompute`.
 * - `kv-cache`: prefill every row once, then one new token per row per step with the cache.
 * - `recompute`: no cache; every step runs each row's whole prefix again.
 * - `resample-per-token`: the prior private-prediction method: every step draws a fresh sample
 *   of prompts and re-encodes each of them with the generated suffix.
 */
export type DecodingMode = 'kv-cache' | 'recompute' | 'resample-per-token';

/** The decoding modes, for validation and benchmarks. */
export const DECODING_MODES: readonly DecodingMode[] = ['kv-cache', 'recompute', 'resample-per-token'];

/**
 * Logits of one example's rows, step by step: `start()` gives the first token's logits, each
 * `next(token)` appends the chosen token to every row and gives the following ones. Buffers are
 * `[rows, vocab]` with the private rows first and the public row last.
 */
export interface LogitsSource {
  readonly rows: number;
  /**
   * Non-null when the private rows are aggregated inside the graph: then `start()` and `next()`
   * return the public row's logits alone (`[vocab]`) and the private rows' aggregate of the same
   * step is here (buffers reused from step to step).
   */
  readonly aggregated: AggregatedStep | null;
  /** Milliseconds spent inside ONNX Runtime so far. */
  readonly ortMs: number;
  /** Forward passes (or full prefills, without a cache) after the first logits. */
  readonly forwardCalls: number;
  start(): Promise<Float32Array>;
  next(token: number): Promise<Float32Array>;
  dispose(): void;
}

/** What every mode needs: token ids per row and the runtime settings. */
export interface LogitsSourceInput {
  readonly decoder: OnnxDecoder;
  /** Private rows' prompt ids. */
  readonly privateRows: readonly (readonly number[])[];
  readonly publicRow: readonly number[];
  /**
   * `kv-cache` only: how many private rows keep a KV cache (default: all). The rest are decoded
   * without one, in row chunks: each step runs their prompt plus the generated suffix again, which
   * gives the same logits with memory bounded by one chunk (a batch larger than its public memory
   * bound is never refused).
   */
  readonly cachedPrivateRows?: number;
  /** `resample-per-token` only: prompts to draw each step's rows from (default: the private rows). */
  readonly resamplePool?: readonly (readonly number[])[];
  /** `resample-per-token` only: the generator of its per-step samples. */
  readonly rng?: Rng;
  readonly chunkTokens: number;
  readonly padTokenId: number;
  readonly vocabSize: number;
  readonly maxNewTokens: number;
  /**
   * `kv-cache` only: aggregate the private rows inside the graph as the sampler asks (the decoder
   * must compute {@link AggregationRequest.outputs}); null or absent: return every row's logits.
   */
  readonly aggregation?: AggregationRequest | null;
}

/** Creates the logits source of `mode`. */
export function createLogitsSource(mode: DecodingMode, input: LogitsSourceInput): LogitsSource {
  if (input.aggregation && mode !== 'kv-cache') throw new GenerationError('INVALID_GENERATION_INPUT', `in-graph aggregation needs mode kv-cache, got ${mode}`);
  switch (mode) {
    case 'kv-cache':
      return new KvCacheSource(input);
    case 'recompute':
      return new RecomputeSource(input, () => input.privateRows);
    case 'resample-per-token':
      return new RecomputeSource(input, resampler(input));
    default:
      throw new GenerationError('INVALID_GENERATION_INPUT', `mode must be one of ${DECODING_MODES.join(', ')}, got ${String(mode)}`);
  }
}

/**
 * Logits of rows without a cache: each call runs every row's prompt plus `suffix` again, in
 * chunks of rows bounded by `chunkTokens`, and writes `[rows, vocab]` into `target`.
 */
async function recomputeRows(
  input: LogitsSourceInput,
  rows: readonly (readonly number[])[],
  suffix: readonly number[],
  target: Float32Array,
  aggregation: Omit<ForwardAggregation, 'rows'> | null = null,
): Promise<number> {
  if (rows.length === 0) return 0;
  const out = await prefillRows(
    input.decoder,
    rows.map((row) => [...row, ...suffix]),
    input.vocabSize,
    { chunkTokens: input.chunkTokens, padTokenId: input.padTokenId, aggregation },
  );
  if (!aggregation) target.set(out.logits.subarray(0, rows.length * input.vocabSize));
  return out.ortMs;
}

/**
 * The production source. The public row runs in a KV-cached batch of its own, never in the same
 * forward pass as a private row: its logits are then bit-identical whatever the records (adding or
 * removing one changes neither its padding nor its batch), so public steps are exactly free and
 * the drafter's statistic keeps its `1/s` sensitivity (DESIGN.md section 4). The private rows run in
 * one KV-cached batch, the first `cachedPrivateRows` of them; any beyond are decoded without a
 * cache (see {@link LogitsSourceInput.cachedPrivateRows}). Every part writes straight into its
 * slice of one `[rows, vocab]` buffer; with in-graph aggregation ({@link LogitsSourceInput.aggregation})
 * the private rows return only their sums, which the cached batch and every uncached chunk add
 * into one step aggregate in float64, and the buffer holds the public row alone.
 */
class KvCacheSource implements LogitsSource {
  readonly aggregated: AggregatedStep | null;
  private readonly logits: Float32Array;
  private readonly sums: Partial<Record<AggregationOutputName, Float64Array>>;
  private readonly privateBatch: KvCacheBatch | null;
  private readonly publicBatch: KvCacheBatch;
  private readonly overflowRows: readonly (readonly number[])[];
  private readonly overflowLogits: Float32Array;
  private readonly suffix: number[] = [];
  private overflowOrtMs = 0;
  private overflowCalls = 0;

  constructor(private readonly input: LogitsSourceInput) {
    const vocab = input.vocabSize;
    const privateCount = input.privateRows.length;
    const cached = Math.max(0, Math.min(privateCount, input.cachedPrivateRows ?? privateCount));
    const request = input.aggregation ?? null;
    // Aggregating: the private rows' logits never come back, only the public row's.
    const privateFloats = request ? 0 : privateCount * vocab;
    this.logits = new Float32Array(privateFloats + vocab);
    this.sums = Object.fromEntries((request?.outputs ?? []).map((name) => [name, new Float64Array(vocab)]));
    this.aggregated = request ? { rows: privateCount, clippedSum: this.sums.clippedSum!, softmaxSum: this.sums.softmaxSum ?? null } : null;
    const aggregation = request ? { request, into: this.sums } : null;
    const options = { chunkTokens: input.chunkTokens, padTokenId: input.padTokenId, vocabSize: vocab, maxNewTokens: input.maxNewTokens };
    this.privateBatch =
      cached > 0 ? new KvCacheBatch(input.decoder, input.privateRows.slice(0, cached), aggregation ? { ...options, aggregation } : { ...options, logits: this.logits.subarray(0, cached * vocab) }) : null;
    this.overflowRows = input.privateRows.slice(cached);
    this.overflowLogits = this.logits.subarray(request ? 0 : cached * vocab, privateFloats);
    this.publicBatch = new KvCacheBatch(input.decoder, [input.publicRow], { ...options, logits: this.logits.subarray(privateFloats) });
  }

  get rows(): number {
    return this.input.privateRows.length + 1;
  }

  get ortMs(): number {
    return (this.privateBatch?.ortMs ?? 0) + this.publicBatch.ortMs + this.overflowOrtMs;
  }

  /** Batched passes after the prefill: one per step (the public row's own pass and any row chunks are not counted). */
  get forwardCalls(): number {
    return this.privateBatch?.forwardCalls ?? this.publicBatch.forwardCalls;
  }

  /** Extra passes for private rows beyond the cached ones (one per chunk per step). */
  get overflowForwardCalls(): number {
    return this.overflowCalls;
  }

  async start(): Promise<Float32Array> {
    this.clearSums();
    await this.privateBatch?.prefill();
    this.overflowOrtMs += await this.recomputeOverflow();
    await this.publicBatch.prefill();
    return this.logits;
  }

  async next(token: number): Promise<Float32Array> {
    this.suffix.push(token);
    this.clearSums();
    await this.privateBatch?.append(token);
    if (this.overflowRows.length > 0) {
      this.overflowOrtMs += await this.recomputeOverflow();
      this.overflowCalls += 1;
    }
    await this.publicBatch.append(token);
    return this.logits;
  }

  /** Each step's sums start from 0: the cached batch and every overflow chunk add theirs in float64. */
  private clearSums(): void {
    for (const sums of Object.values(this.sums)) sums.fill(0);
  }

  /** The uncached private rows of this step: their logits, or (aggregating) their sums added to the step's. */
  private recomputeOverflow(): Promise<number> {
    const request = this.input.aggregation ?? null;
    if (!request) return recomputeRows(this.input, this.overflowRows, this.suffix, this.overflowLogits);
    return recomputeRows(this.input, this.overflowRows, this.suffix, this.overflowLogits, { request, into: this.sums });
  }

  dispose(): void {
    this.privateBatch?.dispose();
    this.publicBatch.dispose();
    this.suffix.length = 0;
  }
}

/**
 * Without a cache: each step prefills (prompt + suffix) for the rows `privateRowsForStep` picks,
 * and the public row in a pass of its own (as in the cached source).
 */
class RecomputeSource implements LogitsSource {
  readonly aggregated = null;
  ortMs = 0;
  forwardCalls = 0;
  private readonly suffix: number[] = [];
  private readonly logits: Float32Array;

  constructor(
    private readonly input: LogitsSourceInput,
    private readonly privateRowsForStep: () => readonly (readonly number[])[],
  ) {
    this.logits = new Float32Array((input.privateRows.length + 1) * input.vocabSize);
  }

  get rows(): number {
    return this.input.privateRows.length + 1;
  }

  start(): Promise<Float32Array> {
    return this.run();
  }

  next(token: number): Promise<Float32Array> {
    this.suffix.push(token);
    this.forwardCalls += 1;
    return this.run();
  }

  dispose(): void {
    this.suffix.length = 0;
  }

  private async run(): Promise<Float32Array> {
    const vocab = this.input.vocabSize;
    const privateCount = this.input.privateRows.length;
    this.ortMs += await recomputeRows(this.input, this.privateRowsForStep(), this.suffix, this.logits.subarray(0, privateCount * vocab));
    this.ortMs += await recomputeRows(this.input, [this.input.publicRow], this.suffix, this.logits.subarray(privateCount * vocab));
    return this.logits;
  }
}

/** Draws `privateRows.length` prompts from the pool without replacement (partial Fisher-Yates). */
function resampler(input: LogitsSourceInput): () => readonly (readonly number[])[] {
  const pool = input.resamplePool ?? input.privateRows;
  const count = input.privateRows.length;
  const rng = input.rng;
  if (!rng) throw new GenerationError('INVALID_GENERATION_INPUT', 'resample-per-token needs an rng');
  if (count > 0 && pool.length === 0) throw new GenerationError('INVALID_GENERATION_INPUT', 'resamplePool must not be empty');
  const order = Array.from(pool.keys());
  return () => {
    const n = order.length;
    for (let i = 0; i < Math.min(count, n); i += 1) {
      const j = i + Math.floor(rng.nextDouble() * (n - i));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    // A pool smaller than the batch repeats its shuffled order.
    return Array.from({ length: count }, (_, i) => pool[order[i % n]!]!);
  };
}
