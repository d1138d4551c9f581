export type PersistenceErrorCode = 'BAD_USER_INPUT' | 'CONFLICT' | 'NOT_FOUND' | 'LEDGER_INVALID';

/** A database outcome callers must handle: a stale cursor, a unique conflict, a missing row. */
export class PersistenceError extends Error {
  constructor(
    readonly code: PersistenceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PersistenceError';
  }
}

/** True for PostgreSQL's unique_violation (23505), optionally on one named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } } | null)?.driverError ?? error;
  const { code, constraint: violated } = (driverError ?? {}) as { code?: string; constraint?: string };
  return code === '23505' && (constraint === undefined || violated === constraint);
}
