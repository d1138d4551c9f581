import { type FieldSpec, type FieldValue, type RecordSchema } from '@synthgate/records';
import { GenerationError } from '../generation.errors';
import { utf8Step } from './utf8-token-mask';

/**
 * The language of one synthetic record under a declared schema, read byte by byte: a JSON object
 * with exactly the schema's keys in the schema's order,
 * `{"field": value, "other": value}`, where
 * - a category is one of its declared values, written as `JSON.stringify` writes it;
 * - an integer or number is in its declared range, with at most `decimals` digits after the point
 *   (none for integers), no leading zeros, no exponent;
 * - a boolean is `true` or `false`; an optional field may be `null`;
 * - a text field is a closed JSON string of valid UTF-8 with the escapes `\" \\ \/ \n \r \t` (no
 *   `\u`: it could write a lone surrogate or NUL, which storage refuses), and at most `maxTokens`
 *   of the model's tokens carry bytes of its content.
 * The object is written compactly, as `JSON.stringify` writes it (the form prompts show records
 * in); one optional space may stand before `{`, for tokenizers whose words begin with a space.
 * Being compact, the syntax between values is forced: {@link RecordGrammar.forcedBytes} gives it,
 * and the decoding loops write it without sampling (record-token-mask.ts).
 *
 * Every state this automaton can reach is live: some continuation completes a valid record (the
 * number states check their range exactly, the text states their token budget at each token
 * boundary). Combined with a vocabulary walk (record-token-mask.ts) this gives, at each decoding
 * step, exactly the tokens that can continue a valid record.
 */

/** One item of a record's program: a literal byte (optional: a space that may be left out), or a field's value. */
type Item = { readonly kind: 'byte'; readonly byte: number; readonly optional: boolean } | { readonly kind: 'value'; readonly field: CompiledField } | { readonly kind: 'end' };

/** What a value may be: literal alternatives (binary strings, one char per byte), a number range, or text. */
interface CompiledField {
  readonly name: string;
  /** Category values, booleans, and `null` when optional; for numbers and text only `null` (if optional). */
  readonly literals: readonly string[];
  readonly number: NumberRange | null;
  readonly textMaxTokens: number | null;
  /** A text field's `maxChars` (code points), or null. */
  readonly textMaxChars: number | null;
}

/** A number field's range in scaled integers (`value * 10^decimals`). */
interface NumberRange {
  readonly decimals: number;
  readonly low: number;
  readonly high: number;
}

/** Value modes of a state: not inside a value, in a literal, a number, or a text string. */
const NONE = 0;
const LITERAL = 1;
const NUMBER = 2;
const TEXT = 3;

/**
 * A state of the automaton. Immutable: every step returns a new one, so states can be kept (the
 * speculative engine rewinds to one) and used as cache keys through {@link RecordGrammar.key}.
 */
export interface RecordState {
  /** Index of the current item in the program. */
  readonly item: number;
  readonly mode: number;
  /** The value's bytes so far (LITERAL, NUMBER), as a binary string. */
  readonly value: string;
  /** TEXT: tokens that carried content bytes so far, the current token included when `touched`. */
  readonly used: number;
  /** TEXT: the current token has carried a content byte. Reset at every token boundary. */
  readonly touched: boolean;
  /** TEXT: just after a backslash. */
  readonly escape: boolean;
  /** TEXT: the UTF-8 decoder's state (utf8-token-mask.ts); 0 between characters. */
  readonly utf8: number;
  /** TEXT: the code point's bits read so far, while `utf8` is not 0. */
  readonly codePoint: number;
  /** TEXT: characters so far (a character counts from its first byte). */
  readonly chars: number;
  /** TEXT: no character but whitespace so far (a text must hold something else to close). */
  readonly blank: boolean;
}

const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ESCAPABLE = new Set([QUOTE, BACKSLASH, 0x2f, 0x6e, 0x72, 0x74]);

/** Options of a grammar beyond the schema. */
export interface RecordGrammarOptions {
  /**
   * Fields whose value is fixed for this record (the condition field's value chosen for the batch):
   * the field may take only that value.
   */
  readonly fixed?: Readonly<Record<string, FieldValue>>;
}

/** The automaton of one schema (and fixed values). Pure and stateless: states are values. */
export class RecordGrammar {
  private readonly program: readonly Item[];
  readonly initial: RecordState;

