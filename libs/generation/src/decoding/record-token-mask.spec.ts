import { join } from 'node:path';
import { type Rng, SeededRng } from '@synthgate/privacy';
import { type FieldSpec, type RecordSchema } from '@synthgate/records';
import { latin1, oracleAccepts, schemaViolation } from '../testing/record-oracle';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { type RecordState } from './record-grammar';
import { RecordTokenMask, recordWritingProblem, VocabularyTrie } from './record-token-mask';

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.nextDouble() * items.length)]!;
const between = (rng: Rng, low: number, high: number): number => low + Math.floor(rng.nextDouble() * (high - low + 1));

/** A random schema with small ranges (the oracle enumerates every number). */
function randomSchema(rng: Rng): RecordSchema {
  const names = ['text', 'genre', 'year', 'score', 'ok', 'a', 'b_2'];
  const count = between(rng, 1, 4);
  const fields: FieldSpec[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = names.splice(between(rng, 0, names.length - 1), 1)[0]!;
    const optional = rng.nextDouble() < 0.3;
    const kind = pick(rng, ['text', 'category', 'integer', 'number', 'boolean'] as const);
    if (kind === 'text') {
      const maxChars = rng.nextDouble() < 0.4 ? between(rng, 1, 6) : undefined;
      fields.push({ name, optional, type: { kind, maxTokens: between(rng, 1, 4), ...(maxChars !== undefined ? { maxChars } : {}) } });
    }
    if (kind === 'category') {
      const values = [...new Set(Array.from({ length: between(rng, 1, 3) }, () => pick(rng, ['x', 'xy', 'sci-fi', 'a "q"', 'café', 'x y', 'Z'])))];
      fields.push({ name, optional, type: { kind, values } });
    }
    if (kind === 'integer') {
      const min = between(rng, -25, 30);
      fields.push({ name, optional, type: { kind, min, max: min + between(rng, 0, 40) } });
    }
    if (kind === 'number') {
      const decimals = between(rng, 0, 2);
      const min = between(rng, -30, 20) / 10;
      fields.push({ name, optional, type: { kind, min, max: min + between(rng, 0, decimals === 2 ? 3 : 20) / 10 + (decimals === 0 ? 1 : 0), decimals } });
    }
    if (kind === 'boolean') fields.push({ name, optional, type: { kind } });
  }
  return { fields, conditionField: null };
}

/**
 * A small vocabulary: every printable ASCII byte, the UTF-8 bytes of "é" and "€" alone and whole,
 * every continuation byte, multi-byte tokens that cross field boundaries, and end-of-sequence
 * (no bytes) last.
 */
function smallVocabulary(): (Uint8Array | null)[] {
  const texts = [
    '{"', '","', '":"', '":', '"}', '"},', ',"', ' {"', 'null', 'nu', 'true', 'fal', 'se', '12', '-1', '0.', '.5', '10', '3,', '1}',
    '"x"', 'xy', '"sci', '-fi"', 'ab', ' the', '\\"', '\\n', '\\t', '  ', ' "', 'é', '€', 'café"', '"a \\"q\\""', 'text', 'genre', 'year":1', 'score', '}}', ' "',
  ];
  const tokens: (Uint8Array | null)[] = [];
  for (let b = 0x20; b < 0x7f; b += 1) tokens.push(Uint8Array.of(b));
  for (let b = 0x80; b < 0xc0; b += 1) tokens.push(Uint8Array.of(b));
  // "\u00a0" (no-break space) and "\u3000" are whitespace, as are " " and the escapes \n \t.
  tokens.push(Uint8Array.of(0xc3), Uint8Array.of(0xe2), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0x82, 0xac), Uint8Array.of(0x0a), Uint8Array.of(0xc2), Uint8Array.of(0xc2, 0xa0), Uint8Array.of(0xe3, 0x80, 0x80), Uint8Array.of(0xe3));
  for (const text of texts) tokens.push(new TextEncoder().encode(text));
  tokens.push(null);
  return tokens;
}

