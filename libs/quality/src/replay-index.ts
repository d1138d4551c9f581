import { extendHigh, extendLow, hashWords, keyOf, NGRAM_START_HIGH, NGRAM_START_LOW, normalisedWords, type WordHashes } from './word-hash';

/** The n-gram length whose sharing counts as replay (DESIGN.md: a verbatim run of eight words). */
export const REPLAY_NGRAM = 8;

/** What one synthetic record shares with the sensitive records. */
export interface ReplayResult {
  /** The longest run of words it shares with any one sensitive record (0 when no word is shared). */
  readonly longestSharedNgram: number;
  /** Whether it shares a run of {@link REPLAY_NGRAM} words with some sensitive record. */
  readonly sharesNgram: boolean;
  /** Whether its words are exactly those of some sensitive record (case and punctuation aside). */
  readonly exactMatch: boolean;
}

/**
 * Finds what a release's synthetic records replay from the sensitive records without comparing
 * every pair. The synthetic side is small (one record per batch) and is indexed once:
 * - the keys of all its n-grams shorter than {@link REPLAY_NGRAM} words;
 * - its 8-grams, each with the records and positions holding it;
 * - its normalised texts, for exact copies.
 * Sensitive records then stream through {@link addSensitive} (memory does not grow with them): at
 * each word position the n-gram is extended while its key is a synthetic n-gram (every prefix of a
 * shared n-gram is shared, so the first miss ends the run), shared short keys are remembered, and
 * an 8-gram hit is confirmed and extended word by word against each synthetic record holding it.
 * Cost: O(sensitive words x average run length), and O(synthetic words x 8) memory.
 */
export class ReplayIndex {
  private readonly words: string[][];
  private readonly shortKeys = new Set<number>();
  private readonly sharedShortKeys = new Set<number>();
  /** 8-gram key -> [record, position, record, position, ...]. */
  private readonly anchors = new Map<number, number[]>();
  private readonly exactTexts = new Map<string, number[]>();
  private readonly longestReplay: Int32Array;
  private readonly exact: Uint8Array;
  private compared = 0;

  constructor(syntheticTexts: readonly string[]) {
    this.words = syntheticTexts.map(normalisedWords);
    this.longestReplay = new Int32Array(this.words.length);
    this.exact = new Uint8Array(this.words.length);
    this.words.forEach((words, record) => {
      if (words.length === 0) return;
      const joined = words.join(' ');
      this.exactTexts.set(joined, [...(this.exactTexts.get(joined) ?? []), record]);
      const hashes = hashWords(words);
      for (let start = 0; start < words.length; start++) {
        let high = NGRAM_START_HIGH;
        let low = NGRAM_START_LOW;
        for (let n = 1; n <= REPLAY_NGRAM && start + n <= words.length; n++) {
          high = extendHigh(high, hashes.high[start + n - 1]!);
          low = extendLow(low, hashes.low[start + n - 1]!);
          const key = keyOf(high, low);
          if (n < REPLAY_NGRAM) {
            this.shortKeys.add(key);
          } else {
            const list = this.anchors.get(key);
            if (list) list.push(record, start);
            else this.anchors.set(key, [record, start]);
          }
        }
      }
    });
  }

  /** Sensitive records compared so far. */
  get sensitiveRecordsCompared(): number {
    return this.compared;
  }

  addSensitive(text: string): void {
    this.compared += 1;
    const words = normalisedWords(text);
    if (words.length === 0) return;
    const exact = this.exactTexts.get(words.join(' '));
    if (exact) for (const record of exact) this.exact[record] = 1;
    const hashes = hashWords(words);
    for (let start = 0; start < words.length; start++) this.scanFrom(words, hashes, start);
  }

  private scanFrom(words: readonly string[], hashes: WordHashes, start: number): void {
    let high = NGRAM_START_HIGH;
    let low = NGRAM_START_LOW;
    for (let n = 1; n < REPLAY_NGRAM; n++) {
      if (start + n > words.length) return;
      high = extendHigh(high, hashes.high[start + n - 1]!);
      low = extendLow(low, hashes.low[start + n - 1]!);
      const key = keyOf(high, low);
      if (!this.shortKeys.has(key)) return;
      this.sharedShortKeys.add(key);
    }
    // Every 7-word prefix matched some synthetic 7-gram: try the 8-gram.
    if (start + REPLAY_NGRAM > words.length) return;
    const last = start + REPLAY_NGRAM - 1;
    const anchors = this.anchors.get(keyOf(extendHigh(high, hashes.high[last]!), extendLow(low, hashes.low[last]!)));
    if (!anchors) return;
    for (let a = 0; a < anchors.length; a += 2) {
      const record = anchors[a]!;
      const position = anchors[a + 1]!;
      const synthetic = this.words[record]!;
      let length = 0;
      while (position + length < synthetic.length && start + length < words.length && synthetic[position + length] === words[start + length]) length++;
      // Fewer than eight equal words: the keys collided; nothing is shared here.
      if (length >= REPLAY_NGRAM && length > this.longestReplay[record]!) this.longestReplay[record] = length;
    }
  }

  /** One result per synthetic record, in the order given. */
  results(): ReplayResult[] {
    return this.words.map((words, record) => {
      let longest = this.longestReplay[record]!;
      if (longest < REPLAY_NGRAM && words.length > 0) {
        const hashes = hashWords(words);
        for (let start = 0; start < words.length && longest < REPLAY_NGRAM - 1; start++) {
          let high = NGRAM_START_HIGH;
          let low = NGRAM_START_LOW;
          for (let n = 1; n < REPLAY_NGRAM && start + n <= words.length; n++) {
            high = extendHigh(high, hashes.high[start + n - 1]!);
            low = extendLow(low, hashes.low[start + n - 1]!);
            if (!this.sharedShortKeys.has(keyOf(high, low))) break;
            if (n > longest) longest = n;
          }
        }
      }
      return { longestSharedNgram: longest, sharesNgram: longest >= REPLAY_NGRAM, exactMatch: this.exact[record] === 1 };
    });
  }
}