  constructor(
    readonly schema: RecordSchema,
    options: RecordGrammarOptions = {},
  ) {
    if (schema.fields.length === 0) throw new GenerationError('INVALID_GENERATION_INPUT', 'schema.fields must not be empty');
    const fixed = options.fixed ?? {};
    for (const name of Object.keys(fixed)) {
      if (!schema.fields.some((field) => field.name === name)) throw new GenerationError('INVALID_GENERATION_INPUT', `fixed.${name} is not a field of the schema`);
    }
    const program: Item[] = [space(), byte('{')];
    schema.fields.forEach((field, index) => {
      if (index > 0) program.push(byte(','));
      for (const b of binary(JSON.stringify(field.name))) program.push(byte(b));
      program.push(byte(':'), { kind: 'value', field: compileField(field, fixed) });
    });
    program.push(byte('}'), { kind: 'end' });
    this.program = program;
    this.initial = { item: 0, mode: NONE, value: '', used: 0, touched: false, escape: false, utf8: 0, codePoint: 0, chars: 0, blank: true };
  }

  /** True when the record is complete (after its closing brace): only end-of-sequence may follow. */
  isComplete(state: RecordState): boolean {
    return this.program[state.item]!.kind === 'end';
  }

  /** The state after `byte`, or null when no valid record continues that way. */
  step(state: RecordState, b: number): RecordState | null {
    let current = state;
    for (;;) {
      const item = this.program[current.item]!;
      if (item.kind === 'end') return null;
      if (item.kind === 'byte') {
        if (b === item.byte) return advance(current);
        if (!item.optional) return null;
        current = advance(current);
        continue;
      }
      const field = item.field;
      switch (current.mode) {
        case NONE:
          return startValue(current, field, b);
        case LITERAL: {
          const extended = current.value + String.fromCharCode(b);
          if (field.literals.some((literal) => literal.startsWith(extended))) return { ...current, value: extended };
          if (!field.literals.includes(current.value)) return null;
          current = advance(current);
          continue;
        }
        case NUMBER: {
          const extended = current.value + String.fromCharCode(b);
          if (numberPrefixLive(extended, field.number!)) return { ...current, value: extended };
          if (!numberComplete(current.value, field.number!)) return null;
          current = advance(current);
          continue;
        }
        default:
          return textStep(current, field, b);
      }
    }
  }

  /**
   * Whether a token may end in `state`: a token that stops inside an escape or a character of a
   * text field leaves work for the next ones, which carry content too, so the field's budget must
   * hold them. `finishTokens[u]`: the fewest tokens that finish a character from UTF-8 state `u`
   * (from the vocabulary, {@link VocabularyTrie}); an escape takes one (every ASCII byte is a token).
   */
  tokenMayEndIn(state: RecordState, finishTokens: readonly number[]): boolean {
    if (state.mode !== TEXT) return true;
    const field = (this.program[state.item] as { readonly field: CompiledField }).field;
    const pending = state.escape || state.utf8 !== 0;
    // A blank text needs one more character that is not whitespace before it may close (a pending
    // character or escape can be that one: every kind has a completion that is not whitespace).
    if (state.blank && !pending && field.textMaxChars !== null && state.chars >= field.textMaxChars) return false;
    const need = Math.max(state.escape ? 1 : state.utf8 !== 0 ? finishTokens[state.utf8]! : 0, state.blank ? 1 : 0);
    return state.used + need <= field.textMaxTokens!;
  }

  /**
   * The bytes every valid continuation of `state` starts with (possibly none): the keys, quotes and
   * punctuation between values, the rest of a category value once its prefix is unique, a closing
   * quote once a text field's budget is spent. A function of the public state alone.
   */
  forcedBytes(state: RecordState): number[] {
    const forced: number[] = [];
    let current = state;
    for (;;) {
      if (this.isComplete(current)) return forced;
      let only = -1;
      let next: RecordState | null = null;
      for (let b = 0; b < 256; b += 1) {
        const candidate = this.step(current, b);
        if (candidate === null) continue;
        if (only >= 0) return forced;
        only = b;
        next = candidate;
      }
      if (next === null) return forced;
      forced.push(only);
      current = next;
    }
  }

  /** The state at the start of the next token (a text field's current token is closed). */
  boundary(state: RecordState): RecordState {
    return state.touched ? { ...state, touched: false } : state;
  }

