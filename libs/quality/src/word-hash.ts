/**
 * Word sequences as numbers: each word gets two independent 32-bit hashes, and an n-gram's key
 * combines them position by position into a 53-bit integer. Keys are extended one word at a time
 * (O(1) per word), so every n-gram starting at a position costs one step more than the previous.
 * Two different n-grams share a key with probability about 2^-53 per pair; matches found through
 * keys are confirmed word by word where the answer depends on them (8-gram replays, exact copies).
 */
import { combineHash, fmix32, hashRange, words } from '@synthgate/text-classifier';

/** Lower-cased words: maximal runs of Unicode letters, marks and digits (inner apostrophes kept). */
export const normalisedWords: (text: string) => string[] = words;

function fnv1a(text: string, seed: number): number {
  return hashRange(text, 0, text.length, seed);
}

const SEED_HIGH = 0x9e3779b1;
const SEED_LOW = 0x85ebca77;

/** The two hashes of each word. */
export interface WordHashes {
  readonly high: Uint32Array;
  readonly low: Uint32Array;
}

export function hashWords(words: readonly string[]): WordHashes {
  const high = new Uint32Array(words.length);
  const low = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    high[i] = fnv1a(words[i]!, SEED_HIGH);
    low[i] = fnv1a(words[i]!, SEED_LOW);
  }
  return { high, low };
}

/**
 * A running n-gram hash is a pair (high, low): start from {@link NGRAM_START_HIGH} and
 * {@link NGRAM_START_LOW}, and extend each half with the next word's hash of that half.
 * Two numbers rather than an object, so the hot loops allocate nothing.
 */
export const NGRAM_START_HIGH = 0x2545f491;
export const NGRAM_START_LOW = 0x4f6cdd1d;

export const extendHigh: (hash: number, wordHash: number) => number = combineHash;

export function extendLow(hash: number, wordHash: number): number {
  return fmix32((hash ^ (wordHash + 0x7f4a7c15 + (hash << 6) + (hash >>> 2))) >>> 0);
}

/** The n-gram's key: 32 bits of one hash and 21 of the other, a safe integer. */
export function keyOf(high: number, low: number): number {
  return high * 0x200000 + (low >>> 11);
}
