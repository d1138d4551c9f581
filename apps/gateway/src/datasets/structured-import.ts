import { Transform, type TransformCallback } from 'node:stream';
import { type ImportedRecordValues } from '@synthgate/persistence';
import { recordJson, type RecordSchema, validateCsvHeader, validateRecord } from '@synthgate/records';
import { DomainError, type Problem } from '../gateway.errors';
import { type RawRow } from './import-streams';

/**
 * The import of a structured dataset: CSV columns and JSONL keys are the schema's fields, each
 * value is checked by its field's type (libs/records validateRecord), and a record is stored with
 * its typed values, its `text` as one JSON object in field order and its `label` as the condition
 * field's value (so releases partition it as they partition labelled records).
 */

/**
 * Turns CSV records (arrays) into rows keyed by column: the first record is the header, which must
 * name only fields of the schema, each once, and every required field.
 */
export class StructuredCsvRows extends Transform {
  private header: string[] | null = null;

  constructor(private readonly schema: RecordSchema) {
    super({ objectMode: true });
  }

  override _transform(chunk: { record: string[]; info: { lines: number } }, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { record, info } = chunk;
    if (this.header === null) {
      this.header = record.map((name, index) => (index === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
      const problems = validateCsvHeader(this.schema, this.header);
      if (problems.length > 0) return callback(structuredHeaderError(problems.map((problem) => ({ field: problem.field, line: 1, rule: problem.rule, code: problem.code }))));
      return callback();
    }
    if (record.length !== this.header.length) {
      this.push({ line: info.lines, parseError: `has ${record.length} fields; the header has ${this.header.length}` });
      return callback();
    }
    // No prototype: a column named like an Object property is an own key like any other.
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    this.header.forEach((column, index) => {
      fields[column] = record[index]!;
    });
    this.push({ line: info.lines, text: null, label: null, fields } satisfies RawRow);
    callback();
  }
}

function structuredHeaderError(problems: Problem[]): DomainError {
  const shown = problems.map((problem) => problem.rule).join('; ');
  return new DomainError('BAD_USER_INPUT', `line 1: ${shown}; nothing was imported`, { field: 'file', problems, problemCount: problems.length });
}

/**
 * Checks one structured row against the schema: its problems, each naming the line, the field and
 * the rule with a stable code (libs/records RecordProblemCode), or the values to store.
 */
export function checkStructuredRow(schema: RecordSchema, row: RawRow, source: 'csv' | 'json', defaultMaxChars: number): { problems: Problem[] } | { values: ImportedRecordValues } {
  const check = validateRecord(schema, row.fields ?? {}, { source, defaultMaxChars });
  if (!check.record) return { problems: check.problems.map((problem) => ({ field: problem.field, line: row.line, rule: problem.rule, code: problem.code })) };
  const label = schema.conditionField === null ? null : (check.record[schema.conditionField] as string);
  return { values: { text: recordJson(schema, check.record), label, values: check.record } };
}
