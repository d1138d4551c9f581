import { type RecordSchema, TEXT_AND_LABEL_MAX_TOKENS, textAndLabelSchema, validateRecordSchema, withCategoryValues } from '@synthgate/records';
import { DomainError } from '../gateway.errors';
import { type RecordSchemaInput, schemaDefinition } from './record-schema.types';

export const DEFAULT_CONDITIONED_RECORD_TEMPLATE = 'Here is a record about {label}: {text}\n\nHere is another record about {label}:';
export const DEFAULT_RECORD_TEMPLATE = 'Here is a record: {text}\n\nHere is another record:';

/** How a dataset's records are shaped: its schema and the columns the release machinery reads. */
export interface DeclaredShape {
  readonly recordSchema: RecordSchema;
  readonly structured: boolean;
  /** A structured dataset: its first text field (else its first field), shown as textField. */
  readonly textField: string;
  /** A structured dataset: its condition field, whose values are its labels. */
  readonly labelField: string | null;
  /** Sorted. */
  readonly labels: string[];
}

/**
 * The shape of a dataset declared with a schema of its own (`input.schema`). Its records are
 * stored with typed values; their `text` is the record as one JSON object (what `{text}` places in
 * a prompt) and their `label` the condition field's value (what `{label}` places, and what
 * batches are formed within), so releases read them as they read text-and-label records.
 */
export function structuredShape(input: RecordSchemaInput): DeclaredShape {
  const result = validateRecordSchema(schemaDefinition(input));
  if (!result.schema) {
    const problems = result.problems.map((problem) => ({ field: `input.${problem.path}`, rule: problem.rule, code: problem.code }));
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length === 2 ? '' : 's'})` : '';
    throw new DomainError('BAD_USER_INPUT', `${first.field}: ${first.rule}${more}`, { field: first.field, problems, problemCount: problems.length });
  }
  const schema = result.schema;
  const condition = schema.fields.find((field) => field.name === schema.conditionField);
  const text = schema.fields.find((field) => field.type.kind === 'text') ?? schema.fields[0]!;
  return {
    recordSchema: schema,
    structured: true,
    textField: text.name,
    labelField: condition?.name ?? null,
    labels: condition && condition.type.kind === 'category' ? [...condition.type.values].sort() : [],
  };
}

/** The shape of a text-and-label dataset (the `labels` shorthand): the schema every dataset had before schemas. */
export function textAndLabelShape(textField: string, labelField: string | null, labels: readonly string[]): DeclaredShape {
  const sorted = [...labels].sort();
  return { recordSchema: textAndLabelSchema(sorted, TEXT_AND_LABEL_MAX_TOKENS), structured: false, textField, labelField, labels: sorted };
}

/** The schema after declaring `added` labels: the condition field's values of a structured dataset, else the label field's. */
export function schemaWithLabels(dataset: { structured: boolean; recordSchema: RecordSchema }, labels: readonly string[], added: readonly string[]): RecordSchema {
  if (!dataset.structured) return textAndLabelSchema(labels, TEXT_AND_LABEL_MAX_TOKENS);
  return withCategoryValues(dataset.recordSchema, dataset.recordSchema.conditionField!, added);
}
