import { LogisticRegression } from './logistic-regression';
import { SeededRandom } from './random';
import { distinguishingAuc, stratifiedFolds, TextClassifier } from './text-classifier';

const animals = ['the cat sat on the mat', 'a dog barked at the cat', 'my cat sleeps all day', 'the dog fetched a stick', 'cats and dogs play'];
const finance = ['the bank raised interest rates', 'stocks fell on the market', 'the market rallied on earnings', 'bonds and stocks trade', 'the bank cut its rates'];

describe('LogisticRegression', () => {
  it('separates linearly separable data perfectly', () => {
    // Feature 0 marks class 0, feature 1 class 1, feature 2 class 2; feature 3 is noise in every example.
    const vectors = Array.from({ length: 30 }, (_, i) => ({ indices: Int32Array.of(i % 3, 3), values: Float64Array.of(1, 0.5) }));
    const targets = vectors.map((_, i) => i % 3);
    const model = LogisticRegression.fit(vectors, targets, 3, 4, { epochs: 10, seed: 3 });
    expect(vectors.map((v) => model.predict(v))).toEqual(targets);
    const p = model.probabilities(vectors[0]!);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[0]).toBeGreaterThan(0.9);
  });

  it('is bit-identical for the same seed, and the seed changes the result', () => {
    const vectors = Array.from({ length: 40 }, (_, i) => ({ indices: Int32Array.of(i % 5, 5 + (i % 3)), values: Float64Array.of(1, 1) }));
    const targets = vectors.map((_, i) => (i % 5 < 2 ? 0 : 1));
    const probe = { indices: Int32Array.of(1, 6), values: Float64Array.of(1, 1) };
    const one = LogisticRegression.fit(vectors, targets, 2, 8, { epochs: 3, seed: 11 }).probabilities(probe);
    const two = LogisticRegression.fit(vectors, targets, 2, 8, { epochs: 3, seed: 11 }).probabilities(probe);
    const other = LogisticRegression.fit(vectors, targets, 2, 8, { epochs: 3, seed: 12 }).probabilities(probe);
    expect([...one]).toEqual([...two]);
    expect([...one]).not.toEqual([...other]);
  });

  it('refuses bad targets and options', () => {
    const v = [{ indices: Int32Array.of(0), values: Float64Array.of(1) }];
    expect(() => LogisticRegression.fit(v, [2], 2, 1)).toThrow(/target 2/);
    expect(() => LogisticRegression.fit(v, [0], 1, 1)).toThrow(/classCount/);
    expect(() => LogisticRegression.fit(v, [0], 2, 1, { learningRate: 0 })).toThrow(/learningRate/);
  });
});

describe('TextClassifier', () => {
  it('learns a toy topic task to accuracy 1 on its training data and generalises to new wording', () => {
    const texts = [...animals, ...finance];
    const labels = texts.map((_, i) => (i < animals.length ? 'animals' : 'finance'));
    const classifier = TextClassifier.train(texts, labels, { model: { epochs: 20, seed: 5 } });
    expect(classifier.labels).toEqual(['animals', 'finance']);
    expect(classifier.predict(texts)).toEqual(labels);
    expect(classifier.predict(['the cat and the dog', 'interest rates and stocks'])).toEqual(['animals', 'finance']);
    const [p] = classifier.probabilityOf('finance', ['stocks and bonds']);
    expect(p).toBeGreaterThan(0.5);
    expect(classifier.probabilityOf('sports', ['x'])).toEqual([0]);
  });

  it('with one label predicts it for everything', () => {
    const classifier = TextClassifier.train(['a', 'b'], ['only', 'only']);
    expect(classifier.predict(['c'])).toEqual(['only']);
  });
});

describe('stratifiedFolds', () => {
  it('partitions every index once and spreads each class evenly', () => {
    const labels = [...Array(10).fill('a'), ...Array(5).fill('b')] as string[];
    const folds = stratifiedFolds(labels, 5, 1);
    expect(folds.flat().sort((x, y) => x - y)).toEqual(labels.map((_, i) => i));
    for (const fold of folds) {
      expect(fold.filter((i) => labels[i] === 'a')).toHaveLength(2);
      expect(fold.filter((i) => labels[i] === 'b')).toHaveLength(1);
    }
    expect(stratifiedFolds(labels, 5, 1)).toEqual(folds);
  });
});

describe('distinguishingAuc', () => {
  it('is near 1 for two different topics and near 0.5 for the same distribution', () => {
    const real = Array.from({ length: 40 }, (_, i) => `${animals[i % 5]} number ${i}`);
    const different = Array.from({ length: 40 }, (_, i) => `${finance[i % 5]} number ${i}`);
    // Two independent samples of one distribution: six words drawn from a 30-word vocabulary.
    const vocabulary = Array.from({ length: 30 }, (_, i) => `w${i}`);
    const sample = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 60 }, () => Array.from({ length: 6 }, () => vocabulary[random.nextInt(30)]).join(' '));
    };
    const separated = distinguishingAuc(real, different, { seed: 2 })!;
    expect(separated.auc).toBeGreaterThan(0.95);
    expect(separated).toMatchObject({ perSide: 40, folds: 5 });
    const mixed = distinguishingAuc(sample(1), sample(2), { seed: 2 })!;
    expect(mixed.auc).toBeGreaterThan(0.25);
    expect(mixed.auc).toBeLessThan(0.75);
  });

  it('balances the sides, and is null when a side has fewer than two texts', () => {
    expect(distinguishingAuc(animals, [...finance, ...finance, ...finance])!.perSide).toBe(5);
    expect(distinguishingAuc(animals, ['one'])).toBeNull();
  });
});
