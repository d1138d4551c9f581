import { type FieldSpec, type FieldValue, type RecordSchema, type StructuredRecord } from './record-schema';

/**
 * Checking one record against a declared schema: what an import does with every line. Pure; the
 * caller adds the line number and turns problems into its own errors.
 */

/** Stable codes of a record's problems, one per rule. */
export type RecordProblemCode =
  /** A required field is missing, null or (in CSV) an empty cell. */
  | 'MISSING_FIELD'
  /** A key (JSONL) or column (CSV) the schema does not declare. */
  | 'UNKNOWN_FIELD'
  /** A CSV header names a column twice. */
  | 'DUPLICATE_COLUMN'
  /** A value of the wrong JSON type (e.g. a string for an integer field). */
  | 'WRONG_TYPE'
  /** A category value that is not among the field's declared values. */
  | 'UNDECLARED_VALUE'
  /** An integer or number outside the field's [min, max]. */
  | 'OUT_OF_RANGE'
  /** A fraction or non-numeric text in an integer field. */
  | 'NOT_AN_INTEGER'
  /** Non-numeric text (or a non-finite number) in a number field. */
  | 'NOT_A_NUMBER'
  /** More digits after the point than the field's `decimals`. */
  | 'TOO_MANY_DECIMALS'
  /** Anything but true or false in a boolean field. */
  | 'NOT_A_BOOLEAN'
  /** A text longer than its limit in characters. */
  | 'TEXT_TOO_LONG'
  /** A required text that is empty or only whitespace. */
  | 'EMPTY_TEXT'
  /** A string containing U+0000 (PostgreSQL cannot store it). */
  | 'NUL_CHARACTER'
  /** A string with a lone UTF-16 surrogate (a JSON `\\ud800` escape): no character, and PostgreSQL's jsonb refuses it. */
  | 'INVALID_CHARACTER';

/** One problem of a record: the field, the rule it breaks (never the value of a text), a code. */
export interface RecordProblem {
  readonly field: string;
  readonly rule: string;
  readonly code: RecordProblemCode;
}

export interface RecordCheckOptions {
  /**
   * `json`: values keep their JSON types (numbers, booleans, strings, null). `csv`: every value is
   * a string, parsed by the field's type; an empty cell is a missing value.
   */
  readonly source: 'json' | 'csv';
  /** The longest text in characters when a text field declares no `maxChars` (IMPORT_MAX_RECORD_CHARS). */
  readonly defaultMaxChars: number;
}

export type RecordCheck = { readonly record: StructuredRecord; readonly problems: readonly [] } | { readonly record: null; readonly problems: readonly RecordProblem[] };

const INTEGER_TEXT = /^[+-]?\d+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The value of `name` in `record`, or null: only the record's own properties count, so a field
 * named like an Object method (`constructor`, `toString`) never reads the prototype.
 */
export function fieldValue(record: StructuredRecord, name: string): FieldValue {
  return Object.hasOwn(record, name) ? (record[name] ?? null) : null;
}
const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Checks a record (keys to raw values) against `schema`. On success returns the record with every
 * field of the schema, in schema order, missing optional values as null, category values trimmed
 * and CSV cells parsed to their types. Otherwise returns every problem, one per field at most.
 */
export function validateRecord(schema: RecordSchema, raw: Readonly<Record<string, unknown>>, options: RecordCheckOptions): RecordCheck {
  const problems: RecordProblem[] = [];
  const declared = new Set(schema.fields.map((field) => field.name));
  for (const key of Object.keys(raw)) {
    if (!declared.has(key)) problems.push({ field: key, rule: `"${key}" is not a field of the dataset's schema`, code: 'UNKNOWN_FIELD' });
  }
  const record: Record<string, FieldValue> = {};
  for (const field of schema.fields) {
    const checked = checkValue(field, Object.hasOwn(raw, field.name) ? raw[field.name] : undefined, options);
    if ('problem' in checked) problems.push(checked.problem);
    else record[field.name] = checked.value;
  }
  return problems.length > 0 ? { record: null, problems } : { record, problems: [] };
}

/**
 * Checks a CSV header against `schema`: every column must be a declared field, named once, and
 * every required field must have a column (an optional one may be left out).
 */
export function validateCsvHeader(schema: RecordSchema, columns: readonly string[]): RecordProblem[] {
  const problems: RecordProblem[] = [];
  const declared = new Set(schema.fields.map((field) => field.name));
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) problems.push({ field: column, rule: `the header names the column "${column}" twice`, code: 'DUPLICATE_COLUMN' });
    seen.add(column);
    if (!declared.has(column)) problems.push({ field: column, rule: `the header has the column "${column}", which is not a field of the dataset's schema`, code: 'UNKNOWN_FIELD' });
  }
  for (const field of schema.fields) {
    if (!field.optional && !seen.has(field.name)) problems.push({ field: field.name, rule: `the header has no column "${field.name}" (a required field)`, code: 'MISSING_FIELD' });
  }
  return problems;
}

/**
 * The record as one JSON object, keys in schema order (null for a missing optional value): the
 * `text` a structured record is stored and replay-checked as.
 */
export function recordJson(schema: RecordSchema, record: StructuredRecord): string {
  const ordered: Record<string, FieldValue> = {};
  for (const field of schema.fields) ordered[field.name] = fieldValue(record, field.name);
  return JSON.stringify(ordered);
}

