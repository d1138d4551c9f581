import { exponentialMechanismRho } from '../../accountant';
import { PrivacyError, requireInteger, requirePositive } from '../../privacy.errors';
import { type Rng } from '../../rng';
import { type LogitBuffer, sampleFromWeights, selectTopK } from '../../token-mechanism';

/*
 * Clipping around the public logits with a public top-k+ (InvisibleInk: Vinod, Pillutla and
 * Thakurta, 2025), a second token mechanism beside the private-prediction one (DESIGN.md section 5).
 *
 * Each row (private prompts and the public prompt) is turned into log-probabilities
 * `l = log softmax(z)` (a per-row function, so the sensitivity argument below is untouched; it
 * makes the difference of two rows a log-ratio instead of depending on each row's arbitrary logit
 * offset). Only the difference to the public row is private: each private row contributes
 * `clip_C(l_i - l_pub)`, every entry in [-C, C] whatever the row holds, and the aggregate is
 *
 *     phi = l_pub + sum_i clip_C(l_i - l_pub) / s        (s the declared divisor, never the row count)
 *
 * and the token is drawn from `softmax(phi / tau)` over the candidate set. Adding or removing a row
 * moves each `phi_j / tau` by a value in [-C/(s tau), C/(s tau)], so the step is
 * `2C/(s tau)`-bounded-range and costs `rho = C^2 / (2 s^2 tau^2)` (Cesar and Rogers 2021), the
 * closed form the planner charges (the same one as private prediction's step, with C in place of c).
 * Because the public row already carries the fluent part of the distribution, C can be far smaller
 * than private prediction's clip for the same quality, which is what lets small batches work.
 *
 * The candidate set is top-k+: the public row's top-k, widened to every token whose public
 * log-probability is within 2C of the k-th largest (any token the private rows could lift into the
 * aggregate's top-k). It is a function of the public row and of a public restriction alone, so
 * restricting the exponential mechanism to it costs nothing.
 */

/** Parameters of the clipped-around-public (InvisibleInk) token mechanism; all public. */
export interface InvisibleInkParams {
  /** Clip bound C > 0 on each private row's log-probability difference to the public row. */
  readonly clip: number;
  /** The fixed divisor s > 0 (the expected batch size), never the actual row count. */
  readonly expectedBatchSize: number;
  /** Sampling temperature tau > 0. */
  readonly temperature: number;
  /** k of the public top-k+ (>= 1); 0: the whole vocabulary. */
  readonly topK: number;
}

/** rho of one token: `C^2 / (2 s^2 tau^2)`, the `2C/(s tau)`-bounded-range exponential mechanism. */
export function invisibleInkRhoPerToken(p: InvisibleInkParams): number {
  validateInvisibleInkParams(p);
  return exponentialMechanismRho(p.clip, p.expectedBatchSize, p.temperature);
}

/** Validates the parameters, naming the field and the rule. */
export function validateInvisibleInkParams(p: InvisibleInkParams): InvisibleInkParams {
  requirePositive('clip', p.clip);
  requirePositive('expectedBatchSize', p.expectedBatchSize);
  requirePositive('temperature', p.temperature);
  requireInteger('topK', p.topK, 0);
  return p;
}

/**
 * Writes `log softmax(row)` to `out[0 .. vocabSize)`, robust to any input: NaN counts as -Infinity;
 * a row with +Infinity entries puts its mass uniformly on them; an all -Infinity row is uniform.
 */
export function logSoftmaxRow(values: LogitBuffer, offset: number, vocabSize: number, out: Float64Array): void {
  let max = -Infinity;
  let infinite = 0;
  for (let j = 0; j < vocabSize; j++) {
    const x = values[offset + j]!;
    if (x > max) max = x;
    if (x === Infinity) infinite += 1;
  }
  if (max === Infinity) {
    const log = -Math.log(infinite);
    for (let j = 0; j < vocabSize; j++) out[j] = values[offset + j] === Infinity ? log : -Infinity;
    return;
  }
  if (max === -Infinity) {
    out.fill(-Math.log(vocabSize), 0, vocabSize);
    return;
  }
  let total = 0;
  for (let j = 0; j < vocabSize; j++) {
    const x = values[offset + j]!;
    if (x === x) total += Math.exp(x - max); // NaN is skipped (probability 0)
  }
  const logTotal = max + Math.log(total);
  for (let j = 0; j < vocabSize; j++) {
    const x = values[offset + j]!;
    out[j] = x === x ? x - logTotal : -Infinity;
  }
}

