import { fillPrompt, type GenerationModel, promptParts, type PromptValues } from '@synthgate/generation';
import { type BatchRecord } from '@synthgate/persistence';
import { type FieldValue, type RecordSchema } from '@synthgate/records';

/**
 * What a batch of a structured release (a dataset with a declared record schema) runs: each
 * record's prompt (the template's `{text}` is the record as one JSON object, and any `{field}` is
 * that field's value), the public prompt (the template after `{text}`, with the batch's condition
 * value), and the record constraint: the schema, with the condition field fixed to the batch's value.
 */
export interface StructuredBatch {
  readonly privatePrompts: string[];
  readonly publicPrompt: string;
  readonly record: { readonly schema: RecordSchema; readonly fixed: Readonly<Record<string, FieldValue>> };
  /** At least the release's `maxTokens` and the schema's bound, so that every record closes. */
  readonly maxNewTokens: number;
}

/** A field value as a prompt shows it: strings as they are, numbers and booleans as JSON, null as nothing. */
function promptValue(value: FieldValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Builds a structured batch. `label` is the batch's condition value (public: a declared proportion
 * or a DP count chose it), or null without a condition field. Each private prompt is cut to
 * `maxPromptTokens` by shortening its record's JSON only; the public prompt reads no record.
 */
export function structuredBatch(
  model: GenerationModel,
  schema: RecordSchema,
  templates: { readonly promptTemplate: string; readonly publicPromptTemplate: string },
  records: readonly BatchRecord[],
  label: string | null,
  limits: { readonly maxPromptTokens: number; readonly maxTokens: number },
): StructuredBatch {
  const condition = schema.conditionField;
  const publicValues: PromptValues = condition !== null && label !== null ? { label, [condition]: label } : { label };
  const privatePrompts = records.map((record) => {
    const values: Record<string, string | null> = { label: record.label };
    for (const field of schema.fields) {
      if (field.name !== 'text') values[field.name] = promptValue(record.values?.[field.name]);
    }
    return model.fitPrompt({ ...promptParts(templates.promptTemplate, values), text: record.text }, limits.maxPromptTokens);
  });
  return {
    privatePrompts,
    publicPrompt: fillPrompt(templates.publicPromptTemplate, publicValues),
    record: { schema, fixed: condition !== null && label !== null ? { [condition]: label } : {} },
    maxNewTokens: Math.max(limits.maxTokens, model.recordTokenBound(schema)),
  };
}
