import { type AggregatedStep, type AggregationRequest } from './token-aggregation';
import { type LogitBuffer } from './token-mechanism';

/** The outcome of one decoding step. */
export interface TokenDecision {
  /** The chosen token id. */
  readonly token: number;
  /** Whether the step read the private rows (and counts against the private-token cap `r`). */
  readonly private: boolean;
}

/**
 * What a decoding loop asks of a mechanism at each step (libs/generation's `DecodingSettings.sampler`).
 * Every privacy decision is the sampler's; the loop only moves logits and tokens. A mechanism's
 * registry entry builds one per synthetic example (`RegisteredMechanism.createSampler`).
 *
 * `logits` holds `privateRows * vocabSize` floats, row-major, one row per private prompt (a longer
 * buffer is fine: only the first `privateRows` rows are read); `publicLogits` holds `vocabSize`
 * floats (may be a subarray of the same buffer).
 */
export interface TokenSampler {
  readonly vocabSize: number;
  /**
   * The statistic of the last step's private/public test, for aggregate operator metrics only;
   * NaN when no test ran. Data-dependent: never released or stored with a release.
   */
  readonly lastStatistic: number;
  /** How many private steps this sampler has taken. Data-dependent: for the engine's cap `r` only. */
  readonly privateSteps: number;
  /** One decoding step: decides between a private and a public token and draws it. */
  next(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): TokenDecision;
  /**
   * The private/public test alone, for engines that verify drafted tokens position by position: true
   * means the step must be private (the caller follows with {@link samplePrivate}); false means a
   * public token is free.
   */
  isPrivateStep(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): boolean;
  /** Draws the private token of a step {@link isPrivateStep} declared private. */
  samplePrivate(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): number;
  /** Draws a public token (no privacy cost). */
  samplePublic(publicLogits: LogitBuffer): number;
  /**
   * Restricts every later draw to the tokens with `allowed[j] !== 0`, until the next call; null lifts
   * it. The set must be computed from public information only (post-processing, no privacy cost).
   * An all-zero set is ignored.
   */
  restrictTo(allowed: Uint8Array | null): void;
}

/**
 * A sampler whose private rows can be aggregated by the engine (inside the model's graph) from the
 * specification it names (token-aggregation.ts), so only vectors of length V come back instead of
 * rows x V logits. Each method is its per-row namesake on the aggregated step; the public row's
 * logits still come whole (the public step, the top-k and the restriction read them). Mechanisms
 * without such a specification implement {@link TokenSampler} alone and keep the per-row path.
 */
export interface AggregatingTokenSampler extends TokenSampler {
  /** What the engine must compute and feed; null when this sampler's parameters need the per-row path. */
  readonly aggregation: AggregationRequest | null;
  /** {@link TokenSampler.next} on an aggregated step. */
  nextAggregated(step: AggregatedStep, publicLogits: LogitBuffer): TokenDecision;
  /** {@link TokenSampler.isPrivateStep} on an aggregated step. */
  isPrivateStepAggregated(step: AggregatedStep, publicLogits: LogitBuffer): boolean;
  /** {@link TokenSampler.samplePrivate} on an aggregated step. */
  samplePrivateAggregated(step: AggregatedStep, publicLogits: LogitBuffer): number;
}

/** The sampler's aggregation request when it can take aggregated steps; null otherwise. */
export function aggregationOf(sampler: TokenSampler): AggregationRequest | null {
  return (sampler as Partial<AggregatingTokenSampler>).aggregation ?? null;
}

/** Whether `sampler` takes aggregated steps (its {@link AggregatingTokenSampler.aggregation} is set). */
export function takesAggregatedSteps(sampler: TokenSampler): sampler is AggregatingTokenSampler {
  return aggregationOf(sampler) !== null;
}
