import { performance } from 'node:perf_hooks';
import { type PrivateTokenSampler } from '@synthgate/privacy';
import { type LogitsSource } from './decoding-modes';

/**
 * Why an example stopped. Computed from sensitive data: for benchmarks and internal metrics only,
 * never part of a release (DESIGN.md section 4).
 */
export type StopReason = 'eos' | 'private-token-cap' | 'max-new-tokens';

/**
 * Where one example's time went. `outsideOrtMs` is everything between ONNX Runtime calls during
 * the decoding steps: the token mechanism (clip, aggregate, sample, sparse vector) plus feed
 * preparation and cache bookkeeping; `mechanismMs` is the token mechanism alone.
 */
export interface StepTimings {
  /** Decoding steps run (one per generated token, end-of-sequence included). */
  readonly steps: number;
  /** Wall time of the prefill (first logits), inside and outside ORT. */
  readonly prefillMs: number;
  /** Wall time of everything after the prefill. */
  readonly decodeMs: number;
  /** Time inside ONNX Runtime, prefill included. */
  readonly ortMs: number;
  readonly mechanismMs: number;
  /** `totalMs - ortMs`. */
  readonly outsideOrtMs: number;
  readonly totalMs: number;
  /**
   * Batched forward passes after the prefill: one per step, fewer with speculative verification;
   * in the recompute modes each is a full prefill of every row.
   */
  readonly batchForwards: number;
}

/**
 * Per-step trace for tests and diagnostics. `logits` (`[rows, vocab]`, private rows first) is a
 * reused buffer, valid only during the callback; it is sensitive: never log or keep it.
 */
export interface StepTrace {
  readonly step: number;
  readonly logits: Float32Array;
  readonly token: number;
  readonly private: boolean;
}

/** The outcome of the decoding loop, before detokenisation. */
export interface DecodingOutcome {
  /** Generated ids, end-of-sequence excluded. */
  readonly tokenIds: number[];
  readonly privateSteps: number;
  readonly publicSteps: number;
  readonly stopReason: StopReason;
  readonly stepTimings: StepTimings;
}

/** What every decoding loop needs besides its logits: the mechanism and when to stop. */
export interface DecodingSettings {
  readonly sampler: PrivateTokenSampler;
  readonly vocabSize: number;
  /** Private rows come first in every logits buffer; the public row follows them. */
  readonly privateRows: number;
  readonly eosTokenIds: ReadonlySet<number>;
  /** `r`: stop after this many private tokens. */
  readonly privateTokenCap: number;
  /** `T`: stop after this many tokens. */
  readonly maxNewTokens: number;
  readonly onStep?: (trace: StepTrace) => void;
}

/** Inputs of {@link runPrivateDecoding}. */
export interface PrivateDecodingInput extends DecodingSettings {
  readonly source: LogitsSource;
}

/**
 * The private decoding loop (DESIGN.md section 5): at each step the sampler (libs/privacy) decides,
 * from the private rows' and the public row's logits, whether the step is private (clip,
 * aggregate with the fixed divisor, exponential mechanism) or public (sparse-vector drafter), and
 * which token follows. Stops at end-of-sequence, after `r` private tokens, or after `T` tokens.
 * Every privacy decision is the sampler's; this loop only moves logits and tokens.
 */
export async function runPrivateDecoding(input: PrivateDecodingInput): Promise<DecodingOutcome> {
  const { source, sampler, vocabSize, privateRows } = input;
  const started = performance.now();
  const tokenIds: number[] = [];
  let privateSteps = 0;
  let publicSteps = 0;
  let mechanismMs = 0;
  let stopReason: StopReason = 'max-new-tokens';
  let logits = await source.start();
  const prefillMs = performance.now() - started;
  for (let step = 0; step < input.maxNewTokens; step += 1) {
    const publicLogits = logits.subarray(privateRows * vocabSize, (privateRows + 1) * vocabSize);
    const mechanismStarted = performance.now();
    const decision = sampler.next(logits, privateRows, publicLogits);
    mechanismMs += performance.now() - mechanismStarted;
    if (decision.private) privateSteps += 1;
    else publicSteps += 1;
    input.onStep?.({ step, logits, token: decision.token, private: decision.private });
    if (input.eosTokenIds.has(decision.token)) {
      stopReason = 'eos';
      break;
    }
    tokenIds.push(decision.token);
    if (decision.private && privateSteps >= input.privateTokenCap) {
      stopReason = 'private-token-cap';
      break;
    }
    if (tokenIds.length >= input.maxNewTokens) break;
    logits = await source.next(decision.token);
  }
  const totalMs = performance.now() - started;
  return {
    tokenIds,
    privateSteps,
    publicSteps,
    stopReason,
    stepTimings: {
      steps: privateSteps + publicSteps,
      prefillMs,
      decodeMs: totalMs - prefillMs,
      ortMs: source.ortMs,
      mechanismMs,
      outsideOrtMs: totalMs - source.ortMs,
      totalMs,
      batchForwards: source.forwardCalls,
    },
  };
}
