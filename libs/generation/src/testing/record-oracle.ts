import { type FieldSpec, type RecordSchema } from '@synthgate/records';

/**
 * An independent reference for the schema constraint (decoding/record-grammar.ts), written the slow
 * and obvious way for tests: non-text values are enumerated (every category, boolean and number text
 * in range, which keeps test ranges small), the record's syntax is matched by backtracking, and a
 * text field's token budget is counted from token boundaries. It shares no code with the grammar.
 */

/** Every text a non-text value may be written as (numbers in every accepted spelling). */
function valueTexts(field: FieldSpec): string[] {
  const type = field.type;
  const texts = field.optional ? ['null'] : [];
  switch (type.kind) {
    case 'category':
      return [...texts, ...type.values.map((value) => latin1(JSON.stringify(value)))];
    case 'boolean':
      return [...texts, 'true', 'false'];
    case 'integer':
    case 'number': {
      const decimals = type.kind === 'number' ? type.decimals : 0;
      const scale = 10 ** decimals;
      for (let scaled = Math.ceil(type.min * scale - 1e-9); scaled <= Math.floor(type.max * scale + 1e-9); scaled += 1) {
        const magnitude = Math.abs(scaled);
        const whole = String(Math.floor(magnitude / scale));
        const signs = scaled < 0 ? ['-'] : scaled === 0 ? ['', '-'] : [''];
        for (const sign of signs) {
          if (magnitude % scale === 0) texts.push(sign + whole);
          for (let digits = 1; digits <= decimals; digits += 1) {
            const unit = 10 ** (decimals - digits);
            if (magnitude % unit !== 0) continue;
            texts.push(`${sign}${whole}.${String((magnitude % scale) / unit).padStart(digits, '0')}`);
          }
        }
      }
      return texts;
    }
    default:
      return texts;
  }
}

/** A UTF-8 byte string as one char per byte. */
export function latin1(text: string): string {
  return String.fromCharCode(...new TextEncoder().encode(text));
}

type Segment = { readonly literal: string; readonly optional: boolean } | { readonly field: FieldSpec; readonly texts: readonly string[] };

function segments(schema: RecordSchema): Segment[] {
  const out: Segment[] = [{ literal: ' ', optional: true }, { literal: '{', optional: false }];
  schema.fields.forEach((field, i) => {
    if (i > 0) out.push({ literal: ',', optional: false });
    for (const char of JSON.stringify(field.name)) out.push({ literal: char, optional: false });
    out.push({ literal: ':', optional: false }, { field, texts: valueTexts(field) });
  });
  out.push({ literal: '}', optional: false });
  return out;
}

const ESCAPES = new Set(['"', '\\', '/', 'n', 'r', 't']);

/**
 * Whether the tokens (byte strings) are a prefix of a valid record (`complete`: are a whole one)
 * under `schema`, text budgets counted in these tokens.
 */