describe('the record constraint against the brute-force oracle (small vocabulary)', () => {
  const vocabulary = smallVocabulary();
  const eos = vocabulary.length - 1;
  const trie = new VocabularyTrie(vocabulary, vocabulary.length);

  it('allows exactly the tokens that continue a valid record, and end-of-sequence exactly when it is complete', () => {
    const rng = new SeededRng('record-mask-oracle');
    let checks = 0;
    let records = 0;
    for (let trial = 0; trial < 40; trial += 1) {
      const schema = randomSchema(rng);
      const mask = new RecordTokenMask(schema, trie, [eos], vocabulary);
      // Several random walks per schema: each step compares the whole mask with the oracle.
      for (let walk = 0; walk < 3; walk += 1) {
        const prefix: Uint8Array[] = [];
        let state: RecordState = mask.initial;
        for (let step = 0; step < 80; step += 1) {
          const allowed = mask.allowedIn(state);
          const complete = oracleAccepts(schema, prefix, true);
          for (let token = 0; token < vocabulary.length; token += 1) {
            const expected = token === eos ? complete : !complete && oracleAccepts(schema, [...prefix, vocabulary[token]!], false);
            if ((allowed[token] === 1) !== expected) {
              throw new Error(`schema ${JSON.stringify(schema)} after ${JSON.stringify(prefix.map((p) => latin1String(p)).join('|'))}: token ${JSON.stringify(latin1String(vocabulary[token]))} mask ${allowed[token]} oracle ${expected}`);
            }
            checks += 1;
          }
          if (step % 8 === 0) checkForcedBytes(schema, mask, state, prefix);
          // Prefer long tokens half of the time, so that tokens span fields.
          const candidates = [...allowed.keys()].filter((t) => allowed[t] === 1);
          if (candidates.length === 0) throw new Error(`dead end: ${JSON.stringify(schema)} after ${JSON.stringify(prefix.map((p) => latin1String(p)).join("|"))}`);
          const long = candidates.filter((t) => (vocabulary[t]?.length ?? 0) > 1);
          const token = rng.nextDouble() < 0.5 && long.length > 0 ? pick(rng, long) : pick(rng, candidates);
          if (token === eos) {
            const text = new TextDecoder('utf-8', { fatal: true }).decode(concat(prefix));
            expect(schemaViolation(schema, JSON.parse(text))).toBeNull();
            records += 1;
            break;
          }
          prefix.push(vocabulary[token]!);
          state = mask.after(state, token);
        }
      }
    }
    expect(checks).toBeGreaterThan(100000);
    // Text fields can run long on single characters; most walks still finish within 80 tokens.
    expect(records).toBeGreaterThan(60);
  });

  it('counts a text field in tokens: after maxTokens tokens of content only the closing quote may follow', () => {
    const schema: RecordSchema = { fields: [{ name: 'text', optional: false, type: { kind: 'text', maxTokens: 3 } }], conditionField: null };
    const mask = new RecordTokenMask(schema, trie, [eos], vocabulary);
    const id = (text: string) => vocabulary.findIndex((t) => t !== null && latin1String(t) === latin1(text));
    const after = (texts: readonly string[]) => texts.reduce((state, text) => mask.after(state, id(text)), mask.initial);
    const allowedTexts = (state: RecordState) => {
      const allowed = mask.allowedIn(state);
      return [...allowed.keys()].filter((t) => allowed[t] === 1).map((t) => latin1String(vocabulary[t]!));
    };
    // One token of content so far: a second may stop inside an escape (a third will finish it)...
    expect(mask.allowedIn(after(['{"', 'text', '":', '"', 'ab']))[id('\\')]).toBe(1);
    // ...but not a third, which no fourth could finish; after three only the closing quote may follow.
    expect(mask.allowedIn(after(['{"', 'text', '":', '"', 'ab', ' the']))[id('\\')]).toBe(0);
    expect(mask.allowedIn(after(['{"', 'text', '":', '"', 'ab', ' the']))[id('x')]).toBe(1);
    expect(allowedTexts(after(['{"', 'text', '":', '"', 'ab', ' the', 'x']))).toEqual(['"', '"}']);
    expect(() => after(['{"', 'text', '":', '"', 'ab', ' the', 'x', 'y'])).toThrow(/cannot continue the record/);
  });

  it('refuses a fixed value outside the schema, and allows only the fixed value when it is declared', () => {
    const schema: RecordSchema = { fields: [{ name: 'genre', optional: false, type: { kind: 'category', values: ['x', 'xy'] } }], conditionField: 'genre' };
    expect(() => new RecordTokenMask(schema, trie, [eos], vocabulary, { fixed: { genre: 'z' } })).toThrow(/fixed.genre: must be one of the declared values/);
    expect(() => new RecordTokenMask(schema, trie, [eos], vocabulary, { fixed: { other: 'x' } })).toThrow(/fixed.other is not a field/);
    const mask = new RecordTokenMask(schema, trie, [eos], vocabulary, { fixed: { genre: 'xy' } });
    expect(oracleAccepts(schema, [], false)).toBe(true);
    let state = mask.initial;
    for (const text of ['{"', 'genre', '":', '"', 'x']) state = mask.after(state, vocabulary.findIndex((t) => t !== null && latin1String(t) === text));
    const allowed = mask.allowedIn(state);
    expect(allowed[vocabulary.findIndex((t) => t !== null && latin1String(t) === '"')]).toBe(0);
    expect(allowed[vocabulary.findIndex((t) => t !== null && latin1String(t) === 'y')]).toBe(1);
  });

  it('forces the syntax between values, and a category value once its prefix is unique', () => {
    const schema: RecordSchema = {
      fields: [
        { name: 'a', optional: false, type: { kind: 'category', values: ['sci-fi', 'xy'] } },
        { name: 'b_2', optional: true, type: { kind: 'integer', min: 1, max: 3 } },
      ],
      conditionField: null,
    };
    const grammar = new RecordTokenMask(schema, trie, [eos], vocabulary).grammar;
    const walk = (text: string) => [...text].reduce<RecordState | null>((state, char) => (state ? grammar.step(state, char.charCodeAt(0)) : null), grammar.initial)!;
    const text = (bytes: number[]) => String.fromCharCode(...bytes);
    expect(text(grammar.forcedBytes(grammar.initial))).toBe('');
    expect(text(grammar.forcedBytes(walk('{')))).toBe('"a":"');
    expect(text(grammar.forcedBytes(walk('{"a":"s')))).toBe('ci-fi","b_2":');
    expect(text(grammar.forcedBytes(walk('{"a":"xy","b_2":n')))).toBe('ull}');
    expect(text(grammar.forcedBytes(walk('{"a":"xy","b_2":2')))).toBe('}');
  });

  it('needs a tokenizer that can write every JSON character', () => {
    const partial = vocabulary.filter((t) => t === null || latin1String(t) !== '}');
    expect(() => new VocabularyTrie(partial, partial.length)).toThrow(/no single-byte token for "}"/);
    expect(recordWritingProblem(partial, partial.length)).toMatch(/no single-byte token for "}"/);
    expect(recordWritingProblem(vocabulary, vocabulary.length)).toBeNull();
  });
});

