/**
 * Keeps generated text valid UTF-8 (no U+FFFD in what is exported or displayed).
 *
 * Byte-level tokenizers (GPT-2 style BPE, SentencePiece byte fallback) have tokens that are a
 * fragment of a character: one or two bytes of a three-byte character, or a lone continuation
 * byte. Sampled freely, they produce byte strings no decoder can read, shown as U+FFFD. This module
 * precomputes, once per tokenizer, what each token does to a UTF-8 decoder in each of its states,
 * and gives each decoding step the set of tokens that can continue a valid sequence.
 *
 * Why it costs no privacy: the set depends only on the public tokenizer and on the bytes generated
 * so far, and those tokens are already the mechanism's public output. Applying it is
 * post-processing of public information, like the public top-k (DESIGN.md section 5.8): the same
 * restriction applies to every row (private and public) through libs/privacy's
 * `PrivateTokenSampler.restrictTo`, which narrows the output range of the exponential mechanism by a
 * record-independent set. The per-token bound and the sparse-vector statistic are unchanged.
 *
 * States of the decoder: 0 = between characters; otherwise the number of continuation bytes still
 * owed and the range the next one must fall in (RFC 3629 table: E0 needs A0..BF next, ED 80..9F,
 * F0 90..BF, F4 80..8F, so overlong forms and surrogates are refused too).
 */
import { ConstraintGuard, type TokenConstraint } from './token-constraint';

/** Decoder states: [continuation bytes owed, lowest, highest allowed next byte]. State 0 owes nothing. */
const STATES: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [1, 0x80, 0xbf],
  [2, 0x80, 0xbf],
  [3, 0x80, 0xbf],
  [2, 0xa0, 0xbf], // after E0
  [2, 0x80, 0x9f], // after ED
  [3, 0x90, 0xbf], // after F0
  [3, 0x80, 0x8f], // after F4
];
export const UTF8_STATE_COUNT = STATES.length;
const INVALID = -1;

/** The state after `byte` in `state`, or INVALID. */
export function utf8Step(state: number, byte: number): number {
  const [owed, low, high] = STATES[state]!;
  if (owed > 0) {
    if (byte < low || byte > high) return INVALID;
    return owed === 1 ? 0 : owed - 1; // states 1..3 are "owed n, any continuation"
  }
  if (byte < 0x80) return 0;
  if (byte >= 0xc2 && byte <= 0xdf) return 1;
  if (byte === 0xe0) return 4;
  if (byte === 0xed) return 5;
  if (byte >= 0xe1 && byte <= 0xef) return 2;
  if (byte === 0xf0) return 6;
  if (byte === 0xf4) return 7;
  if (byte >= 0xf1 && byte <= 0xf3) return 3;
  return INVALID; // 80..C1 (stray continuation, overlong lead) and F5..FF never start a character
}

/**
 * What each token of one tokenizer does to the UTF-8 decoder, computed once per model. A token
 * without bytes (special tokens such as end-of-sequence, ids the tokenizer does not know) leaves the
 * text as it is, so it is allowed only between characters: an example never ends, and no special
 * token splits, a character.
 */
export class Utf8TokenTable implements TokenConstraint<number> {
  readonly initial = 0;
  /** `next[token * UTF8_STATE_COUNT + state]`: the state after the token, or -1 when it cannot follow. */
  private readonly next: Int8Array;
  /** `allowed[state]`: 1 for each token that can follow in that state. */
  private readonly allowedByState: Uint8Array[];

  constructor(tokenBytes: readonly (Uint8Array | null)[], readonly vocabSize: number) {
    this.next = new Int8Array(vocabSize * UTF8_STATE_COUNT).fill(INVALID);
    this.allowedByState = Array.from({ length: UTF8_STATE_COUNT }, () => new Uint8Array(vocabSize));
    for (let token = 0; token < vocabSize; token += 1) {
      const bytes = tokenBytes[token] ?? null;
      for (let start = 0; start < UTF8_STATE_COUNT; start += 1) {
        let state = start;
        if (bytes === null || bytes.length === 0) {
          state = start === 0 ? 0 : INVALID;
        } else {
          for (let i = 0; i < bytes.length && state !== INVALID; i += 1) state = utf8Step(state, bytes[i]!);
        }
        this.next[token * UTF8_STATE_COUNT + start] = state;
        if (state !== INVALID) this.allowedByState[start]![token] = 1;
      }
    }
  }

  /** Flags (1 = may follow) of the tokens that keep the text decodable from `state`; shared, read-only. */
  allowedIn(state: number): Uint8Array {
    return this.allowedByState[state]!;
  }

  /** UTF-8 text may stop anywhere (an incomplete last character is dropped). */
  isFinished(): boolean {
    return false;
  }

  mustFinish(): boolean {
    return false;
  }

  endsInsideCharacter(state: number): boolean {
    return state !== 0;
  }

  /** Free text: no token is ever forced. */
  forcedTokens(): readonly number[] {
    return [];
  }

  /**
   * The state after `token`. A token that cannot follow (possible only when a state allows no token
   * at all, which no byte-level vocabulary has) restarts the decoder as if between characters.
   */
  after(state: number, token: number): number {
    if (token < 0 || token >= this.vocabSize) return 0;
    const next = this.next[token * UTF8_STATE_COUNT + state]!;
    if (next !== INVALID) return next;
    return Math.max(0, this.next[token * UTF8_STATE_COUNT]!);
  }
}

/**
 * One example's UTF-8 state: `allowed()` for the next step, `accept(token)` after it. `state` can be
 * read and restored (speculative decoding rewinds to a draft position).
 */
export class Utf8Guard extends ConstraintGuard<number> {
  constructor(readonly table: Utf8TokenTable) {
    super(table);
  }

  /** True while the last character is not complete (the example stopped inside it). */
  get incomplete(): boolean {
    return this.state !== 0;
  }
}

/**
 * The text of an example that stopped inside a character (at the token cap or the length limit):
 * the incomplete tail bytes decode to trailing U+FFFD, which is dropped. Every earlier byte was
 * checked by the mask, so the tail is the only place a replacement character can come from.
 */
export function dropIncompleteTail(text: string, endsInsideCharacter: boolean): string {
  return endsInsideCharacter ? text.replace(/\uFFFD+$/u, '') : text;
}
