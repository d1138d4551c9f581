import { sampleLaplace } from '../../noise';
import { PrivacyError, requireFinite, requireInteger, requireNonNegative, requirePositive } from '../../privacy.errors';
import { type Rng } from '../../rng';
import { checkPublicInput, checkStepInputs, TokenCandidates } from '../../token-candidates';
import { type AggregatedStep, type AggregationRequest, aggregationParameters, clipAggregatesInFloat32, TOKEN_AGGREGATION } from '../../token-aggregation';
import { type LogitBuffer, accumulateClippedRows, argmaxIndex, sampleFromWeights, softmaxWeights, sparseVectorStatistic, sparseVectorStatisticFromSum } from '../../token-mechanism';
import { type AggregatingTokenSampler, type TokenDecision } from '../../token-sampler';

/** Parameters of one release's token mechanism (DESIGN.md section 5). */
export interface TokenMechanismParams {
  /** Logit clip bound `c` > 0. */
  readonly clip: number;
  /** `s` > 0: the fixed divisor of the aggregate, the expected batch size, never the actual row count. */
  readonly expectedBatchSize: number;
  /** Private temperature `tau` > 0. */
  readonly temperature: number;
  /** Public temperature `tau_pub` >= 0; 0 means greedy (argmax, ties to the smaller id). */
  readonly publicTemperature: number;
  /** Restrict sampling to the public row's top-k tokens; 0 or undefined: off; k >= vocabulary: off. */
  readonly topK?: number;
  /** Sparse-vector drafter (threshold `theta`, noise scale `sigma` > 0); null: every step private. */
  readonly drafter?: { readonly threshold: number; readonly sigma: number } | null;
}

/**
 * One synthetic example's token mechanism. Stateful (holds the sparse-vector noisy threshold,
 * redrawn after each private step) and allocation-free after construction: every buffer is sized
 * from the vocabulary once, and a step allocates only its two-field {@link TokenDecision}.
 *
 * `logits` holds `privateRows * vocabSize` floats, row-major, one row per private prompt (a longer
 * buffer is fine: only the first `privateRows` rows are read); `publicLogits` holds `vocabSize`
 * floats (may be a subarray of the same buffer).
 *
 * Privacy invariants kept here (each with a test in private-token-sampler.spec.ts and
 * token-mechanism.spec.ts):
 * - the aggregate is divided by `expectedBatchSize`, never by `privateRows`;
 * - each row contributes a vector in [-c, c]^V whatever its values (NaN, +-Infinity included), so
 *   one step is `2c / (s tau)`-bounded-range;
 * - the drafter's statistic has sensitivity `1/s`; its threshold noise `Lap(sigma)` is drawn at
 *   construction and after every private step, its query noise `Lap(2 sigma)` at every step;
 * - the top-k set comes from the public row only; all randomness comes from the injected `Rng`.
 */
export class PrivateTokenSampler implements AggregatingTokenSampler {
  /** The validated parameters (a frozen copy). */
  readonly params: Readonly<TokenMechanismParams>;
  /**
   * The in-graph aggregation this sampler reads (token-aggregation.ts): the clipped sum, and the
   * softmax sum when the drafter is on; null when c is outside the float32 range it is defined on.
   */
  readonly aggregation: AggregationRequest | null;
  private readonly aggregate: Float64Array;
  private readonly weights: Float64Array;
  private readonly meanSoftmax: Float64Array | null;
  private readonly softmaxScratch: Float64Array | null;
  /** The public top-k and the public restriction of {@link restrictTo}. */
  private readonly candidateSet: TokenCandidates;
  private rowMaxima: Float64Array;
  private noisyThreshold = Number.NaN;
  private privateStepCount = 0;
  private statistic = Number.NaN;

