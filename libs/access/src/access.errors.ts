/** Stable codes the gateway maps to `extensions.code`. */
export type AccessErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';

/**
 * An access decision. Something the caller may not see is NOT_FOUND, never FORBIDDEN, so that
 * its existence does not leak.
 */
export class AccessError extends Error {
  constructor(
    readonly code: AccessErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AccessError';
  }

  static unauthenticated(message = 'a valid API token is required (Authorization: Bearer <token>)'): AccessError {
    return new AccessError('UNAUTHENTICATED', message);
  }

  static forbidden(message = 'your role may not do this'): AccessError {
    return new AccessError('FORBIDDEN', message);
  }

  static notFound(what: string, id: string): AccessError {
    return new AccessError('NOT_FOUND', `${what} ${id} was not found`);
  }
}