describe('the record constraint on the default model tokenizer', () => {
  const tokenizer = TextTokenizer.fromFiles(join(__dirname, '../../../../models/default/tokenizer.json'), null);
  const bytes = tokenizer.tokenBytes();
  const vocabSize = tokenizer.vocabularySize;
  const trie = new VocabularyTrie(bytes, vocabSize);
  const eos = vocabSize - 1;
  const movies: RecordSchema = {
    fields: [
      { name: 'text', optional: false, type: { kind: 'text', maxTokens: 12 } },
      { name: 'genre', optional: false, type: { kind: 'category', values: ['comedy', 'sci-fi', 'horror', 'other'] } },
      { name: 'year', optional: true, type: { kind: 'integer', min: 1920, max: 2025 } },
      { name: 'rating', optional: true, type: { kind: 'number', min: 0, max: 10, decimals: 1 } },
      { name: 'director', optional: true, type: { kind: 'text', maxTokens: 6 } },
      { name: 'family', optional: false, type: { kind: 'boolean' } },
    ],
    conditionField: 'genre',
  };

  it('never masks a token of a valid record as the tokenizer writes it', () => {
    const rng = new SeededRng('record-mask-tokenizer');
    const mask = new RecordTokenMask(movies, trie, [eos], bytes);
    for (let trial = 0; trial < 30; trial += 1) {
      const record = {
        text: pick(rng, ['funny films about dogs', 'a "scary" one', 'café\nscene', 'space war']),
        genre: pick(rng, ['comedy', 'sci-fi', 'horror', 'other']),
        year: pick(rng, [null, 1920, 1999, 2025, 2003]),
        rating: pick(rng, [null, 0, 7.5, 10, 3.2]),
        director: pick(rng, [null, 'nolan', 'Agnès']),
        family: rng.nextDouble() < 0.5,
      };
      const json = pick(rng, [JSON.stringify(record), ` ${JSON.stringify(record)}`]);
      const ids = tokenizer.encode(json, { addSpecialTokens: false });
      let state = mask.initial;
      for (const id of ids) {
        expect([json, id, mask.allowedIn(state)[id]]).toEqual([json, id, 1]);
        state = mask.after(state, id);
      }
      expect(mask.isFinished(state)).toBe(true);
      expect(mask.allowedIn(state)[eos]).toBe(1);
      expect(mask.allowedIn(state).reduce((a, b) => a + b, 0)).toBe(1);
    }
  });

  it('gives random walks that always parse and satisfy the schema, fast enough for every step', () => {
    const rng = new SeededRng('record-mask-walks');
    const mask = new RecordTokenMask(movies, trie, [eos], bytes);
    const bound = mask.grammar.maxRecordTokens();
    const started = performance.now();
    let steps = 0;
    for (let walk = 0; walk < 40; walk += 1) {
      let state = mask.initial;
      const ids: number[] = [];
      for (;;) {
        const allowed = mask.allowedIn(state);
        const candidates = [...allowed.keys()].filter((t) => allowed[t] === 1);
        const token = pick(rng, candidates);
        steps += 1;
        if (token === eos) break;
        ids.push(token);
        state = mask.after(state, token);
        expect(ids.length).toBeLessThan(bound);
      }
      const text = new TextDecoder('utf-8', { fatal: true }).decode(concat(ids.map((id) => bytes[id]!)));
      expect([text, schemaViolation(movies, JSON.parse(text))]).toEqual([text, null]);
    }
    // A cold mask walks the 4096-token trie once per new state; later steps hit the cache.
    expect((performance.now() - started) / steps).toBeLessThan(20);
  });
});

/** The forced bytes are exactly the bytes the oracle allows alone, one after the other. */
function checkForcedBytes(schema: RecordSchema, mask: RecordTokenMask, state: RecordState, prefix: readonly Uint8Array[]): void {
  const forced = mask.grammar.forcedBytes(state);
  const tokens = [...prefix];
  for (let j = 0; j <= forced.length; j += 1) {
    const accepted: number[] = [];
    for (let b = 0; b < 256 && accepted.length < 2; b += 1) if (oracleAccepts(schema, [...tokens, Uint8Array.of(b)], false)) accepted.push(b);
    if (j < forced.length) {
      expect(accepted).toEqual([forced[j]]);
      tokens.push(Uint8Array.of(forced[j]!));
    } else if (!oracleAccepts(schema, tokens, true)) {
      expect(accepted.length).toBe(2);
    }
  }
}

function latin1String(bytes: Uint8Array | null): string {
  return bytes === null ? '<eos>' : String.fromCharCode(...bytes);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
