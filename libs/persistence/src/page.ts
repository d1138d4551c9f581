import { type SelectQueryBuilder, type ObjectLiteral } from 'typeorm';
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

export function decodeCursor(cursor: string): (string | number)[] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string' || typeof v === 'number')) return parsed;
  } catch {
    // fall through
  }
  throw new PersistenceError('BAD_USER_INPUT', 'after: is not a cursor returned by this list');
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
    const values = decodeCursor(request.after);
    if (order.time) {
      if (values.length !== 2) throw new PersistenceError('BAD_USER_INPUT', 'after: is not a cursor returned by this list');
      query.andWhere(`(${order.time}, ${order.id}) ${comparator} (:cursorTime::timestamptz, :cursorId)`, {
        cursorTime: values[0],
        cursorId: values[1],
      });
    } else {
      if (values.length !== 1) throw new PersistenceError('BAD_USER_INPUT', 'after: is not a cursor returned by this list');
      query.andWhere(`${order.id} ${comparator} :cursorId`, { cursorId: values[0] });
    }
  }
  if (order.time) query.orderBy(order.time, direction).addOrderBy(order.id, direction);
  else query.orderBy(order.id, direction);
  const rows = await query.take(request.first + 1).getMany();
  const items = rows.slice(0, request.first);
  const cursors = items.map((row) => encodeCursor(key(row)));
  return { items, hasNextPage: rows.length > request.first, endCursor: cursors.at(-1) ?? null, cursors };
}
