import { balancedAccuracy, bestConstantAccuracy, blindFidelity, histogramQuantile, labelFidelity, spread, withinSpread } from './metrics';

describe('utility metrics', () => {
  const truth = ['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b', 'c', 'c'];

  it('balanced accuracy is the mean per-label recall; a constant answer scores 1 / labels', () => {
    expect(balancedAccuracy(Array<string>(10).fill('a'), truth)).toBeCloseTo(1 / 3, 12);
    expect(balancedAccuracy(truth, truth)).toBe(1);
    // a: 3/6, b: 1/2, c: 2/2.
    expect(balancedAccuracy(['a', 'a', 'a', 'b', 'b', 'b', 'b', 'a', 'c', 'c'], truth)).toBeCloseTo((0.5 + 0.5 + 1) / 3, 12);
    expect(() => balancedAccuracy(['a'], [])).toThrow(RangeError);
  });

  it('the best constant answer scores the largest label share of the test part', () => {
    expect(bestConstantAccuracy(truth)).toBe(0.6);
    expect(bestConstantAccuracy(['x'])).toBe(1);
  });

  it('label fidelity is the agreement of the real-data classifier with the attached labels', () => {
    expect(labelFidelity(['a', 'b', 'b', 'c'], ['a', 'b', 'c', 'c'])).toBe(0.75);
    expect(labelFidelity([], [])).toBe(0);
  });

  it('blind fidelity is sum over labels of attached share x predicted share', () => {
    // attached: a 1/2, b 1/2; predicted: a 3/4, b 1/4 -> 1/2*3/4 + 1/2*1/4 = 1/2.
    expect(blindFidelity(['a', 'a', 'a', 'b'], ['a', 'a', 'b', 'b'])).toBeCloseTo(0.5, 12);
    // A classifier that always says "a" on texts all attached to "a": fidelity 1, and so is blind.
    expect(blindFidelity(['a', 'a'], ['a', 'a'])).toBe(1);
    // Independent labels and predictions score their expectation on average: a permutation test.
    let state = 7;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const labels = ['a', 'b', 'c'];
    let fidelity = 0;
    let blind = 0;
    for (let t = 0; t < 200; t++) {
      const attached = Array.from({ length: 300 }, () => labels[Math.floor(next() * (next() < 0.5 ? 1 : 3))]!);
      const predicted = Array.from({ length: 300 }, () => labels[Math.floor(next() * (next() < 0.3 ? 2 : 3))]!);
      fidelity += labelFidelity(predicted, attached) / 200;
      blind += blindFidelity(predicted, attached) / 200;
    }
    expect(Math.abs(fidelity - blind)).toBeLessThan(0.01);
  });

  it('summarises runs and tells overlapping ranges apart', () => {
    expect(spread([0.2, 0.4, 0.3])).toEqual({ mean: expect.closeTo(0.3, 12), std: expect.closeTo(0.1, 12), min: 0.2, max: 0.4, runs: 3 });
    expect(spread([0.5]).std).toBe(0);
    expect(withinSpread(spread([0.2, 0.3]), spread([0.25, 0.4]))).toBe(true);
    expect(withinSpread(spread([0.2, 0.3]), spread([0.31, 0.4]))).toBe(false);
    expect(withinSpread(spread([0.2]), spread([0.2]))).toBe(false);
  });

  it('reads quantiles from bucket counts, interpolating inside the bucket', () => {
    const histogram = { bounds: [0.1, 0.2, 0.3], counts: [0, 4, 4, 2] };
    expect(histogramQuantile(histogram, 0.5)).toBeCloseTo(0.225, 12);
    expect(histogramQuantile(histogram, 0.25)).toBeCloseTo(0.1625, 12);
    expect(histogramQuantile(histogram, 0.95)).toBe(0.3);
    expect(histogramQuantile({ bounds: [0.1], counts: [0, 0] }, 0.5)).toBeNull();
  });
});
