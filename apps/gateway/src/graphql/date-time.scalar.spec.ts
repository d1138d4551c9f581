import { parseDateTime } from './date-time.scalar';

describe('DateTime scalar', () => {
  it.each([
    ['2026-01-31T12:00:00Z', '2026-01-31T12:00:00.000Z'],
    ['2026-01-31T12:00:00.123Z', '2026-01-31T12:00:00.123Z'],
    ['2026-01-31T12:00+02:00', '2026-01-31T10:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (input, iso) => {
    expect(parseDateTime(input).toISOString()).toBe(iso);
  });

  it.each(['yesterday', '', '2026-02-30', '2025-02-29', '2026-13-01', '2026-01-31T24:00:00Z', '2026-01-31T12:00:00', '2026-01-31 12:00:00Z', '1e10', 17, null, {}])(
    'refuses %p',
    (input) => {
      expect(() => parseDateTime(input)).toThrow('DateTime must be an ISO 8601 date-time with a time zone');
    },
  );

  it('takes a value already coerced to a valid Date (a variable coerced twice), and refuses an invalid one', () => {
    const date = new Date('2000-01-01T00:00:00.000Z');
    expect(parseDateTime(date)).toBe(date);
    expect(() => parseDateTime(new Date('nonsense'))).toThrow('DateTime must be an ISO 8601 date-time with a time zone');
  });
});