/** `clip_C(a - b)`: in [-C, C] for any inputs; NaN (e.g. -Infinity minus -Infinity) counts as 0, no difference. */
export function clippedDifference(a: number, b: number, clip: number): number {
  const d = a - b;
  if (d !== d) return 0;
  return d > clip ? clip : d < -clip ? -clip : d;
}

/**
 * The public top-k+ set: among the allowed tokens (all when `allowed` is null), every token whose
 * public log-probability is at least the k-th largest minus `2C`; this includes the public top-k
 * and every token the private rows could lift above one of them. When the k-th largest is
 * -Infinity, every allowed token. k = 0 or k >= the allowed count: every allowed token. Returns
 * the candidate ids, ascending. O(vocabSize log k).
 */
export function publicTopKPlus(publicLogProbabilities: Float64Array, vocabSize: number, k: number, clip: number, allowed: Uint8Array | null): Int32Array {
  let among: Int32Array | null = null;
  let count = vocabSize;
  if (allowed !== null) {
    among = new Int32Array(vocabSize);
    count = 0;
    for (let j = 0; j < vocabSize; j++) if (allowed[j] !== 0) among[count++] = j;
  }
  if (k === 0 || k >= count) return among === null ? Int32Array.from({ length: vocabSize }, (_, j) => j) : among.slice(0, count);
  const heap = new Int32Array(k);
  selectTopK(publicLogProbabilities, vocabSize, k, heap, among, count);
  const floor = publicLogProbabilities[heap[0]!]! - 2 * clip; // heap[0]: the k-th largest
  const out = new Int32Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const j = among === null ? i : among[i]!;
    if (publicLogProbabilities[j]! >= floor) out[n++] = j;
  }
  return out.slice(0, n);
}

/**
 * One synthetic example's InvisibleInk sampler: every step is private (no drafter), each costs
 * {@link invisibleInkRhoPerToken}. `logits` holds `privateRows * vocabSize` floats, row-major;
 * `publicLogits` holds `vocabSize`. Randomness only from the injected `Rng`.
 */
export class InvisibleInkSampler {
  readonly params: Readonly<InvisibleInkParams>;
  private readonly rowBuffer: Float64Array;
  private readonly publicBuffer: Float64Array;
  private readonly weights: Float64Array;
  private allowed: Uint8Array | null = null;
  private privateStepCount = 0;

  constructor(
    readonly vocabSize: number,
    params: InvisibleInkParams,
    private readonly rng: Rng,
  ) {
    requireInteger('vocabSize', vocabSize, 1);
    this.params = Object.freeze({ ...validateInvisibleInkParams(params) });
    this.rowBuffer = new Float64Array(vocabSize);
    this.publicBuffer = new Float64Array(vocabSize);
    this.weights = new Float64Array(vocabSize);
  }

  /** Private steps taken so far; data-independent here (every step is private), still never released. */
  get privateSteps(): number {
    return this.privateStepCount;
  }

  /** A public restriction of the candidates (computed from public information only), as PrivateTokenSampler.restrictTo. */
  restrictTo(allowed: Uint8Array | null): void {
    if (allowed !== null && allowed.length < this.vocabSize) {
      throw new PrivacyError('INVALID_LOGITS', 'allowed', `must hold vocabSize = ${this.vocabSize} flags, got ${allowed.length}`);
    }
    this.allowed = allowed !== null && allowed.subarray(0, this.vocabSize).some((flag) => flag !== 0) ? allowed : null;
  }

  /** No sparse-vector test runs here: always NaN (the engines' drafter metric reads it). */
  get lastStatistic(): number {
    return Number.NaN;
  }

