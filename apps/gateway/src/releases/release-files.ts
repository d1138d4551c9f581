import { type SyntheticRecordEntity } from '@synthgate/persistence';
import { type FieldSpec, type FieldValue, fieldValue, type RecordSchema, type StructuredRecord } from '@synthgate/records';
import { type ColumnSource } from 'hyparquet-writer';
// hyparquet-writer is ESM only: Node (20.19 and later) require()s it, jest transforms it (jest.config.js).
import { parquetWriteBuffer } from 'hyparquet-writer';

/**
 * The files a release exports, one column per field of its schema: JSON Lines, CSV and Parquet
 * (typed columns). Pure functions of the schema and the records.
 */

/** One synthetic record as exports read it: its values by field name (a text-and-label one: text and label). */
export interface ExportedRecord {
  readonly ordinal: number;
  readonly values: StructuredRecord;
}

/**
 * A stored synthetic record's values: its typed values; a text-and-label record's text and label;
 * for a structured record stored without values, its text read as the JSON object it should be
 * (nothing, if it is not one: exports then show its fields as null, and Parquet refuses it).
 */
export function recordValues(record: Pick<SyntheticRecordEntity, 'text' | 'label' | 'values'>, structured: boolean): StructuredRecord {
  if (record.values) return record.values;
  if (!structured) return { text: record.text, label: record.label };
  try {
    const parsed: unknown = JSON.parse(record.text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as StructuredRecord) : {};
  } catch {
    return {};
  }
}

/** The values of a record in schema order, a missing optional value as null. */
function ordered(schema: RecordSchema, values: StructuredRecord): Record<string, FieldValue> {
  const row: Record<string, FieldValue> = {};
  for (const field of schema.fields) row[field.name] = fieldValue(values, field.name);
  return row;
}

/** One JSON Lines line: an object with the schema's fields in order. */
export function jsonLine(schema: RecordSchema, values: StructuredRecord): string {
  return `${JSON.stringify(ordered(schema, values))}\n`;
}

/** A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The CSV header: one column per field, in schema order. */
export function csvHeader(schema: RecordSchema): string {
  return `${schema.fields.map((field) => csvField(field.name)).join(',')}\n`;
}

/** One CSV line: null as an empty cell, booleans as true/false, numbers as JavaScript writes them. */
export function csvLine(schema: RecordSchema, values: StructuredRecord): string {
  return `${schema.fields.map((field) => csvField(cell(fieldValue(values, field.name)))).join(',')}\n`;
}

function cell(value: FieldValue): string | null {
  return value === null ? null : String(value);
}

/** The Parquet type of a field: text and category UTF8 strings, integer INT64, number DOUBLE, boolean BOOLEAN. */
export function parquetType(field: FieldSpec): 'STRING' | 'INT64' | 'DOUBLE' | 'BOOLEAN' {
  switch (field.type.kind) {
    case 'text':
    case 'category':
      return 'STRING';
    case 'integer':
      return 'INT64';
    case 'number':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
  }
}

/**
 * The records as one Parquet file: a column per field, typed by the schema, OPTIONAL (nullable)
 * exactly for optional fields. A value that does not fit its column (a record written before its
 * schema allowed it) throws rather than being written wrong. There must be at least one record:
 * hyparquet-writer 0.17 writes a file of no rows that arrow-rs (parquet-wasm) cannot read (its
 * empty row-group list is typed as bytes), so callers refuse that case first.
 */
export function parquetFile(schema: RecordSchema, records: readonly ExportedRecord[]): Uint8Array {
  if (records.length === 0) throw new Error('a Parquet export needs at least one record');
  const columnData: ColumnSource[] = schema.fields.map((field) => {
    const type = parquetType(field);
    const data = records.map((record) => parquetValue(field, type, fieldValue(record.values, field.name)));
    return { name: field.name, type, nullable: field.optional, data };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData, createdBy: 'synthgate' }));
}

function parquetValue(field: FieldSpec, type: ReturnType<typeof parquetType>, value: FieldValue): string | bigint | number | boolean | null {
  if (value === null) {
    if (!field.optional) throw new Error(`field ${field.name}: a required value is missing`);
    return null;
  }
  switch (type) {
    case 'STRING':
      if (typeof value !== 'string') throw new Error(`field ${field.name}: expected a string`);
      return value;
    case 'INT64':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`field ${field.name}: expected a whole number`);
      return BigInt(value);
    case 'DOUBLE':
      if (typeof value !== 'number') throw new Error(`field ${field.name}: expected a number`);
      return value;
    case 'BOOLEAN':
      if (typeof value !== 'boolean') throw new Error(`field ${field.name}: expected true or false`);
      return value;
  }
}
