import { type FeatureOptions } from './features';
import { LogisticRegression, type LogisticRegressionOptions } from './logistic-regression';
import { rocAuc } from './metrics';
import { SeededRandom } from './random';
import { TfidfVectorizer } from './tfidf';

export interface TextClassifierOptions {
  readonly features?: FeatureOptions;
  readonly model?: LogisticRegressionOptions;
}

/** TF-IDF over hashed word and character n-grams, then multinomial logistic regression. */
export class TextClassifier {
  private constructor(
    /** The labels, sorted; the model's class k is `labels[k]`. */
    readonly labels: readonly string[],
    private readonly vectorizer: TfidfVectorizer,
    private readonly model: LogisticRegression | null,
  ) {}

  /**
   * Trains on `texts` with their `labels`. With a single distinct label the classifier predicts
   * it for everything (a model needs two classes). Throws on no examples.
   */
  static train(texts: readonly string[], labels: readonly string[], options: TextClassifierOptions = {}): TextClassifier {
    if (texts.length !== labels.length) throw new RangeError(`${texts.length} texts but ${labels.length} labels`);
    if (texts.length === 0) throw new RangeError('cannot train on no examples');
    const classes = [...new Set(labels)].sort();
    const vectorizer = new TfidfVectorizer(options.features);
    const vectors = vectorizer.fitTransform(texts);
    if (classes.length === 1) return new TextClassifier(classes, vectorizer, null);
    const index = new Map(classes.map((label, k) => [label, k]));
    const model = LogisticRegression.fit(vectors, labels.map((label) => index.get(label)!), classes.length, vectorizer.options.dimension, options.model);
    return new TextClassifier(classes, vectorizer, model);
  }

  predict(texts: readonly string[]): string[] {
    const model = this.model;
    if (!model) return texts.map(() => this.labels[0]!);
    return this.vectorizer.transform(texts).map((vector) => this.labels[model.predict(vector)]!);
  }

  /** Probability of `label` for each text (0 for a label never seen in training). */
  probabilityOf(label: string, texts: readonly string[]): number[] {
    const k = this.labels.indexOf(label);
    if (k < 0) return texts.map(() => 0);
    const model = this.model;
    if (!model) return texts.map(() => 1);
    return this.vectorizer.transform(texts).map((vector) => model.probabilities(vector)[k]!);
  }
}

/**
 * Splits item indices into `folds` folds, stratified: each class's items are shuffled (seeded) and
 * dealt round-robin, so every fold holds about the same share of every class.
 */
export function stratifiedFolds(labels: readonly string[], folds: number, seed: number): number[][] {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer >= 2, got ${folds}`);
  const random = new SeededRandom(seed);
  const byLabel = new Map<string, number[]>();
  labels.forEach((label, i) => byLabel.set(label, [...(byLabel.get(label) ?? []), i]));
  const result: number[][] = Array.from({ length: folds }, () => []);
  let next = 0;
  for (const label of [...byLabel.keys()].sort()) {
    for (const i of random.shuffle(byLabel.get(label)!)) {
      result[next % folds]!.push(i);
      next++;
    }
  }
  return result.map((fold) => fold.sort((a, b) => a - b));
}

export interface DistinguishingOptions extends TextClassifierOptions {
  /** Cross-validation folds (default 5; fewer when a side has fewer texts). */
  readonly folds?: number;
  /** Seeds the balancing subsample and the folds (default 1). */
  readonly seed?: number;
}

export interface DistinguishingResult {
  /** ROC AUC of the out-of-fold scores: 0.5 means the classifier cannot tell the two sets apart. */
  readonly auc: number;
  /** Texts used from each side (the larger side is subsampled to the smaller's size). */
  readonly perSide: number;
  readonly folds: number;
}

/**
 * How well a classifier separates `synthetic` from `real` texts: both sides are balanced by a
 * seeded subsample of the larger, split into stratified folds, and each fold is scored by a
 * classifier trained on the others; the AUC is over all out-of-fold scores. Null when a side has
 * fewer than two texts.
 */
export function distinguishingAuc(real: readonly string[], synthetic: readonly string[], options: DistinguishingOptions = {}): DistinguishingResult | null {
  const perSide = Math.min(real.length, synthetic.length);
  if (perSide < 2) return null;
  const seed = options.seed ?? 1;
  const random = new SeededRandom(seed);
  const pick = (texts: readonly string[]) => random.shuffle(texts.map((_, i) => i)).slice(0, perSide).sort((a, b) => a - b).map((i) => texts[i]!);
  const texts = [...pick(real), ...pick(synthetic)];
  const labels = texts.map((_, i) => (i < perSide ? 'real' : 'synthetic'));
  const folds = Math.min(options.folds ?? 5, perSide);
  const scores = new Array<number>(texts.length);
  for (const test of stratifiedFolds(labels, folds, seed)) {
    const held = new Set(test);
    const train = texts.map((_, i) => i).filter((i) => !held.has(i));
    const classifier = TextClassifier.train(train.map((i) => texts[i]!), train.map((i) => labels[i]!), options);
    const probabilities = classifier.probabilityOf('synthetic', test.map((i) => texts[i]!));
    test.forEach((i, j) => (scores[i] = probabilities[j]!));
  }
  return { auc: rocAuc(scores, labels.map((label) => label === 'synthetic')), perSide, folds };
}
