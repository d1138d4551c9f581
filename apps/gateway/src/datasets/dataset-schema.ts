import { placeholdersOf, publicPromptTemplate, TEXT_PLACEHOLDER } from '@synthgate/generation/catalog';
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
  // {label} in a prompt is the condition value: a field named label must be that field.
  const label = schema.fields.findIndex((field) => field.name === 'label');
  if (label >= 0 && schema.conditionField !== null && schema.conditionField !== 'label') {
    const field = `input.schema.fields[${label}].name`;
    const rule = `"label" names the condition value in prompts ({label}); rename this field or make it the conditionField`;
    throw new DomainError('BAD_USER_INPUT', `${field}: ${rule}`, { field, problems: [{ field, rule, code: 'SCHEMA_BAD_FIELD_NAME' }], problemCount: 1 });
  }
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

/**
 * The placeholders a dataset's prompt may use besides `{text}`: `all` in a record's prompt, and
 * `public` in the public prompt, which is read with no record. `{label}` is the label, or a
 * structured dataset's condition value, both public per batch; a structured dataset's other
 * fields hold the record's own values (a field named `text` is reached through `{text}`, the
 * record as JSON), so they may only stand where the record does, before `{text}`.
 */
export interface PromptFields {
  readonly all: readonly string[];
  readonly public: readonly string[];
}

export function promptFields(dataset: { structured: boolean; labelField: string | null; recordSchema: RecordSchema }): PromptFields {
  const label = dataset.labelField !== null ? ['label'] : [];
  if (!dataset.structured) return { all: label, public: label };
  const condition = dataset.recordSchema.conditionField;
  const own = dataset.recordSchema.fields.map((field) => field.name).filter((name) => name !== 'text' && name !== 'label');
  const conditionNames = condition !== null ? ['label', ...(condition !== 'label' ? [condition] : [])] : [];
  return { all: [...new Set([...conditionNames, ...own])], public: conditionNames };
}

/** Why `part` (read with no record) uses a field that only a record has, or null. */
export function publicPlaceholderProblem(part: string, fields: PromptFields, where: string): string | null {
  const leak = placeholdersOf(part).find((name) => name !== 'text' && !fields.public.includes(name));
  if (leak === undefined) return null;
  return `uses {${leak}} ${where}, in the public prompt, which is read with no record; only ${fields.public.length > 0 ? fields.public.map((name) => `{${name}}`).join(' and ') : 'no field'} may stand there`;
}

/** The same rule for a chat prompt: every turn but the one holding `{text}` is public whole; that one after `{text}`. */
export function chatPublicPlaceholderProblem(turns: readonly { readonly content: string }[], fields: PromptFields): string | null {
  for (const turn of turns) {
    const holdsText = turn.content.includes(TEXT_PLACEHOLDER);
    const problem = publicPlaceholderProblem(holdsText ? publicPromptTemplate(turn.content) : turn.content, fields, holdsText ? 'after {text}' : 'in a turn without {text}');
    if (problem) return problem;
  }
  return null;
}