  /**
   * A key equal for states that allow the same tokens: within a text field only how many tokens of
   * its budget are left matters, up to the most a character can need (a token may stop inside an
   * escape or a character only if the tokens that finish it fit), not how much of it is used.
   */
  key(state: RecordState, longestToken: number): string {
    if (state.mode === TEXT) {
      const field = (this.program[state.item] as { readonly field: CompiledField }).field;
      const left = Math.min(5, field.textMaxTokens! - state.used);
      // Characters left matter up to the longest token (no token can use more).
      const charsLeft = field.textMaxChars === null ? '' : Math.min(longestToken + 1, field.textMaxChars - state.chars);
      const blank = state.blank ? `b${state.utf8 !== 0 ? state.codePoint : ''}` : '';
      return `${state.item}:t:${left}:${charsLeft}:${state.escape ? 1 : 0}:${state.utf8}:${blank}`;
    }
    return `${state.item}:${state.mode}:${state.value}`;
  }

  /**
   * The most tokens any valid record can take, end-of-sequence included, when every token carries
   * at least one byte: a public bound for `maxNewTokens` (it depends on the schema alone).
   */
  maxRecordTokens(): number {
    let total = 1;
    for (const item of this.program) {
      if (item.kind === 'byte') total += 1;
      if (item.kind !== 'value') continue;
      const field = item.field;
      const literal = Math.max(0, ...field.literals.map((l) => l.length));
      const number = field.number ? numberMaxLength(field.number) : 0;
      const text = field.textMaxTokens !== null ? field.textMaxTokens + 2 : 0;
      total += Math.max(literal, number, text);
    }
    return total;
  }
}

/**
 * The most tokens a record of `schema` can take, end-of-sequence included (every token carries at
 * least one byte): a public bound, from the schema alone, for a structured release's `maxTokens`.
 * ORT-free, exported through `@synthgate/generation/catalog` so the gateway can plan with it.
 */
export function recordTokenBound(schema: RecordSchema): number {
  return new RecordGrammar(schema).maxRecordTokens();
}

function byte(char: string): Item {
  return { kind: 'byte', byte: char.charCodeAt(0), optional: false };
}

function space(): Item {
  return { kind: 'byte', byte: SPACE, optional: true };
}

function advance(state: RecordState): RecordState {
  return { item: state.item + 1, mode: NONE, value: '', used: 0, touched: false, escape: false, utf8: 0, codePoint: 0, chars: 0, blank: true };
}

/** UTF-8 bytes of `text` as a binary string (one char per byte), so literals compare byte by byte. */
export function binary(text: string): string {
  return String.fromCharCode(...new TextEncoder().encode(text));
}

function compileField(field: FieldSpec, fixed: Readonly<Record<string, FieldValue>>): CompiledField {
  const type = field.type;
  const nullLiteral = field.optional ? ['null'] : [];
  if (Object.prototype.hasOwnProperty.call(fixed, field.name)) {
    const value = fixed[field.name]!;
    checkFixedValue(field, value);
    return { name: field.name, literals: [binary(JSON.stringify(value))], number: null, textMaxTokens: null, textMaxChars: null };
  }
  switch (type.kind) {
    case 'category':
      if (type.values.length === 0 && !field.optional) throw new GenerationError('INVALID_GENERATION_INPUT', `schema field ${field.name}: a category needs at least one declared value`);
      return { name: field.name, literals: [...type.values.map((value) => binary(JSON.stringify(value))), ...nullLiteral], number: null, textMaxTokens: null, textMaxChars: null };
    case 'boolean':
      return { name: field.name, literals: ['true', 'false', ...nullLiteral], number: null, textMaxTokens: null, textMaxChars: null };
    case 'integer':
      return { name: field.name, literals: nullLiteral, number: numberRange(field.name, type.min, type.max, 0), textMaxTokens: null, textMaxChars: null };
    case 'number':
      return { name: field.name, literals: nullLiteral, number: numberRange(field.name, type.min, type.max, type.decimals), textMaxTokens: null, textMaxChars: null };
    case 'text':
      if (!Number.isInteger(type.maxTokens) || type.maxTokens < 1) throw new GenerationError('INVALID_GENERATION_INPUT', `schema field ${field.name}: maxTokens must be a whole number >= 1, got ${type.maxTokens}`);
      if (type.maxChars !== undefined && (!Number.isInteger(type.maxChars) || type.maxChars < 1)) {
        throw new GenerationError('INVALID_GENERATION_INPUT', `schema field ${field.name}: maxChars must be a whole number >= 1, got ${type.maxChars}`);
      }
      return { name: field.name, literals: nullLiteral, number: null, textMaxTokens: type.maxTokens, textMaxChars: type.maxChars ?? null };
    default:
      throw new GenerationError('INVALID_GENERATION_INPUT', `schema field ${(field as FieldSpec).name}: unknown kind`);
  }
}

