import { type Rng } from '@synthgate/privacy';
import { GenerationError } from '../generation.errors';
import { prefillRows } from '../runtime/batch-prefill';
import { KvCacheBatch } from '../runtime/kv-cache-batch';
import { type OnnxDecoder } from '../runtime/onnx-decoder';

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
  /** `resample-per-token` only: prompts to draw each step's rows from (default: the private rows). */
  readonly resamplePool?: readonly (readonly number[])[];
  /** `resample-per-token` only: the generator of its per-step samples. */
  readonly rng?: Rng;
  readonly chunkTokens: number;
  readonly padTokenId: number;
  readonly vocabSize: number;
  readonly maxNewTokens: number;
}

/** Creates the logits source of `mode`. */
export function createLogitsSource(mode: DecodingMode, input: LogitsSourceInput): LogitsSource {
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

class KvCacheSource implements LogitsSource {
  private readonly batch: KvCacheBatch;

  constructor(input: LogitsSourceInput) {
    this.batch = new KvCacheBatch(input.decoder, [...input.privateRows, input.publicRow], {
      chunkTokens: input.chunkTokens,
      padTokenId: input.padTokenId,
      vocabSize: input.vocabSize,
      maxNewTokens: input.maxNewTokens,
    });
  }

  get rows(): number {
    return this.batch.rows;
  }

  get ortMs(): number {
    return this.batch.ortMs;
  }

  get forwardCalls(): number {
    return this.batch.forwardCalls;
  }

  start(): Promise<Float32Array> {
    return this.batch.prefill();
  }

  next(token: number): Promise<Float32Array> {
    return this.batch.append(token);
  }

  dispose(): void {
    this.batch.dispose();
  }
}

/** Without a cache: each step prefills (prompt + suffix) for the rows `privateRowsForStep` picks. */
class RecomputeSource implements LogitsSource {
  ortMs = 0;
  forwardCalls = 0;
  private readonly suffix: number[] = [];

  constructor(
    private readonly input: LogitsSourceInput,
    private readonly privateRowsForStep: () => readonly (readonly number[])[],
  ) {}

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
    const rows = [...this.privateRowsForStep(), this.input.publicRow].map((row) => [...row, ...this.suffix]);
    const out = await prefillRows(this.input.decoder, rows, this.input.vocabSize, {
      chunkTokens: this.input.chunkTokens,
      padTokenId: this.input.padTokenId,
      keepCache: false,
    });
    this.ortMs += out.ortMs;
    return out.logits;
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
