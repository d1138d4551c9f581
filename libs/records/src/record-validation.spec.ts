import { type RecordSchema, textAndLabelSchema } from './record-schema';
import { fieldValue, recordJson, validateCsvHeader, validateRecord } from './record-validation';

const tickets: RecordSchema = {
  fields: [
    { name: 'message', type: { kind: 'text', maxTokens: 64, maxChars: 20 }, optional: false },
    { name: 'product', type: { kind: 'category', values: ['router', 'modem'] }, optional: false },
    { name: 'priority', type: { kind: 'integer', min: 1, max: 5 }, optional: false },
    { name: 'score', type: { kind: 'number', min: -1, max: 1, decimals: 2 }, optional: true },
    { name: 'urgent', type: { kind: 'boolean' }, optional: true },
    { name: 'note', type: { kind: 'text', maxTokens: 16 }, optional: true },
  ],
  conditionField: 'product',
};
const json = { source: 'json', defaultMaxChars: 50 } as const;
const csv = { source: 'csv', defaultMaxChars: 50 } as const;
const good = { message: 'no signal', product: 'router', priority: 3, score: 0.25, urgent: true, note: 'n' };

function codes(raw: Record<string, unknown>, options: typeof json | typeof csv = json): string[] {
  return validateRecord(tickets, raw, options).problems.map((problem) => `${problem.field}:${problem.code}`);
}

describe('validateRecord', () => {
  it('accepts a good JSON record and returns every field in schema order, missing optional ones as null', () => {
    const check = validateRecord(tickets, { priority: 2, product: ' modem ', message: 'hi' }, json);
    expect(check.problems).toEqual([]);
    expect(check.record).toEqual({ message: 'hi', product: 'modem', priority: 2, score: null, urgent: null, note: null });
    expect(Object.keys(check.record!)).toEqual(['message', 'product', 'priority', 'score', 'urgent', 'note']);
  });

  it('parses CSV cells by type: integers, decimals, booleans in any case, empty cells as missing', () => {
    const check = validateRecord(tickets, { message: 'a', product: 'router', priority: '+4', score: '-0.5', urgent: 'FALSE', note: '' }, csv);
    expect(check.record).toEqual({ message: 'a', product: 'router', priority: 4, score: -0.5, urgent: false, note: null });
  });

  it.each<[string, Record<string, unknown>, string[], typeof json | typeof csv]>([
    ['an undeclared category value', { ...good, product: 'switch' }, ['product:UNDECLARED_VALUE'], json],
    ['an integer above its range', { ...good, priority: 6 }, ['priority:OUT_OF_RANGE'], json],
    ['an integer below its range (CSV)', { ...good, priority: '0', score: '', urgent: '', note: '' }, ['priority:OUT_OF_RANGE'], csv],
    ['a fraction in an integer field', { ...good, priority: 2.5 }, ['priority:NOT_AN_INTEGER'], json],
    ['text in an integer field (CSV)', { ...good, priority: 'three', score: '', urgent: '', note: '' }, ['priority:NOT_AN_INTEGER'], csv],
    ['a string for an integer (JSON)', { ...good, priority: '3' }, ['priority:WRONG_TYPE'], json],
    ['a number out of range', { ...good, score: 1.5 }, ['score:OUT_OF_RANGE'], json],
    ['a number with too many decimals', { ...good, score: 0.125 }, ['score:TOO_MANY_DECIMALS'], json],
    ['text in a number field (CSV)', { ...good, priority: '3', score: '1e', urgent: '', note: '' }, ['score:NOT_A_NUMBER'], csv],
    ['a bad boolean (JSON)', { ...good, urgent: 'yes' }, ['urgent:NOT_A_BOOLEAN'], json],
    ['a bad boolean (CSV)', { ...good, priority: '3', score: '', urgent: '1', note: '' }, ['urgent:NOT_A_BOOLEAN'], csv],
    ['a missing required field', { product: 'router', priority: 1 }, ['message:MISSING_FIELD'], json],
    ['a null required field', { ...good, priority: null }, ['priority:MISSING_FIELD'], json],
    ['an empty required cell (CSV)', { ...good, priority: '', score: '', urgent: '', note: '' }, ['priority:MISSING_FIELD'], csv],
    ['an unknown key', { ...good, channel: 'email' }, ['channel:UNKNOWN_FIELD'], json],
    ['a text over its maxChars', { ...good, message: 'x'.repeat(21) }, ['message:TEXT_TOO_LONG'], json],
    ['a text over the default limit', { ...good, note: 'x'.repeat(51) }, ['note:TEXT_TOO_LONG'], json],
    ['an empty required text', { ...good, message: '   ' }, ['message:EMPTY_TEXT'], json],
    ['a NUL character', { ...good, message: 'a\u0000b' }, ['message:NUL_CHARACTER'], json],
    ['a lone surrogate in a text', { ...good, message: JSON.parse('"a\\ud800b"') as string }, ['message:INVALID_CHARACTER'], json],
    ['a lone low surrogate in a category', { ...good, product: JSON.parse('"\\udc00"') as string }, ['product:INVALID_CHARACTER'], json],
    ['a number for a text', { ...good, message: 5 }, ['message:WRONG_TYPE'], json],
    ['several problems at once', { message: 'ok', product: 'switch', priority: 9, extra: 1 }, ['extra:UNKNOWN_FIELD', 'product:UNDECLARED_VALUE', 'priority:OUT_OF_RANGE'], json],
  ])('refuses %s with a field-named problem and its code', (_what, raw, expected, options) => {
    expect(codes(raw, options)).toEqual(expected);
    const check = validateRecord(tickets, raw, options);
    expect(check.record).toBeNull();
    for (const problem of check.problems) expect(problem.rule).toContain(`"${problem.field}"`);
  });

  it('counts characters as code points, so a text of 20 emoji fits a maxChars of 20', () => {
    expect(codes({ ...good, message: '😀'.repeat(20) })).toEqual([]);
    expect(codes({ ...good, message: '😀'.repeat(21) })).toEqual(['message:TEXT_TOO_LONG']);
  });

  it('never quotes a text value in a rule (an error may reach a log)', () => {
    const check = validateRecord(tickets, { ...good, message: 'secret diagnosis that is too long' }, json);
    expect(check.problems[0]!.rule).not.toContain('secret');
  });

  it('reads a number as a category value, as labels always were', () => {
    const schema = textAndLabelSchema(['1', '2'], 64);
    expect(validateRecord(schema, { text: 'a', label: 2 }, json).record).toEqual({ text: 'a', label: '2' });
    expect(validateRecord(schema, { text: 'a', label: Infinity }, json).problems[0]!.code).toBe('WRONG_TYPE');
  });

  it('keeps exact boundaries: min and max are in range, decimals exactly at the limit pass', () => {
    expect(codes({ ...good, priority: 1, score: -1 })).toEqual([]);
    expect(codes({ ...good, priority: 5, score: 0.99 })).toEqual([]);
  });
});

