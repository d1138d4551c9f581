/**
 * A dataset's declared record schema: public metadata, like column names. Every imported record is
 * checked against it (an import with any value outside it is refused whole), releases generate
 * records that satisfy it, and exports type their columns from it.
 *
 * The text-and-label datasets Synthgate started with are the special case
 * `{ text: text, label: category }` (see {@link textAndLabelSchema}).
 *
 * This library is pure (no I/O, nothing of ours imported) so that persistence, the gateway, the
 * worker and the constrained decoder in libs/generation share one definition.
 */

/** The type of one field. Ranges and declared values are part of the public schema. */
export type FieldType =
  /**
   * Free text of at most `maxTokens` tokens of the release's model (what generation may write).
   * `maxChars`, when set, bounds an imported value in characters (Unicode code points): an import
   * cannot count tokens, since the model is chosen per release, not per dataset. Without it an
   * import takes texts up to the gateway's IMPORT_MAX_RECORD_CHARS.
   */
  | { readonly kind: 'text'; readonly maxTokens: number; readonly maxChars?: number }
  /** One of the declared values, compared exactly (case and spacing included). */
  | { readonly kind: 'category'; readonly values: readonly string[] }
  /** A whole number in [min, max]. */
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  /** A finite number in [min, max], written with at most `decimals` digits after the point. */
  | { readonly kind: 'number'; readonly min: number; readonly max: number; readonly decimals: number }
  | { readonly kind: 'boolean' };

export type FieldKind = FieldType['kind'];

export interface FieldSpec {
  /** A JSON key and CSV column name: letters, digits and underscores, starting with a letter. */
  readonly name: string;
  readonly type: FieldType;
  /** An optional field may be missing or null in a record, and null in a synthetic one. */
  readonly optional: boolean;
}

export interface RecordSchema {
  /** In the order records are generated and exported. */
  readonly fields: readonly FieldSpec[];
  /**
   * The category field a release conditions each batch on (the label), or null. Batches are
   * formed within one value of it, and how many records each value gets is public or a DP count.
   */
  readonly conditionField: string | null;
}

export type FieldValue = string | number | boolean | null;

/** One record, keyed by field name; optional fields may be absent. */
export type StructuredRecord = Readonly<Record<string, FieldValue>>;

/**
 * The largest `maxTokens` of a text-and-label dataset's text field: the highest maxTokens a release
 * accepts, so the schema restricts nothing those datasets did before they had one.
 */
export const TEXT_AND_LABEL_MAX_TOKENS = 2048;

/** The schema of a text-and-label dataset: what every dataset created before schemas has. */
export function textAndLabelSchema(labels: readonly string[], maxTextTokens: number): RecordSchema {
  return {
    fields: [
      { name: 'text', type: { kind: 'text', maxTokens: maxTextTokens }, optional: false },
      { name: 'label', type: { kind: 'category', values: [...labels] }, optional: labels.length === 0 },
    ],
    conditionField: labels.length > 0 ? 'label' : null,
  };
}