  constructor(
    readonly vocabSize: number,
    params: TokenMechanismParams,
    private readonly rng: Rng,
  ) {
    requireInteger('vocabSize', vocabSize, 1);
    this.params = Object.freeze(validateParams(params));
    this.candidateSet = new TokenCandidates(vocabSize, this.params.topK ?? 0);
    this.aggregate = new Float64Array(vocabSize);
    this.weights = new Float64Array(vocabSize);
    const drafter = this.params.drafter ?? null;
    this.meanSoftmax = drafter === null ? null : new Float64Array(vocabSize);
    this.softmaxScratch = drafter === null ? null : new Float64Array(vocabSize);
    this.rowMaxima = new Float64Array(Math.ceil(2 * Math.min(this.params.expectedBatchSize, 1 << 16)) + 16);
    if (drafter !== null) this.noisyThreshold = drafter.threshold + sampleLaplace(rng, drafter.sigma);
    this.aggregation = clipAggregatesInFloat32(this.params.clip)
      ? Object.freeze({ spec: TOKEN_AGGREGATION, outputs: drafter === null ? ['clippedSum' as const] : ['clippedSum' as const, 'softmaxSum' as const], parameters: aggregationParameters(this.params.clip) })
      : null;
  }

  /**
   * How many private steps this sampler has taken. Data-dependent: for the engine's cap `r` only,
   * never to be released (DESIGN.md section 4, "What is released").
   */
  get privateSteps(): number {
    return this.privateStepCount;
  }

  /**
   * The sparse-vector statistic `d` of the last step that ran the test; NaN when it did not (no
   * drafter). Data-dependent: for aggregate operator metrics only (a fleet-wide
   * histogram), never to be released or stored with a release (DESIGN.md section 4).
   */
  get lastStatistic(): number {
    return this.statistic;
  }

  /**
   * One decoding step: with the drafter, the sparse-vector test decides between a private step
   * (exponential mechanism on the clipped aggregate) and a free public step; without it every
   * step is private.
   */
  next(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): TokenDecision {
    this.checkStepInputs(logits, privateRows, publicLogits);
    this.prepareCandidates(publicLogits);
    this.statistic = Number.NaN;
    if (this.params.drafter != null) {
      if (!this.sparseVectorTest(logits, privateRows, publicLogits, true)) {
        return { token: this.drawPublic(publicLogits), private: false };
      }
      return { token: this.drawPrivate(logits, privateRows, true), private: true };
    }
    this.privateStepCount += 1;
    return { token: this.drawPrivate(logits, privateRows, false), private: true };
  }

  /**
   * The sparse-vector test alone, for engines that verify drafted tokens position by position:
   * true means the step must be private (the noisy threshold has then already been redrawn, and
   * the caller must follow with {@link samplePrivate}); false means a public token is free.
   * Without a drafter every step is private.
   */
  isPrivateStep(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): boolean {
    this.checkStepInputs(logits, privateRows, publicLogits);
    this.statistic = Number.NaN;
    if (this.params.drafter == null) {
      this.privateStepCount += 1;
      return true;
    }
    return this.sparseVectorTest(logits, privateRows, publicLogits, false);
  }

  /**
   * {@link next} on the private rows' aggregate computed by the engine from {@link aggregation}:
   * the same decisions and draws, with the clipped sum in place of `sum_i clip_c(z_i)` (each row's
   * term from c32 in float32: see token-aggregation.ts for why the bounded range stays `2c/(s tau)`)
   * and the softmax sum in place of the per-row softmaxes.
   */
  nextAggregated(step: AggregatedStep, publicLogits: LogitBuffer): TokenDecision {
    this.checkAggregatedStep(step, publicLogits);
    this.prepareCandidates(publicLogits);
    this.statistic = Number.NaN;
    if (this.params.drafter != null) {
      if (!this.sparseVectorTestAggregated(step, publicLogits)) return { token: this.drawPublic(publicLogits), private: false };
      return { token: this.drawPrivateAggregated(step), private: true };
    }
    this.privateStepCount += 1;
    return { token: this.drawPrivateAggregated(step), private: true };
  }