describe('fields named like Object properties', () => {
  const schema: RecordSchema = {
    fields: [
      { name: 'constructor', type: { kind: 'integer', min: 0, max: 9 }, optional: true },
      { name: 'toString', type: { kind: 'text', maxTokens: 4 }, optional: false },
    ],
    conditionField: null,
  };

  it('never read the prototype: a missing one is missing, and the record JSON holds null', () => {
    expect(validateRecord(schema, { toString: 'x' }, json).record).toEqual({ constructor: null, toString: 'x' });
    expect(validateRecord(schema, {}, json).problems.map((p) => p.code)).toEqual(['MISSING_FIELD']);
    expect(recordJson(schema, { toString: 'x' })).toBe('{"constructor":null,"toString":"x"}');
    expect(fieldValue({}, 'constructor')).toBeNull();
  });
});

describe('validateCsvHeader', () => {
  it('accepts all columns, or the required ones alone', () => {
    expect(validateCsvHeader(tickets, ['message', 'product', 'priority', 'score', 'urgent', 'note'])).toEqual([]);
    expect(validateCsvHeader(tickets, ['priority', 'message', 'product'])).toEqual([]);
  });

  it('refuses unknown, duplicate and missing required columns, naming each', () => {
    expect(validateCsvHeader(tickets, ['message', 'message', 'channel', 'priority']).map((p) => `${p.field}:${p.code}`)).toEqual([
      'message:DUPLICATE_COLUMN',
      'channel:UNKNOWN_FIELD',
      'product:MISSING_FIELD',
    ]);
  });
});

describe('recordJson', () => {
  it('writes keys in schema order with null for missing optional values', () => {
    expect(recordJson(tickets, { priority: 2, product: 'modem', message: 'hi' })).toBe(
      '{"message":"hi","product":"modem","priority":2,"score":null,"urgent":null,"note":null}',
    );
  });
});
