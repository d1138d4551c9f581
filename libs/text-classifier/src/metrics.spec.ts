import { accuracy, rocAuc } from './metrics';

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one and 0.5 for all ties', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [false, true, false, true])).toBe(0.5);
  });

  it('counts each positive-negative pair once, ties as one half', () => {
    // Pairs (positive score, negative score): (0.4: 0.1 win, 0.4 tie, 0.6 loss), (0.7: win, win, win)
    // = (1 + 0.5 + 0 + 3) / 6 = 0.75.
    expect(rocAuc([0.1, 0.4, 0.6, 0.4, 0.7], [false, false, false, true, true])).toBe(0.75);
    // One positive in the middle of three negatives: beats one of three.
    expect(rocAuc([1, 2, 3, 4], [false, true, false, false])).toBeCloseTo(1 / 3, 15);
  });

  it('does not depend on the order of the examples', () => {
    const scores = [0.3, 0.1, 0.3, 0.9, 0.5, 0.3];
    const labels = [true, false, false, true, false, true];
    const permutation = [5, 2, 0, 4, 1, 3];
    expect(rocAuc(permutation.map((i) => scores[i]!), permutation.map((i) => labels[i]!))).toBe(rocAuc(scores, labels));
    // By hand: positives 0.3, 0.9, 0.3; negatives 0.1, 0.3, 0.5.
    // 0.3: win, tie, loss = 1.5; 0.9: 3; 0.3: 1.5. Total 6 of 9.
    expect(rocAuc(scores, labels)).toBeCloseTo(6 / 9, 15);
  });

  it('refuses a single class, NaN scores and mismatched lengths', () => {
    expect(() => rocAuc([0.1, 0.2], [true, true])).toThrow(/both classes/);
    expect(() => rocAuc([Number.NaN, 0.2], [true, false])).toThrow(/NaN/);
    expect(() => rocAuc([0.1], [true, false])).toThrow(/1 scores but 2 labels/);
  });
});

describe('accuracy', () => {
  it('is the share of matches', () => {
    expect(accuracy(['a', 'b', 'b', 'c'], ['a', 'b', 'c', 'c'])).toBe(0.75);
    expect(() => accuracy([], [])).toThrow(/no examples/);
  });
});