/** A fixed value must itself satisfy the field (a declared category value, a number in range...). */
function checkFixedValue(field: FieldSpec, value: FieldValue): void {
  const type = field.type;
  const fail = (rule: string) => {
    throw new GenerationError('INVALID_GENERATION_INPUT', `fixed.${field.name}: ${rule}, got ${JSON.stringify(value)}`);
  };
  if (value === null) {
    if (!field.optional) fail('must not be null (the field is not optional)');
    return;
  }
  if (type.kind === 'category' && (typeof value !== 'string' || !type.values.includes(value))) fail('must be one of the declared values');
  if (type.kind === 'boolean' && typeof value !== 'boolean') fail('must be a boolean');
  if (type.kind === 'text' && typeof value !== 'string') fail('must be a string');
  if ((type.kind === 'integer' || type.kind === 'number') && (typeof value !== 'number' || value < type.min || value > type.max)) fail(`must be a number in [${type.min}, ${type.max}]`);
}

/** Scales a declared range to integers; `value * 10^decimals` within 1e-6 of an integer is that integer. */
function numberRange(name: string, min: number, max: number, decimals: number): NumberRange {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 9) throw new GenerationError('INVALID_GENERATION_INPUT', `schema field ${name}: decimals must be a whole number in [0, 9], got ${decimals}`);
  const scale = 10 ** decimals;
  const scaled = (x: number, round: (v: number) => number) => {
    const v = x * scale;
    return Math.abs(v - Math.round(v)) < 1e-6 ? Math.round(v) : round(v);
  };
  const low = scaled(min, Math.ceil);
  const high = scaled(max, Math.floor);
  if (!Number.isFinite(min) || !Number.isFinite(max) || low > high) throw new GenerationError('INVALID_GENERATION_INPUT', `schema field ${name}: the range [${min}, ${max}] holds no value with ${decimals} decimals`);
  if (Math.abs(low) > Number.MAX_SAFE_INTEGER / 100 || Math.abs(high) > Number.MAX_SAFE_INTEGER / 100) {
    throw new GenerationError('INVALID_GENERATION_INPUT', `schema field ${name}: the range [${min}, ${max}] with ${decimals} decimals is too wide to generate exactly`);
  }
  return { decimals, low, high };
}

function startValue(state: RecordState, field: CompiledField, b: number): RecordState | null {
  const char = String.fromCharCode(b);
  if (field.literals.some((literal) => literal.startsWith(char))) return { ...state, mode: LITERAL, value: char };
  if (field.number && numberPrefixLive(char, field.number)) return { ...state, mode: NUMBER, value: char };
  if (field.textMaxTokens !== null && b === QUOTE) return { ...state, mode: TEXT };
  return null;
}

/**
 * One byte of a text field's string. Content bytes count against the token budget (once per token),
 * characters against `maxChars` (from their first byte), and the string may close only when it is
 * not blank (as an import refuses a blank required text).
 */
