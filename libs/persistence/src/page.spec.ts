import { cursorValues, encodeCursor } from './page';

const timeOrder = { time: 'd.created_at', id: 'd.id' };
const idOrder = { id: 'r.id' };
const uuid = '4b0f6f0e-8a3c-4d3a-9c55-6f1b2a7d9e01';
const raw = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('cursorValues', () => {
  it('accepts the cursors the lists write', () => {
    expect(cursorValues(encodeCursor(['2026-01-31T12:00:00.123Z', uuid]), timeOrder)).toEqual(['2026-01-31T12:00:00.123Z', uuid]);
    expect(cursorValues(encodeCursor(['9223372036854775807']), idOrder)).toEqual(['9223372036854775807']);
    expect(cursorValues(encodeCursor([42]), idOrder)).toEqual([42]);
  });

  it.each([
    ['not base64 JSON', 'yesterday', timeOrder],
    ['a JSON object', raw('{"a":1}'), timeOrder],
    ['a time that is not one', encodeCursor(['yesterday', uuid]), timeOrder],
    ['a 31st of February', encodeCursor(['2026-02-31T00:00:00.000Z', uuid]), timeOrder],
    ['year 0', encodeCursor(['0000-01-01T00:00:00.000Z', uuid]), timeOrder],
    ['an id that is not a uuid', encodeCursor(['2026-01-31T12:00:00.123Z', "x' OR 1=1 --"]), timeOrder],
    ['one value where two belong', encodeCursor([uuid]), timeOrder],
    ['a negative id', encodeCursor([-1]), idOrder],
    ['a fractional id', encodeCursor([1.5]), idOrder],
    ['an id beyond bigint', encodeCursor(['9223372036854775808']), idOrder],
    ['an id with a leading zero', encodeCursor(['007']), idOrder],
    ['a time cursor on an id list', encodeCursor(['2026-01-31T12:00:00.123Z', uuid]), idOrder],
  ])('refuses %s as BAD_USER_INPUT naming after', (_, cursor, order) => {
    expect(() => cursorValues(cursor, order)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'after: is not a cursor returned by this list' }));
  });
});
