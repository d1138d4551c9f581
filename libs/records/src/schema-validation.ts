import { type FieldSpec, type FieldType, type RecordSchema } from './record-schema';

/**
 * Checking a schema definition (what an owner declares when creating a dataset). Pure: the caller
 * turns the problems into its own errors.
 */

/** Stable codes of a schema definition's problems. */
export type SchemaProblemCode =
  | 'SCHEMA_NOT_AN_OBJECT'
  | 'SCHEMA_NO_FIELDS'
  | 'SCHEMA_TOO_MANY_FIELDS'
  | 'SCHEMA_BAD_FIELD_NAME'
  | 'SCHEMA_DUPLICATE_FIELD'
  | 'SCHEMA_UNKNOWN_KIND'
  | 'SCHEMA_BAD_BOUND'
  | 'SCHEMA_BAD_RANGE'
  | 'SCHEMA_BAD_VALUES'
  | 'SCHEMA_BAD_CONDITION'
  | 'SCHEMA_UNKNOWN_PROPERTY';

/** One problem of a schema definition: where (`fields[2].type.min`) and the rule it breaks. */
export interface SchemaProblem {
  readonly path: string;
  readonly rule: string;
  readonly code: SchemaProblemCode;
}

export const MAX_SCHEMA_FIELDS = 64;
export const MAX_CATEGORY_VALUES = 1000;
/** The longest declared category value, in characters (the same rule as a declared label). */
export const MAX_CATEGORY_VALUE_LENGTH = 200;
/** The largest `maxTokens` of a text field (the largest maxTokens a release accepts). */
export const MAX_TEXT_TOKENS = 2048;
/** The largest `decimals` of a number field: beyond 15 digits a double no longer keeps them. */
export const MAX_DECIMALS = 15;

/** Field names: letters, digits and underscores, starting with a letter (JSON keys, CSV columns, `{name}` placeholders). */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

