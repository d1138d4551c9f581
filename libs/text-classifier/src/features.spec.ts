import { combineHash, hashedCounts, hashRange, resolveFeatureOptions, words } from './features';
import { SeededRandom } from './random';
import { TfidfVectorizer } from './tfidf';

describe('words', () => {
  it('lower-cases and keeps letters, digits and inner apostrophes', () => {
    expect(words("What's the Capital of Côte d'Ivoire, in 2024?")).toEqual(["what's", 'the', 'capital', 'of', 'côte', "d'ivoire", 'in', '2024']);
    expect(words('  ...  ')).toEqual([]);
  });
});

describe('hashedCounts', () => {
  const options = resolveFeatureOptions({ dimension: 1 << 20, wordNgrams: [1, 2], charNgrams: null });

  it('counts each word n-gram once per occurrence', () => {
    const vector = hashedCounts('a b a b', options);
    // unigrams a (2), b (2); bigrams "a b" (2), "b a" (1): four distinct features, seven in all.
    expect(vector.indices.length).toBe(4);
    expect([...vector.values].sort()).toEqual([1, 2, 2, 2]);
    expect([...vector.indices]).toEqual([...vector.indices].sort((x, y) => x - y));
  });

  it('character n-grams are taken inside padded words', () => {
    const chars = resolveFeatureOptions({ dimension: 1 << 20, wordNgrams: null, charNgrams: [3, 3] });
    // " ab " has two 3-grams: " ab", "ab ".
    expect(hashedCounts('ab', chars).values.reduce((a, b) => a + b, 0)).toBe(2);
    // " abc " has " ab", "abc", "bc "; "abc abc" doubles each.
    expect([...hashedCounts('abc abc', chars).values]).toEqual([2, 2, 2]);
  });

  it('is deterministic and order-sensitive for n-grams', () => {
    expect(hashRange('abc', 0, 3, 1)).toBe(hashRange('xabcx', 1, 4, 1));
    expect(combineHash(combineHash(0, 1), 2)).not.toBe(combineHash(combineHash(0, 2), 1));
    expect(hashedCounts('the cat sat', options)).toEqual(hashedCounts('The  cat, sat!', options));
  });

  it('refuses a dimension that is not a power of two, and no features at all', () => {
    expect(() => resolveFeatureOptions({ dimension: 1000 })).toThrow(/power of two/);
    expect(() => resolveFeatureOptions({ wordNgrams: null, charNgrams: null })).toThrow(/at least one/);
    expect(() => resolveFeatureOptions({ wordNgrams: [2, 1] })).toThrow(/wordNgrams/);
  });
});

describe('TfidfVectorizer', () => {
  it('weighs by sublinear tf and smoothed idf, and normalises to unit length', () => {
    const vectorizer = new TfidfVectorizer({ dimension: 1 << 20, wordNgrams: [1, 1], charNgrams: null });
    const [first, second] = vectorizer.fitTransform(['a a b', 'b']);
    // idf(a) = ln(3/2) + 1, idf(b) = ln(3/3) + 1 = 1; tf(a) = 1 + ln 2, tf(b) = 1.
    const a = (1 + Math.log(2)) * (Math.log(1.5) + 1);
    const norm = Math.hypot(a, 1);
    const sorted = [...first!.values].sort((x, y) => x - y);
    expect(sorted[0]).toBeCloseTo(1 / norm, 14);
    expect(sorted[1]).toBeCloseTo(a / norm, 14);
    expect(Math.hypot(...sorted)).toBeCloseTo(1, 14);
    expect([...second!.values]).toEqual([1]);
    // A word never seen in training gets the largest idf, ln((1 + 2)/(1 + 0)) + 1.
    const [unseen] = vectorizer.transform(['zzz']);
    expect([...unseen!.values]).toEqual([1]);
  });

  it('needs fitting first', () => {
    expect(() => new TfidfVectorizer().transform(['x'])).toThrow(/fitTransform/);
  });
});

describe('SeededRandom', () => {
  it('is reproducible and uniform enough to shuffle', () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    const draws = Array.from({ length: 1000 }, () => a.nextDouble());
    expect(draws).toEqual(Array.from({ length: 1000 }, () => b.nextDouble()));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(draws.reduce((s, x) => s + x, 0) / draws.length).toBeCloseTo(0.5, 1);
    expect(new SeededRandom(8).nextDouble()).not.toBe(new SeededRandom(7).nextDouble());
    expect(new SeededRandom(1).shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