/** The number of Unicode code points of `text`, stopping once it passes `limit`. */
function codePointsUpTo(text: string, limit: number): number {
  if (text.length <= limit) return text.length;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    if (++count > limit) return count;
  }
  return count;
}

type Checked = { readonly value: FieldValue } | { readonly problem: RecordProblem };

function checkValue(field: FieldSpec, raw: unknown, options: RecordCheckOptions): Checked {
  const name = field.name;
  const problem = (rule: string, code: RecordProblemCode): Checked => ({ problem: { field: name, rule: `"${name}" ${rule}`, code } });
  const missing = raw === undefined || raw === null || (options.source === 'csv' && raw === '');
  if (missing) return field.optional ? { value: null } : problem('is missing (a required field)', 'MISSING_FIELD');
  const type = field.type;
  switch (type.kind) {
    case 'text': {
      if (typeof raw !== 'string') return problem('must be a string (a text field)', 'WRONG_TYPE');
      if (raw.trim().length === 0) return field.optional ? { value: null } : problem('is empty (a required text field)', 'EMPTY_TEXT');
      if (raw.includes('\u0000')) return problem('contains a NUL character', 'NUL_CHARACTER');
      if (LONE_SURROGATE.test(raw)) return problem('contains a lone UTF-16 surrogate (an escape such as \\ud800 that is no character)', 'INVALID_CHARACTER');
      const maxChars = type.maxChars ?? options.defaultMaxChars;
      if (codePointsUpTo(raw, maxChars) > maxChars) {
        return problem(`is longer than ${maxChars} characters (${type.maxChars !== undefined ? "the field's maxChars" : 'IMPORT_MAX_RECORD_CHARS'})`, 'TEXT_TOO_LONG');
      }
      return { value: raw };
    }
    case 'category': {
      // As labels always were: a number is read as its decimal text, and values are trimmed.
      if (typeof raw === 'number' && !Number.isFinite(raw)) return problem('must be a string or a finite number (a category field)', 'WRONG_TYPE');
      if (typeof raw !== 'string' && typeof raw !== 'number') return problem('must be a string (a category field)', 'WRONG_TYPE');
      const value = String(raw).trim();
      if (value.length === 0) return field.optional ? { value: null } : problem('is empty (a required category field)', 'MISSING_FIELD');
      if (value.includes('\u0000')) return problem('contains a NUL character', 'NUL_CHARACTER');
      if (LONE_SURROGATE.test(value)) return problem('contains a lone UTF-16 surrogate (an escape such as \\ud800 that is no character)', 'INVALID_CHARACTER');
      if (!type.values.includes(value)) return problem(`has the value "${value}", which is not declared (declared: ${declaredList(type.values)})`, 'UNDECLARED_VALUE');
      return { value };
    }
    case 'integer': {
      let value: number;
      if (options.source === 'csv') {
        const text = (raw as string).trim();
        if (!INTEGER_TEXT.test(text)) return problem('must be a whole number (an integer field)', 'NOT_AN_INTEGER');
        value = Number(text);
      } else {
        if (typeof raw !== 'number') return problem('must be a JSON number (an integer field)', 'WRONG_TYPE');
        if (!Number.isInteger(raw)) return problem('must be a whole number (an integer field)', 'NOT_AN_INTEGER');
        value = raw;
      }
      if (value < type.min || value > type.max) return problem(`is ${value}, outside the declared range [${type.min}, ${type.max}]`, 'OUT_OF_RANGE');
      return { value };
    }
    case 'number': {
      let value: number;
      if (options.source === 'csv') {
        const text = (raw as string).trim();
        if (!NUMBER_TEXT.test(text)) return problem('must be a decimal number (a number field)', 'NOT_A_NUMBER');
        value = Number(text);
      } else {
        if (typeof raw !== 'number') return problem('must be a JSON number (a number field)', 'WRONG_TYPE');
        value = raw;
      }
      if (!Number.isFinite(value)) return problem('must be a finite number (a number field)', 'NOT_A_NUMBER');
      if (value < type.min || value > type.max) return problem(`is ${value}, outside the declared range [${type.min}, ${type.max}]`, 'OUT_OF_RANGE');
      if (Number(value.toFixed(type.decimals)) !== value) return problem(`has more than ${type.decimals} digit${type.decimals === 1 ? '' : 's'} after the point`, 'TOO_MANY_DECIMALS');
      // -0 is stored as 0: JSON has no negative zero, and a Parquet reader would show one.
      return { value: value === 0 ? 0 : value };
    }
    case 'boolean': {
      if (options.source === 'csv') {
        const text = (raw as string).trim().toLowerCase();
        if (text === 'true') return { value: true };
        if (text === 'false') return { value: false };
        return problem('must be true or false (a boolean field)', 'NOT_A_BOOLEAN');
      }
      if (typeof raw !== 'boolean') return problem('must be true or false (a boolean field)', 'NOT_A_BOOLEAN');
      return { value: raw };
    }
  }
}

/** The declared values for an error, shortened past ten. */
function declaredList(values: readonly string[]): string {
  const shown = values.slice(0, 10).map((value) => `"${value}"`).join(', ');
  return values.length > 10 ? `${shown} and ${values.length - 10} more` : shown;
}