const fieldKeys = new Set(['name', 'type', 'optional']);
const typeKeys: Readonly<Record<string, readonly string[]>> = {
  text: ['kind', 'maxTokens', 'maxChars'],
  category: ['kind', 'values'],
  integer: ['kind', 'min', 'max'],
  number: ['kind', 'min', 'max', 'decimals'],
  boolean: ['kind'],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWhole(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/**
 * Checks a declared schema. Returns the schema (normalised: `optional` defaults to false,
 * `conditionField` to null, category values trimmed) when there is no problem, else every problem.
 * Rules: 1 to MAX_SCHEMA_FIELDS fields with distinct FIELD_NAME names; text `maxTokens` an integer
 * in [1, MAX_TEXT_TOKENS] and `maxChars` (optional) a positive integer; category 1 to
 * MAX_CATEGORY_VALUES distinct non-empty values without NUL; integer bounds safe integers with
 * min <= max; number bounds finite with min <= max and `decimals` in [0, MAX_DECIMALS]; the
 * condition field, if any, a required category field.
 */
export function validateRecordSchema(input: unknown): { schema: RecordSchema; problems: [] } | { schema: null; problems: SchemaProblem[] } {
  const problems: SchemaProblem[] = [];
  const add = (path: string, rule: string, code: SchemaProblemCode): void => {
    problems.push({ path, rule, code });
  };
  if (!isObject(input)) {
    add('schema', 'must be an object with "fields" (and optionally "conditionField")', 'SCHEMA_NOT_AN_OBJECT');
    return { schema: null, problems };
  }
  for (const key of Object.keys(input)) {
    if (key !== 'fields' && key !== 'conditionField') add(`schema.${key}`, 'is not a schema property (use "fields" and "conditionField")', 'SCHEMA_UNKNOWN_PROPERTY');
  }
  const rawFields = input.fields;
  if (!Array.isArray(rawFields) || rawFields.length === 0) {
    add('schema.fields', 'must be a non-empty list of fields', 'SCHEMA_NO_FIELDS');
    return { schema: null, problems };
  }
  if (rawFields.length > MAX_SCHEMA_FIELDS) add('schema.fields', `must have at most ${MAX_SCHEMA_FIELDS} fields`, 'SCHEMA_TOO_MANY_FIELDS');
  const fields: FieldSpec[] = [];
  const seen = new Set<string>();
  rawFields.forEach((raw: unknown, index) => {
    const path = `schema.fields[${index}]`;
    const field = validateField(path, raw, add);
    if (!field) return;
    if (seen.has(field.name)) add(`${path}.name`, `"${field.name}" is declared twice`, 'SCHEMA_DUPLICATE_FIELD');
    seen.add(field.name);
    fields.push(field);
  });
  const condition = input.conditionField ?? null;
  if (condition !== null) {
    const target = fields.find((field) => field.name === condition);
    if (typeof condition !== 'string' || !target) {
      add('schema.conditionField', 'must name a field of the schema (or be null)', 'SCHEMA_BAD_CONDITION');
    } else if (target.type.kind !== 'category' || target.optional) {
      add('schema.conditionField', `"${condition}" must be a required category field: batches are formed within one of its declared values`, 'SCHEMA_BAD_CONDITION');
    }
  }
  if (problems.length > 0) return { schema: null, problems };
  return { schema: { fields, conditionField: condition as string | null }, problems: [] };
}

function validateField(path: string, raw: unknown, add: (path: string, rule: string, code: SchemaProblemCode) => void): FieldSpec | null {
  if (!isObject(raw)) {
    add(path, 'must be an object with "name" and "type"', 'SCHEMA_NOT_AN_OBJECT');
    return null;
  }
  for (const key of Object.keys(raw)) {
    if (!fieldKeys.has(key)) add(`${path}.${key}`, 'is not a field property (use "name", "type" and "optional")', 'SCHEMA_UNKNOWN_PROPERTY');
  }
  const name = raw.name;
  let ok = true;
  if (typeof name !== 'string' || !FIELD_NAME.test(name)) {
    add(`${path}.name`, 'must be 1 to 64 letters, digits or underscores, starting with a letter', 'SCHEMA_BAD_FIELD_NAME');
    ok = false;
  }
  const optional = raw.optional ?? false;
  if (typeof optional !== 'boolean') {
    add(`${path}.optional`, 'must be true or false', 'SCHEMA_BAD_BOUND');
    ok = false;
  }
  const type = validateType(`${path}.type`, raw.type, add);
  if (!ok || !type) return null;
  return { name: name as string, type, optional: optional as boolean };
}

function validateType(path: string, raw: unknown, add: (path: string, rule: string, code: SchemaProblemCode) => void): FieldType | null {
  if (!isObject(raw) || typeof raw.kind !== 'string' || !(raw.kind in typeKeys)) {
    add(`${path}.kind`, 'must be one of text, category, integer, number, boolean', 'SCHEMA_UNKNOWN_KIND');
    return null;
  }
  const kind = raw.kind;
  for (const key of Object.keys(raw)) {
    if (!typeKeys[kind]!.includes(key)) add(`${path}.${key}`, `is not a property of a ${kind} field (use ${typeKeys[kind]!.join(', ')})`, 'SCHEMA_UNKNOWN_PROPERTY');
  }
  const bad = (property: string, rule: string, code: SchemaProblemCode = 'SCHEMA_BAD_BOUND'): null => {
    add(`${path}.${property}`, rule, code);
    return null;
  };
  switch (kind) {
    case 'text': {
      if (!isWhole(raw.maxTokens, 1, MAX_TEXT_TOKENS)) return bad('maxTokens', `must be an integer from 1 to ${MAX_TEXT_TOKENS}`);
      if (raw.maxChars !== undefined && raw.maxChars !== null && !isWhole(raw.maxChars, 1, Number.MAX_SAFE_INTEGER)) return bad('maxChars', 'must be a positive integer');
      return raw.maxChars === undefined || raw.maxChars === null ? { kind, maxTokens: raw.maxTokens } : { kind, maxTokens: raw.maxTokens, maxChars: raw.maxChars as number };
    }
    case 'category': {
      if (!Array.isArray(raw.values) || raw.values.length === 0 || raw.values.length > MAX_CATEGORY_VALUES) {
        return bad('values', `must be a list of 1 to ${MAX_CATEGORY_VALUES} declared values`, 'SCHEMA_BAD_VALUES');
      }
      const values: string[] = [];
      for (const value of raw.values as unknown[]) {
        if (typeof value !== 'string') return bad('values', 'each value must be a string', 'SCHEMA_BAD_VALUES');
        const trimmed = value.trim();
        if (trimmed.length === 0 || trimmed.length > MAX_CATEGORY_VALUE_LENGTH) return bad('values', `each value must be 1 to ${MAX_CATEGORY_VALUE_LENGTH} characters after trimming`, 'SCHEMA_BAD_VALUES');
        if (trimmed.includes('\u0000')) return bad('values', 'a value must not contain a NUL character', 'SCHEMA_BAD_VALUES');
        if (values.includes(trimmed)) return bad('values', `"${trimmed}" is declared twice`, 'SCHEMA_BAD_VALUES');
        values.push(trimmed);
      }
      return { kind, values };
    }
    case 'integer': {
      if (!isWhole(raw.min, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) return bad('min', 'must be an integer (at most 2^53 - 1 in size)');
      if (!isWhole(raw.max, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) return bad('max', 'must be an integer (at most 2^53 - 1 in size)');
      if (raw.min > raw.max) return bad('max', `must be at least min (${raw.min})`, 'SCHEMA_BAD_RANGE');
      return { kind, min: raw.min, max: raw.max };
    }
    case 'number': {
      if (typeof raw.min !== 'number' || !Number.isFinite(raw.min)) return bad('min', 'must be a finite number');
      if (typeof raw.max !== 'number' || !Number.isFinite(raw.max)) return bad('max', 'must be a finite number');
      if (raw.min > raw.max) return bad('max', `must be at least min (${raw.min})`, 'SCHEMA_BAD_RANGE');
      if (!isWhole(raw.decimals, 0, MAX_DECIMALS)) return bad('decimals', `must be an integer from 0 to ${MAX_DECIMALS}`);
      return { kind, min: raw.min, max: raw.max, decimals: raw.decimals };
    }
    default:
      return { kind: 'boolean' };
  }
}

/**
 * The schema with `values` declared in addition on the category field `fieldName` (a declared
 * value is never removed, so records imported before stay valid). Throws if the field is not a
 * category field of the schema: the caller checks that first.
 */
export function withCategoryValues(schema: RecordSchema, fieldName: string, values: readonly string[]): RecordSchema {
  return {
    ...schema,
    fields: schema.fields.map((field) => {
      if (field.name !== fieldName) return field;
      if (field.type.kind !== 'category') throw new Error(`${fieldName} is not a category field`);
      const merged = [...field.type.values, ...values.filter((value) => !(field.type as { values: readonly string[] }).values.includes(value))];
      return { ...field, type: { kind: 'category', values: merged } };
    }),
  };
}
