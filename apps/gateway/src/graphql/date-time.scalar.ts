import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const RULE = 'must be an ISO 8601 date-time with a time zone, such as 2026-01-31T12:00:00Z, or a date such as 2026-01-31';

/** Parses a DateTime input strictly; anything else is a GraphQLError (answered 400 BAD_USER_INPUT). */
export function parseDateTime(value: unknown): Date {
  // Already coerced (a variable inside an input object can be coerced twice: once for the
  // complexity estimate, once for execution).
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new GraphQLError(`DateTime ${RULE}`);
    return value;
  }
  const match = typeof value === 'string' ? ISO_DATE_TIME.exec(value) : null;
  if (!match) throw new GraphQLError(`DateTime ${RULE}`);
  const [, year, month, day, hour] = match.map(Number) as number[];
  // Date would read 2026-02-31 as March 3rd: the day must exist in its month.
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  const date = new Date(match[4] === undefined ? `${match[0]}T00:00:00Z` : match[0]);
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth || hour! > 23 || Number.isNaN(date.getTime())) {
    throw new GraphQLError(`DateTime ${RULE}`);
  }
  return date;
}

/**
 * `DateTime`, strict: @nestjs/graphql's own scalar turns any string into a Date, so
 * `since: "yesterday"` became an Invalid Date that reached PostgreSQL as an internal error.
 */
export const GraphQLDateTime = new GraphQLScalarType({
  name: 'DateTime',
  description: 'A date-time string with a time zone, such as 2026-01-31T12:00:00Z (output is always UTC).',
  serialize: (value) => (value instanceof Date ? value.toISOString() : null),
  parseValue: parseDateTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError(`DateTime ${RULE}`);
    return parseDateTime(ast.value);
  },
});
