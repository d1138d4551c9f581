import { type Rng } from '../../rng';
import { checkPublicInput, checkStepInputs, TokenCandidates } from '../../token-candidates';
import { type LogitBuffer, argmaxIndex, sampleFromWeights, softmaxWeights } from '../../token-mechanism';
import { type TokenDecision, type TokenSampler } from '../../token-sampler';

/**
 * Public-only decoding: every token is drawn from the public row alone, `softmax(z_pub / tau_pub)`
 * (greedy at tau_pub 0, ties to the smaller id), so no step reads a private row and nothing is
 * charged. Private rows, if any are passed, are never read.
 */
export class PublicOnlySampler implements TokenSampler {
  private readonly candidates: TokenCandidates;
  private readonly weights: Float64Array;

  constructor(
    readonly vocabSize: number,
    private readonly publicTemperature: number,
    private readonly rng: Rng,
  ) {
    this.candidates = new TokenCandidates(vocabSize, 0);
    this.weights = new Float64Array(vocabSize);
  }

  get lastStatistic(): number {
    return Number.NaN;
  }

  /** Always 0: no step is private. */
  get privateSteps(): number {
    return 0;
  }

  next(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): TokenDecision {
    checkStepInputs(this.vocabSize, logits, privateRows, publicLogits);
    return { token: this.samplePublic(publicLogits), private: false };
  }

  isPrivateStep(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): boolean {
    checkStepInputs(this.vocabSize, logits, privateRows, publicLogits);
    return false;
  }

  /** There is no private step: draws a public token. */
  samplePrivate(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): number {
    checkStepInputs(this.vocabSize, logits, privateRows, publicLogits);
    return this.samplePublic(publicLogits);
  }

  samplePublic(publicLogits: LogitBuffer): number {
    checkPublicInput(this.vocabSize, publicLogits);
    this.candidates.prepare(publicLogits);
    const { list, count: n } = this.candidates;
    if (this.publicTemperature === 0) return this.candidates.tokenAt(argmaxIndex(publicLogits, 0, list, n));
    const total = softmaxWeights(this.weights, publicLogits, 0, this.vocabSize, 1 / this.publicTemperature, list, n);
    return this.candidates.tokenAt(sampleFromWeights(this.weights, n, total, this.rng));
  }

  restrictTo(allowed: Uint8Array | null): void {
    this.candidates.restrictTo(allowed);
  }
}
