import { ReplayIndex } from './replay-index';
import { normalisedWords } from './word-hash';

/** The longest common run of words between two texts, by dynamic programming (the slow way). */
function longestCommonRun(a: readonly string[], b: readonly string[]): number {
  let best = 0;
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      if (a[i - 1] === b[j - 1]) {
        current[j] = previous[j - 1]! + 1;
        if (current[j]! > best) best = current[j]!;
      }
    }
    previous = current;
  }
  return best;
}

/** A tiny deterministic generator for the property test. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('ReplayIndex', () => {
  const sensitive = [
    'The quarterly invoice for account 4471 was paid late by the customer in March',
    'Who was the first president of the United States ?',
    'What is an atom ?',
  ];

  function check(synthetic: string[]) {
    const index = new ReplayIndex(synthetic);
    for (const text of sensitive) index.addSensitive(text);
    expect(index.sensitiveRecordsCompared).toBe(sensitive.length);
    return index.results();
  }

  it('finds the longest shared run of words, and flags runs of eight or more', () => {
    const [tenWords, sevenWords, nothing] = check([
      // "the quarterly invoice for account 4471 was paid late by" = 10 shared words
      'Yesterday the QUARTERLY invoice, for account 4471 was paid late by a bank',
      // "who was the first president of the" = 7 shared words, then "French"
      'who was the first president of the French republic',
      'zebras quietly graze',
    ]);
    expect(tenWords).toEqual({ longestSharedNgram: 10, sharesNgram: true, exactMatch: false });
    expect(sevenWords).toEqual({ longestSharedNgram: 7, sharesNgram: false, exactMatch: false });
    expect(nothing).toEqual({ longestSharedNgram: 0, sharesNgram: false, exactMatch: false });
  });

  it('flags exact copies, short ones included, case and punctuation aside', () => {
    const [copy, longCopy, empty] = check(['what is an ATOM', sensitive[1]!, '?!']);
    expect(copy).toEqual({ longestSharedNgram: 4, sharesNgram: false, exactMatch: true });
    expect(longCopy).toEqual({ longestSharedNgram: 9, sharesNgram: true, exactMatch: true });
    expect(empty).toEqual({ longestSharedNgram: 0, sharesNgram: false, exactMatch: false });
  });

  it('agrees with a brute-force longest common run on random texts', () => {
    const random = lcg(42);
    // A small vocabulary makes long shared runs likely; planted copies make some of them long.
    const vocabulary = ['a', 'b', 'c', 'd', 'e'];
    const text = (length: number) => Array.from({ length }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(' ');
    const sensitiveTexts = Array.from({ length: 40 }, () => text(5 + Math.floor(random() * 25)));
    const syntheticTexts = Array.from({ length: 30 }, (_, i) => {
      if (i % 5 !== 0) return text(3 + Math.floor(random() * 20));
      const source = normalisedWords(sensitiveTexts[i]!);
      return `${text(2)} ${source.slice(1, 1 + Math.min(source.length - 1, 12)).join(' ')} ${text(2)}`;
    });
    const index = new ReplayIndex(syntheticTexts);
    for (const t of sensitiveTexts) index.addSensitive(t);
    const results = index.results();
    syntheticTexts.forEach((synthetic, i) => {
      const expected = Math.max(...sensitiveTexts.map((t) => longestCommonRun(normalisedWords(synthetic), normalisedWords(t))));
      expect({ i, longest: results[i]!.longestSharedNgram }).toEqual({ i, longest: expected });
      expect(results[i]!.sharesNgram).toBe(expected >= 8);
      expect(results[i]!.exactMatch).toBe(sensitiveTexts.some((t) => normalisedWords(t).join(' ') === normalisedWords(synthetic).join(' ')));
    });
    expect(results.some((r) => r.sharesNgram)).toBe(true);
  });

  // Linear in the sensitive words, not in pairs: about a quarter of a second alone on one core; the bound
  // leaves room for a loaded machine (pairwise comparison would take minutes).
  it('streams 10,000 sensitive records against 500 synthetic ones in seconds', () => {
    const random = lcg(7);
    const vocabulary = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const text = (length: number) => Array.from({ length }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(' ');
    const synthetic = Array.from({ length: 500 }, () => text(40));
    const sensitiveTexts = Array.from({ length: 10_000 }, () => text(30));
    const started = Date.now();
    const index = new ReplayIndex(synthetic);
    for (const t of sensitiveTexts) index.addSensitive(t);
    index.results();
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