  /** {@link isPrivateStep} on an aggregated step. */
  isPrivateStepAggregated(step: AggregatedStep, publicLogits: LogitBuffer): boolean {
    this.checkAggregatedStep(step, publicLogits);
    this.statistic = Number.NaN;
    if (this.params.drafter == null) {
      this.privateStepCount += 1;
      return true;
    }
    return this.sparseVectorTestAggregated(step, publicLogits);
  }

  /** {@link samplePrivate} on an aggregated step. */
  samplePrivateAggregated(step: AggregatedStep, publicLogits: LogitBuffer): number {
    this.checkAggregatedStep(step, publicLogits);
    this.prepareCandidates(publicLogits);
    return this.drawPrivateAggregated(step);
  }

  /** {@link privateLogProbabilities} on an aggregated step (audits and tests). */
  privateLogProbabilitiesAggregated(step: AggregatedStep, publicLogits: LogitBuffer, out: Float64Array): void {
    this.checkAggregatedStep(step, publicLogits);
    this.prepareCandidates(publicLogits);
    const total = this.privateWeightsAggregated(step);
    this.writeLogProbabilities(this.candidateCount, total, out);
  }

  /**
   * Restricts every later draw (private and public) to the tokens with `allowed[j] !== 0`,
   * and the public top-k to the best k of those, until the next call; null lifts the restriction.
   * The set must be computed from public information only: the release's parameters, the model's
   * public tokenizer and the tokens already generated (which are the mechanism's public output).
   * Then, like top-k (DESIGN.md section 5.8), it is post-processing of public data and costs no
   * privacy: it narrows the output range of the exponential mechanism by a set that does not depend
   * on any record, so the `2c / (s tau)` bounded-range argument holds over the smaller range
   * unchanged, and the sparse-vector statistic (computed on the unrestricted rows) is untouched.
   * libs/generation uses it to keep generated bytes valid UTF-8 (decoding/utf8-token-mask.ts).
   * An all-zero set is ignored (no restriction), so a step can always draw a token.
   */
  restrictTo(allowed: Uint8Array | null): void {
    this.candidateSet.restrictTo(allowed);
  }

  /** Draws a private token (the exponential mechanism), restricted to the public top-k when set. */
  samplePrivate(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): number {
    this.checkStepInputs(logits, privateRows, publicLogits);
    this.prepareCandidates(publicLogits);
    return this.drawPrivate(logits, privateRows, false);
  }

  /** Draws a public token from `softmax(z_pub / tau_pub)`, restricted to the public top-k when set. */
  samplePublic(publicLogits: LogitBuffer): number {
    this.checkPublicInput(publicLogits);
    this.prepareCandidates(publicLogits);
    return this.drawPublic(publicLogits);
  }

  /**
   * The exact log-probabilities of the private step's token distribution, `log softmax(zbar / tau)`
   * over the public top-k (-Infinity outside it), written to `out[0 .. vocabSize)`. The sampler draws
   * from exactly these weights; audits and the privacy-loss tests read them. Uses no randomness.
   */
  privateLogProbabilities(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer, out: Float64Array): void {
    this.checkStepInputs(logits, privateRows, publicLogits);
    this.prepareCandidates(publicLogits);
    const n = this.candidateCount;
    const total = this.privateWeights(logits, privateRows, false);
    this.writeLogProbabilities(n, total, out);
  }

