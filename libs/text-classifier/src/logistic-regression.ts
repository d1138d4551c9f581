import { type SparseVector } from './features';
import { SeededRandom } from './random';

export interface LogisticRegressionOptions {
  /** Passes over the training set (default 15). */
  readonly epochs?: number;
  /** AdaGrad's base step size (default 0.5). */
  readonly learningRate?: number;
  /** L2 penalty per example on the weights (not the biases), applied to the features an example touches (default 1e-5). */
  readonly l2?: number;
  /** Seeds the order of examples in each epoch (default 1). */
  readonly seed?: number;
}

export type ResolvedLogisticRegressionOptions = Required<LogisticRegressionOptions>;

export const DEFAULT_LOGISTIC_REGRESSION_OPTIONS: ResolvedLogisticRegressionOptions = { epochs: 15, learningRate: 0.5, l2: 1e-5, seed: 1 };

const ADAGRAD_EPSILON = 1e-8;

/**
 * Multinomial logistic regression (softmax over classes) on sparse features, trained by
 * stochastic gradient descent with AdaGrad step sizes, one example at a time in an order shuffled
 * by a seeded generator: the same data, options and seed give bit-identical weights.
 * Weights are stored feature-major (`weights[feature * classes + k]`) so an example touches
 * contiguous memory.
 */
export class LogisticRegression {
  private constructor(
    readonly classCount: number,
    readonly dimension: number,
    private readonly weights: Float64Array,
    private readonly bias: Float64Array,
  ) {}

  /**
   * Fits the model to `vectors` with class indices `targets` (0 .. classCount-1), minimising the
   * mean cross-entropy plus the L2 penalty.
   */
  static fit(vectors: readonly SparseVector[], targets: readonly number[], classCount: number, dimension: number, options: LogisticRegressionOptions = {}): LogisticRegression {
    if (vectors.length !== targets.length) throw new RangeError(`${vectors.length} vectors but ${targets.length} targets`);
    if (!Number.isInteger(classCount) || classCount < 2) throw new RangeError(`classCount must be an integer >= 2, got ${classCount}`);
    const { epochs, learningRate, l2, seed } = { ...DEFAULT_LOGISTIC_REGRESSION_OPTIONS, ...options };
    if (!Number.isInteger(epochs) || epochs < 0) throw new RangeError(`epochs must be a whole number, got ${epochs}`);
    if (!(learningRate > 0)) throw new RangeError(`learningRate must be > 0, got ${learningRate}`);
    if (!(l2 >= 0)) throw new RangeError(`l2 must be >= 0, got ${l2}`);
    for (const target of targets) {
      if (!Number.isInteger(target) || target < 0 || target >= classCount) throw new RangeError(`target ${target} is not a class index below ${classCount}`);
    }
    const K = classCount;
    const weights = new Float64Array(dimension * K);
    const squares = new Float64Array(dimension * K);
    const bias = new Float64Array(K);
    const biasSquares = new Float64Array(K);
    const model = new LogisticRegression(K, dimension, weights, bias);
    const probabilities = new Float64Array(K);
    const order = Array.from({ length: vectors.length }, (_, i) => i);
    const random = new SeededRandom(seed);
    for (let epoch = 0; epoch < epochs; epoch++) {
      random.shuffle(order);
      for (const example of order) {
        const vector = vectors[example]!;
        model.probabilitiesInto(vector, probabilities);
        const target = targets[example]!;
        for (let k = 0; k < K; k++) {
          const gradient = probabilities[k]! - (k === target ? 1 : 0);
          biasSquares[k]! += gradient * gradient;
          bias[k]! -= (learningRate * gradient) / (Math.sqrt(biasSquares[k]!) + ADAGRAD_EPSILON);
        }
        const { indices, values } = vector;
        for (let i = 0; i < indices.length; i++) {
          const base = indices[i]! * K;
          const x = values[i]!;
          for (let k = 0; k < K; k++) {
            const w = base + k;
            const gradient = (probabilities[k]! - (k === target ? 1 : 0)) * x + l2 * weights[w]!;
            squares[w]! += gradient * gradient;
            weights[w]! -= (learningRate * gradient) / (Math.sqrt(squares[w]!) + ADAGRAD_EPSILON);
          }
        }
      }
    }
    return model;
  }

  /** Class probabilities of one vector, written to `out` (length classCount). */
  probabilitiesInto(vector: SparseVector, out: Float64Array): Float64Array {
    const K = this.classCount;
    for (let k = 0; k < K; k++) out[k] = this.bias[k]!;
    const { indices, values } = vector;
    for (let i = 0; i < indices.length; i++) {
      const base = indices[i]! * K;
      const x = values[i]!;
      for (let k = 0; k < K; k++) out[k]! += this.weights[base + k]! * x;
    }
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (out[k]! > max) max = out[k]!;
    let total = 0;
    for (let k = 0; k < K; k++) {
      out[k] = Math.exp(out[k]! - max);
      total += out[k]!;
    }
    for (let k = 0; k < K; k++) out[k]! /= total;
    return out;
  }

  probabilities(vector: SparseVector): Float64Array {
    return this.probabilitiesInto(vector, new Float64Array(this.classCount));
  }

  /** The most probable class index (ties to the smaller index). */
  predict(vector: SparseVector): number {
    const probabilities = this.probabilities(vector);
    let best = 0;
    for (let k = 1; k < probabilities.length; k++) if (probabilities[k]! > probabilities[best]!) best = k;
    return best;
  }
}
