import { textAndLabelSchema, TEXT_AND_LABEL_MAX_TOKENS } from './record-schema';
import { validateRecordSchema, withCategoryValues } from './schema-validation';

const fields = [
  { name: 'message', type: { kind: 'text', maxTokens: 64 } },
  { name: 'product', type: { kind: 'category', values: [' router ', 'modem'] } },
  { name: 'priority', type: { kind: 'integer', min: 1, max: 5 }, optional: false },
  { name: 'score', type: { kind: 'number', min: 0, max: 1, decimals: 2 }, optional: true },
  { name: 'urgent', type: { kind: 'boolean' } },
];

function problems(input: unknown): string[] {
  return validateRecordSchema(input).problems.map((problem) => `${problem.path}:${problem.code}`);
}

describe('validateRecordSchema', () => {
  it('accepts a schema and normalises it (optional false, values trimmed, condition null)', () => {
    const result = validateRecordSchema({ fields });
    expect(result.problems).toEqual([]);
    expect(result.schema).toEqual({
      fields: [
        { name: 'message', type: { kind: 'text', maxTokens: 64 }, optional: false },
        { name: 'product', type: { kind: 'category', values: ['router', 'modem'] }, optional: false },
        { name: 'priority', type: { kind: 'integer', min: 1, max: 5 }, optional: false },
        { name: 'score', type: { kind: 'number', min: 0, max: 1, decimals: 2 }, optional: true },
        { name: 'urgent', type: { kind: 'boolean' }, optional: false },
      ],
      conditionField: null,
    });
  });

  it('accepts the text-and-label schema of every existing dataset', () => {
    expect(validateRecordSchema(textAndLabelSchema(['a', 'b'], TEXT_AND_LABEL_MAX_TOKENS)).problems).toEqual([]);
  });

  it.each<[string, unknown, string[]]>([
    ['a non-object', 'text', ['schema:SCHEMA_NOT_AN_OBJECT']],
    ['no fields', { fields: [] }, ['schema.fields:SCHEMA_NO_FIELDS']],
    ['an unknown schema property', { fields, labels: [] }, ['schema.labels:SCHEMA_UNKNOWN_PROPERTY']],
    ['a bad field name', { fields: [{ name: '1st', type: { kind: 'boolean' } }] }, ['schema.fields[0].name:SCHEMA_BAD_FIELD_NAME']],
    ['a field name with a dash', { fields: [{ name: 'a-b', type: { kind: 'boolean' } }] }, ['schema.fields[0].name:SCHEMA_BAD_FIELD_NAME']],
    ['a duplicate field', { fields: [fields[0], fields[0]] }, ['schema.fields[1].name:SCHEMA_DUPLICATE_FIELD']],
    ['an unknown kind', { fields: [{ name: 'a', type: { kind: 'date' } }] }, ['schema.fields[0].type.kind:SCHEMA_UNKNOWN_KIND']],
    ['a text without maxTokens', { fields: [{ name: 'a', type: { kind: 'text' } }] }, ['schema.fields[0].type.maxTokens:SCHEMA_BAD_BOUND']],
    ['a text with too many tokens', { fields: [{ name: 'a', type: { kind: 'text', maxTokens: 4096 } }] }, ['schema.fields[0].type.maxTokens:SCHEMA_BAD_BOUND']],
    ['a text with a bad maxChars', { fields: [{ name: 'a', type: { kind: 'text', maxTokens: 4, maxChars: 0 } }] }, ['schema.fields[0].type.maxChars:SCHEMA_BAD_BOUND']],
    ['a category with no values', { fields: [{ name: 'a', type: { kind: 'category', values: [] } }] }, ['schema.fields[0].type.values:SCHEMA_BAD_VALUES']],
    ['a category with a duplicate value', { fields: [{ name: 'a', type: { kind: 'category', values: ['x', ' x'] } }] }, ['schema.fields[0].type.values:SCHEMA_BAD_VALUES']],
    ['a category with an empty value', { fields: [{ name: 'a', type: { kind: 'category', values: [' '] } }] }, ['schema.fields[0].type.values:SCHEMA_BAD_VALUES']],
    ['an integer with min above max', { fields: [{ name: 'a', type: { kind: 'integer', min: 3, max: 2 } }] }, ['schema.fields[0].type.max:SCHEMA_BAD_RANGE']],
    ['an integer with a fractional bound', { fields: [{ name: 'a', type: { kind: 'integer', min: 0.5, max: 2 } }] }, ['schema.fields[0].type.min:SCHEMA_BAD_BOUND']],
    ['a number with an infinite bound', { fields: [{ name: 'a', type: { kind: 'number', min: 0, max: Infinity, decimals: 1 } }] }, ['schema.fields[0].type.max:SCHEMA_BAD_BOUND']],
    ['a number with bad decimals', { fields: [{ name: 'a', type: { kind: 'number', min: 0, max: 1, decimals: 16 } }] }, ['schema.fields[0].type.decimals:SCHEMA_BAD_BOUND']],
    ['a property of another kind', { fields: [{ name: 'a', type: { kind: 'boolean', values: ['x'] } }] }, ['schema.fields[0].type.values:SCHEMA_UNKNOWN_PROPERTY']],
    ['a non-boolean optional', { fields: [{ name: 'a', type: { kind: 'boolean' }, optional: 'yes' }] }, ['schema.fields[0].optional:SCHEMA_BAD_BOUND']],
    ['a condition on a missing field', { fields, conditionField: 'channel' }, ['schema.conditionField:SCHEMA_BAD_CONDITION']],
    ['a condition on a non-category field', { fields, conditionField: 'priority' }, ['schema.conditionField:SCHEMA_BAD_CONDITION']],
    ['a condition on an optional field', { fields: [{ name: 'a', type: { kind: 'category', values: ['x'] }, optional: true }], conditionField: 'a' }, ['schema.conditionField:SCHEMA_BAD_CONDITION']],
  ])('refuses %s, naming the path and a stable code', (_what, input, expected) => {
    const result = validateRecordSchema(input);
    expect(result.schema).toBeNull();
    expect(problems(input)).toEqual(expected);
  });

  it('accepts a required category as the condition field', () => {
    expect(validateRecordSchema({ fields, conditionField: 'product' }).schema?.conditionField).toBe('product');
  });
});

describe('withCategoryValues', () => {
  it('adds new values to one category field and keeps the declared ones', () => {
    const schema = validateRecordSchema({ fields }).schema!;
    const next = withCategoryValues(schema, 'product', ['modem', 'switch']);
    expect(next.fields[1]!.type).toEqual({ kind: 'category', values: ['router', 'modem', 'switch'] });
    expect(next.fields[0]).toBe(schema.fields[0]);
    expect(() => withCategoryValues(schema, 'priority', ['x'])).toThrow('not a category field');
  });
});