  /** One private step: the token drawn from `softmax(phi / tau)` over the public top-k+. */
  next(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): { readonly token: number; readonly private: true } {
    this.privateStepCount += 1;
    return { token: this.samplePrivateUncounted(logits, privateRows, publicLogits), private: true };
  }

  /** Every step is private (no drafter); counts it, as PrivateTokenSampler.isPrivateStep does. */
  isPrivateStep(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): true {
    this.scaledAggregate(logits, privateRows, publicLogits); // validates the inputs
    this.privateStepCount += 1;
    return true;
  }

  /** A private token after {@link isPrivateStep} (already counted). */
  samplePrivate(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): number {
    return this.samplePrivateUncounted(logits, privateRows, publicLogits);
  }

  /** A public token: `softmax(l_pub / tau)` over the top-k+ (no private row read; costs nothing). */
  samplePublic(publicLogits: LogitBuffer): number {
    return this.samplePrivateUncounted(new Float32Array(0), 0, publicLogits);
  }

  private samplePrivateUncounted(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): number {
    const candidates = this.scaledAggregate(logits, privateRows, publicLogits);
    let max = -Infinity;
    for (let i = 0; i < candidates.length; i++) max = Math.max(max, this.weights[i]!);
    let total = 0;
    for (let i = 0; i < candidates.length; i++) {
      const w = max === -Infinity ? 1 : Math.exp(this.weights[i]! - max);
      this.weights[i] = w;
      total += w;
    }
    return candidates[sampleFromWeights(this.weights, candidates.length, total, this.rng)]!;
  }

  /**
   * The exact log-probabilities of the step's distribution (-Infinity outside the candidates),
   * written to `out[0 .. vocabSize)`. Uses no randomness; the privacy-loss tests read it.
   */
  privateLogProbabilities(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer, out: Float64Array): void {
    const candidates = this.scaledAggregate(logits, privateRows, publicLogits);
    let max = -Infinity;
    for (let i = 0; i < candidates.length; i++) max = Math.max(max, this.weights[i]!);
    let total = 0;
    for (let i = 0; i < candidates.length; i++) total += max === -Infinity ? 1 : Math.exp(this.weights[i]! - max);
    const logTotal = (max === -Infinity ? 0 : max) + Math.log(total);
    out.fill(-Infinity, 0, this.vocabSize);
    for (let i = 0; i < candidates.length; i++) out[candidates[i]!] = max === -Infinity ? -Math.log(candidates.length) : this.weights[i]! - logTotal;
  }

  /** Fills `weights[0 .. candidates)` with `phi_j / tau` and returns the candidates. */
  private scaledAggregate(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): Int32Array {
    const vocab = this.vocabSize;
    requireInteger('privateRows', privateRows, 0);
    if (logits.length < privateRows * vocab) throw new PrivacyError('INVALID_LOGITS', 'logits', `must hold privateRows * vocabSize = ${privateRows * vocab} values, got ${logits.length}`);
    if (publicLogits.length < vocab) throw new PrivacyError('INVALID_LOGITS', 'publicLogits', `must hold vocabSize = ${vocab} values, got ${publicLogits.length}`);
    const { clip, expectedBatchSize, temperature, topK } = this.params;
    logSoftmaxRow(publicLogits, 0, vocab, this.publicBuffer);
    const candidates = publicTopKPlus(this.publicBuffer, vocab, topK, clip, this.allowed);
    const sums = new Float64Array(candidates.length);
    for (let row = 0; row < privateRows; row++) {
      logSoftmaxRow(logits, row * vocab, vocab, this.rowBuffer);
      for (let i = 0; i < candidates.length; i++) {
        const j = candidates[i]!;
        sums[i] = sums[i]! + clippedDifference(this.rowBuffer[j]!, this.publicBuffer[j]!, clip);
      }
    }
    for (let i = 0; i < candidates.length; i++) {
      // A token the public row gives probability 0 stays at 0 (-Infinity plus a bounded shift).
      this.weights[i] = (this.publicBuffer[candidates[i]!]! + sums[i]! / expectedBatchSize) / temperature;
    }
    return candidates;
  }
}
