import { type Rng } from '../../rng';
import { checkPublicInput, checkStepInputs, TokenCandidates } from '../../token-candidates';
import { type LogitBuffer, argmaxIndex, sampleFromWeights, softmaxWeights } from '../../token-mechanism';
import { type TokenDecision, type TokenSampler } from '../../token-sampler';

/** Parameters of the non-private reference sampler. */
export interface NonPrivateReferenceSamplerParams {
  /** Temperature of the raw mean, > 0. */
  readonly temperature: number;
  /** Temperature of public steps (a batch with no row), >= 0; 0 is greedy. */
  readonly publicTemperature: number;
  /** Public top-k; 0 or absent: off. */
  readonly topK?: number;
}

/**
 * The non-private reference (epsilon = infinity): each step samples `softmax(mean of raw logits / tau)`
 * over the actual rows, no clipping, no noise, no drafter; a batch with no row samples the public row.
 * Only for benchmarks' "inf" setting on benchmark datasets; never charged.
 */
export class NonPrivateReferenceSampler implements TokenSampler {
  private readonly candidates: TokenCandidates;
  private readonly mean: Float64Array;
  private readonly weights: Float64Array;
  private privateStepCount = 0;

  constructor(
    readonly vocabSize: number,
    private readonly params: NonPrivateReferenceSamplerParams,
    private readonly rng: Rng,
  ) {
    this.candidates = new TokenCandidates(vocabSize, params.topK ?? 0);
    this.mean = new Float64Array(vocabSize);
    this.weights = new Float64Array(vocabSize);
  }

  /** No test runs: always NaN. */
  get lastStatistic(): number {
    return Number.NaN;
  }

  get privateSteps(): number {
    return this.privateStepCount;
  }

  next(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): TokenDecision {
    checkStepInputs(this.vocabSize, logits, privateRows, publicLogits);
    this.candidates.prepare(publicLogits);
    if (privateRows === 0) return { token: this.drawPublic(publicLogits), private: false };
    this.privateStepCount += 1;
    return { token: this.drawMean(logits, privateRows), private: true };
  }

  isPrivateStep(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): boolean {
    checkStepInputs(this.vocabSize, logits, privateRows, publicLogits);
    if (privateRows === 0) return false;
    this.privateStepCount += 1;
    return true;
  }

  samplePrivate(logits: LogitBuffer, privateRows: number, publicLogits: LogitBuffer): number {
    checkStepInputs(this.vocabSize, logits, privateRows, publicLogits);
    this.candidates.prepare(publicLogits);
    return privateRows === 0 ? this.drawPublic(publicLogits) : this.drawMean(logits, privateRows);
  }

  samplePublic(publicLogits: LogitBuffer): number {
    checkPublicInput(this.vocabSize, publicLogits);
    this.candidates.prepare(publicLogits);
    return this.drawPublic(publicLogits);
  }

  restrictTo(allowed: Uint8Array | null): void {
    this.candidates.restrictTo(allowed);
  }

  private drawMean(logits: LogitBuffer, rows: number): number {
    const { list, count: n } = this.candidates;
    const mean = this.mean;
    mean.fill(0, 0, n);
    for (let i = 0; i < rows; i++) {
      const offset = i * this.vocabSize;
      for (let j = 0; j < n; j++) {
        const x = logits[offset + (list === null ? j : list[j]!)]!;
        mean[j] += x === x ? x : -Infinity;
      }
    }
    const total = softmaxWeights(this.weights, mean, 0, n, 1 / (rows * this.params.temperature), null, n);
    return this.candidates.tokenAt(sampleFromWeights(this.weights, n, total, this.rng));
  }

  private drawPublic(publicLogits: LogitBuffer): number {
    const { list, count: n } = this.candidates;
    if (this.params.publicTemperature === 0) return this.candidates.tokenAt(argmaxIndex(publicLogits, 0, list, n));
    const total = softmaxWeights(this.weights, publicLogits, 0, this.vocabSize, 1 / this.params.publicTemperature, list, n);
    return this.candidates.tokenAt(sampleFromWeights(this.weights, n, total, this.rng));
  }
}
