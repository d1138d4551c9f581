import { recordFeatureVector } from './record-features';

function dot(a: Float64Array, b: Float64Array): number {
  return a.reduce((sum, x, i) => sum + x * b[i]!, 0);
}

describe('recordFeatureVector (the public feature map for private clustering)', () => {
  it('is a fixed-length unit vector, a function of the text alone', () => {
    const v = recordFeatureVector('How far is it from Denver to Aspen ?', 32);
    expect(v).toHaveLength(32);
    expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 12);
    expect([...recordFeatureVector('How far is it from Denver to Aspen ?', 32)]).toEqual([...v]);
    // Case and punctuation do not matter (the words do).
    expect([...recordFeatureVector('how FAR is it from denver to aspen', 32)]).toEqual([...v]);
  });

  it('maps a text with no word to the zero vector, and refuses a bad dimension', () => {
    expect([...recordFeatureVector(' ?! ', 8)]).toEqual(new Array(8).fill(0));
    expect(() => recordFeatureVector('a', 0)).toThrow(/^dimension must be an integer/);
    expect(() => recordFeatureVector('a', 2.5)).toThrow(/^dimension /);
  });

  it('puts texts that share words closer than texts that do not', () => {
    const a = recordFeatureVector('What is the population of the city of Boston ?', 256);
    const b = recordFeatureVector('What is the population of the city of Chicago ?', 256);
    const c = recordFeatureVector('Who invented the telephone ?', 256);
    expect(dot(a, b)).toBeGreaterThan(0.6);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c) + 0.4);
  });
});
