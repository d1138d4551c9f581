import { type RecordSchema } from '@synthgate/records';
import { fieldBuckets, movieRecord, movieSchema, parseTaggedLine, slotsInText, totalVariation } from './mit-movies';

describe('the MIT Movies structured task', () => {
  const line = 'what:O 1968:B-Year british:B-Genre horror:I-Genre film:O starring:O vincent:B-Actor price:I-Actor <=> <NULL>';

  it('reads a BIO-tagged query into its words and first span of each slot', () => {
    const parsed = parseTaggedLine(line);
    expect(parsed.query).toBe('what 1968 british horror film starring vincent price');
    expect(Object.fromEntries(parsed.slots)).toEqual({ Year: '1968', Genre: 'british horror', Actor: 'vincent price' });
  });

  it('maps a query to a record of the declared schema (undeclared genre: other; no year in range: null)', () => {
    const schema: RecordSchema = movieSchema([parseTaggedLine('a:O comedy:B-Genre <=> <NULL>'), parseTaggedLine('b:O comedy:B-Genre <=> <NULL>'), parseTaggedLine('c:O horror:B-Genre <=> <NULL>')], 1);
    expect(schema.fields.find((f) => f.name === 'genre')!.type).toEqual({ kind: 'category', values: ['comedy', 'other', 'none'] });
    expect(movieRecord(schema, parseTaggedLine(line))).toEqual({ query: 'what 1968 british horror film starring vincent price', genre: 'other', year: 1968, director: null, actor: 'vincent price' });
    expect(movieRecord(schema, parseTaggedLine('the:O 80s:B-Year <=> <NULL>'))).toMatchObject({ genre: 'none', year: null });
  });

  it('measures total variation exactly, buckets fields, and finds slot values in the query', () => {
    expect(totalVariation(['a', 'a', 'b', 'b'], ['a', 'b', 'b', 'b'])).toBeCloseTo(0.25, 12);
    expect(totalVariation(['a'], ['b'])).toBe(1);
    expect(fieldBuckets({ query: 'a b c', genre: 'comedy', year: 1968, director: null, actor: 'x' })).toEqual({ query: '1-6 words', genre: 'comedy', year: '1960s', director: 'null', actor: 'present' });
    expect(slotsInText({ query: 'a 1968 film with Vincent Price', genre: 'other', year: 1968, director: 'kubrick', actor: 'vincent price' })).toEqual([2, 3]);
  });
});
