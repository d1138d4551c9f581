import { type SelectQueryBuilder, type ObjectLiteral } from 'typeorm';
import { isUuid } from './ids';
import { PersistenceError } from './persistence.errors';

/** One page of a keyset-paginated list. Cursors are opaque to callers. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
  readonly cursors: readonly string[];
}

export interface PageRequest {
  readonly first: number;
  readonly after?: string | null;
}

/**
 * Row order of a keyset page: a timestamp column, then a unique tiebreaker column. Timestamp
 * columns are `timestamptz(3)`, so a JavaScript Date carries a cursor's time exactly.
 */
export interface KeysetOrder {
  readonly time?: string;
  readonly id: string;
  readonly direction?: 'ASC' | 'DESC';
}

export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

const notACursor = (): PersistenceError => new PersistenceError('BAD_USER_INPUT', 'after: is not a cursor returned by this list');

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A bigint or integer id as a cursor holds it: digits, within PostgreSQL's bigint. */
const INTEGER_ID = /^(0|[1-9]\d{0,18})$/;

/** A time as a cursor holds it: `toISOString()` of a real instant PostgreSQL can store (year 1 on). */
function cursorTime(text: string): boolean {
  if (!CURSOR_TIME.test(text) || text.startsWith('0000')) return false;
  const time = Date.parse(text);
  return !Number.isNaN(time) && new Date(time).toISOString() === text;
}

function integerId(value: string | number): boolean {
  const text = String(value);
  return INTEGER_ID.test(text) && BigInt(text) <= 9_223_372_036_854_775_807n;
}

export function decodeCursor(cursor: string): (string | number)[] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string' || typeof v === 'number')) return parsed;
  } catch {
    // fall through
  }
  throw notACursor();
}

/**
 * The cursor's values, checked against the shape this list writes: `[time, uuid]` for lists in
 * time order (their ids are uuids), `[integer]` for lists in id order (their ids are bigint
 * sequences or ordinals). A crafted cursor is BAD_USER_INPUT here and never reaches PostgreSQL,
 * where a malformed timestamp or id became an internal error with the cursor in the log.
 */
export function cursorValues(cursor: string, order: KeysetOrder): (string | number)[] {
  const values = decodeCursor(cursor);
  if (order.time) {
    const [time, id] = values;
    const valid =
      values.length === 2 && typeof time === 'string' && cursorTime(time) && typeof id === 'string' && isUuid(id);
    if (!valid) throw notACursor();
  } else if (values.length !== 1 || !integerId(values[0]!)) {
    throw notACursor();
  }
  return values;
}

/**
 * Runs a keyset-paginated query: fetches `first + 1` rows after the cursor to learn whether a
 * next page exists. `key` extracts the ordering values from a row.
 */
export async function keysetPage<T extends ObjectLiteral>(
  query: SelectQueryBuilder<T>,
  order: KeysetOrder,
  request: PageRequest,
  key: (row: T) => (string | number)[],
): Promise<Page<T>> {
  const direction = order.direction ?? 'ASC';
  const comparator = direction === 'ASC' ? '>' : '<';
  if (request.after) {
    const values = cursorValues(request.after, order);
    if (order.time) {
      query.andWhere(`(${order.time}, ${order.id}) ${comparator} (:cursorTime::timestamptz, :cursorId)`, {
        cursorTime: values[0],
        cursorId: values[1],
      });
    } else {
      // bigint: the cursor may be checked against an integer or a bigint column alike.
      query.andWhere(`${order.id} ${comparator} :cursorId::bigint`, { cursorId: String(values[0]) });
    }
  }
  if (order.time) query.orderBy(order.time, direction).addOrderBy(order.id, direction);
  else query.orderBy(order.id, direction);
  const rows = await query.take(request.first + 1).getMany();
  const items = rows.slice(0, request.first);
  const cursors = items.map((row) => encodeCursor(key(row)));
  return { items, hasNextPage: rows.length > request.first, endCursor: cursors.at(-1) ?? null, cursors };
}
