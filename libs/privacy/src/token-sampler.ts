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
