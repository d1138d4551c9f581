const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids of most tables are UUIDs. A string that is not one cannot name a row, and must not reach
 * PostgreSQL as a uuid parameter (it would fail there, as an internal error, instead of NOT_FOUND).
 */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