function textStep(state: RecordState, field: CompiledField, b: number): RecordState | null {
  let next: RecordState;
  const startsCharacter = () => field.textMaxChars === null || state.chars < field.textMaxChars;
  if (state.escape) {
    if (!ESCAPABLE.has(b)) return null;
    next = { ...state, escape: false, blank: state.blank && WHITESPACE_ESCAPES.has(b) };
  } else if (state.utf8 !== 0) {
    const utf8 = utf8Step(state.utf8, b);
    if (utf8 < 0) return null;
    const codePoint = (state.codePoint << 6) | (b & 0x3f);
    next = utf8 === 0 ? { ...state, utf8, codePoint: 0, blank: state.blank && isWhitespace(codePoint) } : { ...state, utf8, codePoint };
  } else if (b >= 0x80) {
    const utf8 = utf8Step(0, b);
    if (utf8 < 0 || !startsCharacter()) return null;
    next = { ...state, utf8, codePoint: b & (b >= 0xf0 ? 0x07 : b >= 0xe0 ? 0x0f : 0x1f), chars: state.chars + 1 };
  } else if (b === QUOTE) {
    return state.blank ? null : advance(state);
  } else if (b < 0x20 || !startsCharacter()) {
    return null;
  } else if (b === BACKSLASH) {
    next = { ...state, escape: true, chars: state.chars + 1 };
  } else {
    next = { ...state, chars: state.chars + 1, blank: state.blank && b === SPACE };
  }
  // A content byte: the token carrying it counts against the field's budget once.
  if (state.touched) return next;
  if (state.used >= field.textMaxTokens!) return null;
  return { ...next, used: state.used + 1, touched: true };
}

/** Escapes that write whitespace (`\n`, `\r`, `\t`). */
const WHITESPACE_ESCAPES = new Set([0x6e, 0x72, 0x74]);

/** Whitespace as `String.prototype.trim` removes it (ECMAScript WhiteSpace and LineTerminator). */
function isWhitespace(codePoint: number): boolean {
  return (
    (codePoint >= 0x09 && codePoint <= 0x0d) ||
    codePoint === 0x20 ||
    codePoint === 0xa0 ||
    codePoint === 0x1680 ||
    (codePoint >= 0x2000 && codePoint <= 0x200a) ||
    codePoint === 0x2028 ||
    codePoint === 0x2029 ||
    codePoint === 0x202f ||
    codePoint === 0x205f ||
    codePoint === 0x3000 ||
    codePoint === 0xfeff
  );
}

/** The syntax of a number's prefix: sign, digits without a leading zero, then `.` and at most `decimals` digits. */
const NUMBER_PREFIX = /^(-?)(0|[1-9][0-9]*)?(\.([0-9]*))?$/;

/** Whether some number with this prefix lies in the range. */
export function numberPrefixLive(prefix: string, range: NumberRange): boolean {
  const match = NUMBER_PREFIX.exec(prefix);
  if (!match) return false;
  const [, sign, digits = '', dot, fraction = ''] = match;
  if (dot !== undefined && (digits === '' || range.decimals === 0 || fraction.length > range.decimals)) return false;
  // Magnitudes (scaled) that a completion may have, given the sign.
  const negative = sign === '-';
  const low = negative ? Math.max(0, -range.high) : Math.max(0, range.low);
  const high = negative ? -range.low : range.high;
  if (low > high) return false;
  const scale = 10 ** range.decimals;
  const meets = (a: number, b: number) => a <= high && b >= low;
  if (dot !== undefined) {
    const unit = 10 ** (range.decimals - fraction.length);
    const start = Number(digits) * scale + Number(fraction || '0') * unit;
    return meets(start, start + unit - 1);
  }
  if (digits === '') return true; // only "-": every magnitude in [low, high] is reachable
  if (digits === '0') return meets(0, scale - 1);
  for (let extra = 0; ; extra += 1) {
    const base = Number(digits) * 10 ** extra;
    if (base * scale > high) return false;
    if (meets(base * scale, (base + 10 ** extra) * scale - 1)) return true;
  }
}

/** Whether the prefix is a whole number in the range. */
export function numberComplete(prefix: string, range: NumberRange): boolean {
  const match = NUMBER_PREFIX.exec(prefix);
  if (!match) return false;
  const [, sign, digits = '', dot, fraction = ''] = match;
  if (digits === '' || (dot !== undefined && (fraction === '' || fraction.length > range.decimals))) return false;
  const magnitude = Number(digits) * 10 ** range.decimals + Number(fraction || '0') * 10 ** (range.decimals - fraction.length);
  const value = sign === '-' ? -magnitude : magnitude;
  return value >= range.low && value <= range.high;
}

/** The longest number text of a range: sign, integer digits, point and decimals. */
function numberMaxLength(range: NumberRange): number {
  const scale = 10 ** range.decimals;
  const digits = (scaled: number) => String(Math.floor(Math.abs(scaled) / scale)).length;
  return 1 + Math.max(digits(range.low), digits(range.high)) + (range.decimals > 0 ? 1 + range.decimals : 0);
}
