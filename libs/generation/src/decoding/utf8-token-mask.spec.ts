import { join } from 'node:path';
import { SeededRng } from '@synthgate/privacy';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { dropIncompleteTail, Utf8Guard, utf8Step, Utf8TokenTable, UTF8_STATE_COUNT } from './utf8-token-mask';

/** The oracle: can these bytes begin a valid UTF-8 text (a complete one, or one cut inside its last character)? */
function isValidPrefix(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

function isCompleteUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Runs the state machine over `bytes`; -1 when invalid. */
function stateAfter(bytes: Uint8Array): number {
  let state = 0;
  for (const byte of bytes) {
    state = utf8Step(state, byte);
    if (state < 0) return -1;
  }
  return state;
}

describe('the UTF-8 state machine', () => {
  it('agrees with a fatal TextDecoder on every one- and two-byte sequence', () => {
    for (let a = 0; a < 256; a += 1) {
      expect([stateAfter(Uint8Array.of(a)) >= 0, stateAfter(Uint8Array.of(a)) === 0]).toEqual([isValidPrefix(Uint8Array.of(a)), isCompleteUtf8(Uint8Array.of(a))]);
      for (let b = 0; b < 256; b += 1) {
        const bytes = Uint8Array.of(a, b);
        const state = stateAfter(bytes);
        if (state >= 0 !== isValidPrefix(bytes) || (state === 0) !== isCompleteUtf8(bytes)) throw new Error(`disagrees on ${a.toString(16)} ${b.toString(16)}`);
      }
    }
  });

  it('agrees with it on random sequences of up to 8 bytes biased towards multi-byte characters', () => {
    const rng = new SeededRng('utf8-random-bytes');
    const interesting = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
    for (let trial = 0; trial < 20000; trial += 1) {
      const length = 1 + Math.floor(rng.nextDouble() * 8);
      const bytes = Uint8Array.from({ length }, () => (rng.nextDouble() < 0.8 ? interesting[Math.floor(rng.nextDouble() * interesting.length)]! : Math.floor(rng.nextDouble() * 256)));
      const state = stateAfter(bytes);
      if (state >= 0 !== isValidPrefix(bytes) || (state === 0) !== isCompleteUtf8(bytes)) throw new Error(`disagrees on ${[...bytes].map((b) => b.toString(16)).join(' ')}`);
    }
  });
});

describe('Utf8TokenTable', () => {
  // Tokens: "a", "é" (C3 A9), C3, A9, E2 82, AC, "b" + E2, EOS (no bytes), 80.
  const tokens = [Uint8Array.of(0x61), Uint8Array.of(0xc3, 0xa9), Uint8Array.of(0xc3), Uint8Array.of(0xa9), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0xac), Uint8Array.of(0x62, 0xe2), null, Uint8Array.of(0x80)];
  const table = new Utf8TokenTable(tokens, tokens.length + 1); // one id beyond the tokenizer: no bytes

  it('allows between characters what starts a character, and end-of-sequence', () => {
    expect([...table.allowedIn(0)]).toEqual([1, 1, 1, 0, 1, 0, 1, 1, 0, 1]);
  });

  it('allows inside a character only its continuation bytes, never end-of-sequence', () => {
    const guard = new Utf8Guard(table);
    guard.accept(2); // C3
    expect(guard.incomplete).toBe(true);
    expect([...guard.allowed()]).toEqual([0, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    guard.accept(3);
    expect(guard.incomplete).toBe(false);
    guard.accept(6); // "b" then E2: owes two
    expect([...guard.allowed()]).toEqual([0, 0, 0, 1, 0, 1, 0, 0, 1, 0]);
    guard.accept(8); // 80: owes one
    guard.accept(5); // AC: "€" complete
    expect(guard.state).toBe(0);
  });

  it('masks exactly the tokens whose bytes cannot continue (checked against the decoder for every state)', () => {
    // A witness byte prefix for each state.
    const witnesses = [[], [0xc3], [0xe2], [0xf1], [0xe0], [0xed], [0xf0], [0xf4]].map((b) => Uint8Array.from(b));
    expect(witnesses).toHaveLength(UTF8_STATE_COUNT);
    witnesses.forEach((prefix, state) => {
      expect(stateAfter(prefix)).toBe(state);
      tokens.forEach((bytes, token) => {
        const expected = bytes === null ? state === 0 : isValidPrefix(Uint8Array.from([...prefix, ...bytes]));
        expect([state, token, table.allowedIn(state)[token] === 1]).toEqual([state, token, expected]);
      });
    });
  });

  it('drops the incomplete tail of an example cut inside a character, and nothing else', () => {
    expect(dropIncompleteTail('caf\uFFFD', true)).toBe('caf');
    expect(dropIncompleteTail('caf\uFFFD', false)).toBe('caf\uFFFD');
    expect(dropIncompleteTail('café', true)).toBe('café');
  });
});

describe('the default model tokenizer under the mask', () => {
  const tokenizer = TextTokenizer.fromFiles(join(__dirname, '../../../../models/default/tokenizer.json'), null);
  const bytes = tokenizer.tokenBytes();
  const vocabSize = bytes.length;
  const table = new Utf8TokenTable(bytes, vocabSize);

  it('maps every token to the bytes the tokenizer decodes it to', () => {
    let checked = 0;
    bytes.forEach((b, id) => {
      if (b === null || !isCompleteUtf8(b)) return;
      // The decoder's clean-up removes a space before some punctuation (" ." decodes to ".").
      const cleaned = new TextDecoder()
        .decode(b)
        .replace(/ ([.?!,]|'s|'m|'ve|'re|n't)/g, '$1')
        .replace(/ ' /g, "' ");
      expect(tokenizer.decode([id])).toBe(cleaned);
      checked += 1;
    });
    // Each of the 256 single bytes is a token; most tokens are whole characters.
    expect(checked).toBeGreaterThan(vocabSize / 2);
    expect(new Set(bytes.filter((b) => b?.length === 1).map((b) => b![0])).size).toBe(256);
  });

  it('decodes random token sequences drawn under the mask to valid UTF-8 with no U+FFFD', () => {
    const rng = new SeededRng('utf8-random-tokens');
    // Byte tokens of multi-byte characters, to make the mask work hard.
    const partial = bytes.map((b, id) => (b !== null && !isCompleteUtf8(b) ? id : -1)).filter((id) => id >= 0);
    expect(partial.length).toBeGreaterThan(50);
    for (let trial = 0; trial < 300; trial += 1) {
      const guard = new Utf8Guard(table);
      const ids: number[] = [];
      const length = 1 + Math.floor(rng.nextDouble() * 40);
      while (ids.length < length) {
        const allowed = guard.allowed();
        const pool = rng.nextDouble() < 0.6 ? partial : null;
        let token = pool ? pool[Math.floor(rng.nextDouble() * pool.length)]! : Math.floor(rng.nextDouble() * vocabSize);
        // Rejection sampling: only allowed tokens are drawn, as the sampler does.
        while (allowed[token] === 0) token = Math.floor(rng.nextDouble() * vocabSize);
        if (token === 0) continue; // end-of-sequence is allowed only between characters
        ids.push(token);
        guard.accept(token);
      }
      const text = dropIncompleteTail(tokenizer.decode(ids), guard.incomplete);
      expect(text).not.toContain('\uFFFD');
      expect(isCompleteUtf8(new TextEncoder().encode(text))).toBe(true);
      if (!guard.incomplete) expect(isCompleteUtf8(Uint8Array.from(ids.flatMap((id) => [...bytes[id]!])))).toBe(true);
    }
  });

  it('never masks a token that continues valid text', () => {
    const texts = ['Who invented the telephone?', 'naïve café — “quoted” 日本語 🙂', '\n\nHere is another'];
    for (const text of texts) {
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      const guard = new Utf8Guard(table);
      for (const id of ids) {
        expect(guard.allowed()[id]).toBe(1);
        guard.accept(id);
      }
      expect(guard.incomplete).toBe(false);
      expect(guard.allowed()[0]).toBe(1); // end-of-sequence
    }
  });
});