export function oracleAccepts(schema: RecordSchema, tokens: readonly Uint8Array[], complete: boolean): boolean {
  const bytes: number[] = [];
  const tokenOf: number[] = [];
  tokens.forEach((token, index) => {
    for (const b of token) {
      bytes.push(b);
      tokenOf.push(index);
    }
  });
  const text = String.fromCharCode(...bytes);
  const program = segments(schema);
  const match = (pos: number, seg: number): boolean => {
    if (seg === program.length) return pos === text.length;
    if (pos === text.length && !complete) return true;
    const segment = program[seg]!;
    if ('literal' in segment) {
      if (text[pos] === segment.literal && match(pos + 1, seg + 1)) return true;
      return segment.optional && match(pos, seg + 1);
    }
    const rest = text.slice(pos);
    for (const candidate of segment.texts) {
      if (rest.startsWith(candidate) && match(pos + candidate.length, seg + 1)) return true;
      if (!complete && candidate.startsWith(rest)) return true;
    }
    if (segment.field.type.kind !== 'text' || text[pos] !== '"') return false;
    return matchText(pos + 1, segment.field.type, seg);
  };
  /**
   * A JSON string's content from `start`: valid UTF-8, the allowed escapes, a budget of tokens
   * with content bytes, at most `maxChars` code points, and not blank when it closes.
   */
  const matchText = (start: number, type: { readonly maxTokens: number; readonly maxChars?: number }, seg: number): boolean => {
    let i = start;
    const touched = new Set<number>();
    let escaped = false;
    for (; i < text.length; i += 1) {
      const char = text[i]!;
      if (!escaped && char === '"') break;
      touched.add(tokenOf[i]!);
      if (escaped) {
        if (!ESCAPES.has(char)) return false;
        escaped = false;
      } else if (char === '\\') escaped = true;
      else if (char.charCodeAt(0) < 0x20) return false;
    }
    if (touched.size > type.maxTokens) return false;
    const content = Uint8Array.from(text.slice(start, i), (c) => c.charCodeAt(0));
    // Characters: every byte but continuation bytes, an escape counting once (its backslash).
    const chars = [...content].filter((b) => b < 0x80 || b >= 0xc0).length - (text.slice(start, i).match(/\\[^\\]|\\\\/g)?.length ?? 0);
    const maxChars = type.maxChars ?? Infinity;
    if (i === text.length) {
      if (complete) return false;
      const pendingCharacter = !decodes(content, true);
      if (pendingCharacter && !decodes(content, false)) return false;
      const pending = escaped || pendingCharacter;
      if (chars > maxChars) return false;
      const whole = escaped ? text.slice(start, i - 1) : text.slice(start, i);
      const blank = pendingCharacter ? isBlank(whole.slice(0, completeLength(whole))) : isBlank(whole);
      // The next token must carry content to finish an escape or a character, or to unblank it.
      if ((pending || blank) && touched.size >= type.maxTokens) return false;
      return !(blank && !pending && chars >= maxChars);
    }
    return decodes(content, true) && chars <= maxChars && !isBlank(text.slice(start, i)) && match(i + 1, seg + 1);
  };
  return match(0, 0);
}

/** Whether JSON string content (a binary string of complete characters and escapes) decodes to whitespace only. */
function isBlank(content: string): boolean {
  const decoded = JSON.parse(`"${new TextDecoder().decode(Uint8Array.from(content, (c) => c.charCodeAt(0)))}"`) as string;
  return decoded.trim().length === 0;
}

/** The length of the longest prefix of a binary string that is complete UTF-8. */
function completeLength(content: string): number {
  for (let n = content.length; n > 0; n -= 1) if (decodes(Uint8Array.from(content.slice(0, n), (c) => c.charCodeAt(0)), true)) return n;
  return 0;
}

/** `whole`: the bytes are complete UTF-8; otherwise: a prefix of some UTF-8 text. */
function decodes(bytes: Uint8Array, whole: boolean): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: !whole });
    return true;
  } catch {
    return false;
  }
}

/**
 * The rule a parsed record breaks, or null when it satisfies the schema: exactly the schema's keys
 * in order, declared categories, numbers in range with at most `decimals` decimals, booleans, null
 * only where optional. (Text budgets are token counts: see {@link oracleAccepts}.)
 */
export function schemaViolation(schema: RecordSchema, value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const keys = Object.keys(value);
  if (keys.join(',') !== schema.fields.map((f) => f.name).join(',')) return `keys ${keys.join(',')}`;
  for (const field of schema.fields) {
    const v = (value as Record<string, unknown>)[field.name];
    const type = field.type;
    if (v === null) {
      if (!field.optional) return `${field.name} is null`;
      continue;
    }
    if (type.kind === 'text' && typeof v !== 'string') return `${field.name} is not a string`;
    if (type.kind === 'category' && (typeof v !== 'string' || !type.values.includes(v))) return `${field.name} = ${String(v)} is not declared`;
    if (type.kind === 'boolean' && typeof v !== 'boolean') return `${field.name} is not a boolean`;
    if (type.kind === 'integer' && (typeof v !== 'number' || !Number.isInteger(v) || v < type.min || v > type.max)) return `${field.name} = ${String(v)} out of range`;
    if (type.kind === 'number') {
      if (typeof v !== 'number' || v < type.min - 1e-9 || v > type.max + 1e-9) return `${field.name} = ${String(v)} out of range`;
      const scaled = v * 10 ** type.decimals;
      if (Math.abs(scaled - Math.round(scaled)) > 1e-6) return `${field.name} = ${v} has too many decimals`;
    }
  }
  return null;
}