  /** Like {@link privateLogProbabilities} for the public step (temperature `tau_pub` > 0 only). */
  publicLogProbabilities(publicLogits: LogitBuffer, out: Float64Array): void {
    this.checkPublicInput(publicLogits);
    if (this.params.publicTemperature === 0) {
      throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'publicTemperature', 'must be > 0 for a probability distribution');
    }
    this.prepareCandidates(publicLogits);
    const total = softmaxWeights(this.weights, publicLogits, 0, this.vocabSize, 1 / this.params.publicTemperature, this.candidates, this.candidateCount);
    this.writeLogProbabilities(this.candidateCount, total, out);
  }

  private writeLogProbabilities(n: number, total: number, out: Float64Array): void {
    const logTotal = Math.log(total);
    if (this.candidates === null) {
      for (let j = 0; j < n; j++) out[j] = Math.log(this.weights[j]!) - logTotal;
      return;
    }
    out.fill(-Infinity, 0, this.vocabSize);
    for (let j = 0; j < n; j++) out[this.candidates[j]!] = Math.log(this.weights[j]!) - logTotal;
  }

  /** AboveThreshold step: `d + Lap(2 sigma) >= theta_hat` means private; then `theta_hat` is redrawn. */
  private sparseVectorTest(logits: LogitBuffer, rows: number, publicLogits: LogitBuffer, keepMaxima: boolean): boolean {
    const drafter = this.params.drafter!;
    this.ensureRowCapacity(rows);
    const statistic = sparseVectorStatistic(
      logits,
      rows,
      this.vocabSize,
      publicLogits,
      this.params.expectedBatchSize,
      this.meanSoftmax!,
      this.softmaxScratch!,
      keepMaxima ? this.rowMaxima : null,
    );
    this.statistic = statistic;
    if (statistic + sampleLaplace(this.rng, 2 * drafter.sigma) < this.noisyThreshold) return false;
    this.noisyThreshold = drafter.threshold + sampleLaplace(this.rng, drafter.sigma);
    this.privateStepCount += 1;
    return true;
  }

  /** The sparse-vector test of {@link sparseVectorTest} on the softmax sum. */
  private sparseVectorTestAggregated(step: AggregatedStep, publicLogits: LogitBuffer): boolean {
    const drafter = this.params.drafter!;
    if (step.softmaxSum === null) throw new PrivacyError('INVALID_LOGITS', 'step.softmaxSum', 'is needed by the sparse-vector drafter');
    const statistic = sparseVectorStatisticFromSum(step.softmaxSum, this.vocabSize, publicLogits, this.params.expectedBatchSize, this.meanSoftmax!, this.softmaxScratch!);
    this.statistic = statistic;
    if (statistic + sampleLaplace(this.rng, 2 * drafter.sigma) < this.noisyThreshold) return false;
    this.noisyThreshold = drafter.threshold + sampleLaplace(this.rng, drafter.sigma);
    this.privateStepCount += 1;
    return true;
  }

  /**
   * The exponential mechanism's weights from the clipped sum: indexing the full-vocabulary sum by
   * candidate is summing the candidates only. Returns their sum.
   */
  private privateWeightsAggregated(step: AggregatedStep): number {
    const { expectedBatchSize, temperature } = this.params;
    // zbar / tau = sum / (s tau): the divisor is the declared s, never the row count.
    return softmaxWeights(this.weights, step.clippedSum, 0, this.vocabSize, 1 / (expectedBatchSize * temperature), this.candidates, this.candidateCount);
  }

  private drawPrivateAggregated(step: AggregatedStep): number {
    const total = this.privateWeightsAggregated(step);
    return this.tokenAt(sampleFromWeights(this.weights, this.candidateCount, total, this.rng));
  }

  private checkAggregatedStep(step: AggregatedStep, publicLogits: LogitBuffer): void {
    if (this.aggregation === null) throw new PrivacyError('INVALID_LOGITS', 'step', `clip = ${this.params.clip} is not aggregated in float32: use the per-row path`);
    if (step.clippedSum.length < this.vocabSize) throw new PrivacyError('INVALID_LOGITS', 'step.clippedSum', `must hold vocabSize = ${this.vocabSize} values, got ${step.clippedSum.length}`);
    if (step.softmaxSum !== null && step.softmaxSum.length < this.vocabSize) {
      throw new PrivacyError('INVALID_LOGITS', 'step.softmaxSum', `must hold vocabSize = ${this.vocabSize} values, got ${step.softmaxSum.length}`);
    }
    this.checkPublicInput(publicLogits);
  }

  /** Fills `weights` with the exponential mechanism's weights; returns their sum. */
  private privateWeights(logits: LogitBuffer, rows: number, maximaKnown: boolean): number {
    const { clip, expectedBatchSize, temperature } = this.params;
    const n = this.candidateCount;
    accumulateClippedRows(this.aggregate, logits, rows, this.vocabSize, clip, this.candidates, n, maximaKnown ? this.rowMaxima : null);
    // zbar / tau = sum / (s tau): the divisor is the declared s, never `rows`.
    return softmaxWeights(this.weights, this.aggregate, 0, n, 1 / (expectedBatchSize * temperature), null, n);
  }

  private drawPrivate(logits: LogitBuffer, rows: number, maximaKnown: boolean): number {
    const n = this.candidateCount;
    const total = this.privateWeights(logits, rows, maximaKnown);
    return this.tokenAt(sampleFromWeights(this.weights, n, total, this.rng));
  }

  private drawPublic(publicLogits: LogitBuffer): number {
    const n = this.candidateCount;
    if (this.params.publicTemperature === 0) return this.tokenAt(argmaxIndex(publicLogits, 0, this.candidates, n));
    const total = softmaxWeights(this.weights, publicLogits, 0, this.vocabSize, 1 / this.params.publicTemperature, this.candidates, n);
    return this.tokenAt(sampleFromWeights(this.weights, n, total, this.rng));
  }

  private tokenAt(position: number): number {
    return this.candidateSet.tokenAt(position);
  }

  private prepareCandidates(publicLogits: LogitBuffer): void {
    this.candidateSet.prepare(publicLogits);
  }

  /** The candidate list of the current step (the public top-k and/or the allowed tokens); null: every token. */
  private get candidates(): Int32Array | null {
    return this.candidateSet.list;
  }

  private get candidateCount(): number {
    return this.candidateSet.count;
  }

  /** Grows the per-row maxima buffer when a batch is larger than any before (rare; amortised). */
  private ensureRowCapacity(rows: number): void {
    if (rows > this.rowMaxima.length) this.rowMaxima = new Float64Array(Math.max(rows, 2 * this.rowMaxima.length));
  }

  private checkStepInputs(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): void {
    checkStepInputs(this.vocabSize, logits, privateRows, publicLogits);
  }

  private checkPublicInput(publicLogits: LogitBuffer): void {
    checkPublicInput(this.vocabSize, publicLogits);
  }
}

function validateParams(params: TokenMechanismParams): TokenMechanismParams {
  requirePositive('clip', params.clip);
  requirePositive('expectedBatchSize', params.expectedBatchSize);
  requirePositive('temperature', params.temperature);
  requireNonNegative('publicTemperature', params.publicTemperature);
  if (params.topK !== undefined) requireInteger('topK', params.topK, 0);
  const drafter = params.drafter ?? null;
  if (drafter !== null) {
    requireFinite('drafter.threshold', drafter.threshold);
    requirePositive('drafter.sigma', drafter.sigma);
  }
  // The scales 1/(s tau) and 1/tau_pub multiply logit differences; an infinite scale would turn the
  // maximum's 0 difference into NaN.
  if (!Number.isFinite(1 / (params.expectedBatchSize * params.temperature))) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'temperature', 'is too small: 1 / (expectedBatchSize * temperature) overflows');
  }
  if (params.publicTemperature > 0 && !Number.isFinite(1 / params.publicTemperature)) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'publicTemperature', 'is too small: 1 / publicTemperature overflows');
  }
  return {
    clip: params.clip,
    expectedBatchSize: params.expectedBatchSize,
    temperature: params.temperature,
    publicTemperature: params.publicTemperature,
    topK: params.topK ?? 0,
    drafter: drafter === null ? null : Object.freeze({ threshold: drafter.threshold, sigma: drafter.sigma }),
  };
}
