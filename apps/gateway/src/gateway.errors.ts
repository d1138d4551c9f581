import { type RecordProblemCode, type SchemaProblemCode } from '@synthgate/records';

/** The stable codes clients see in `extensions.code` (DESIGN.md section 7). */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'BUDGET_EXHAUSTED'
  | 'CONFLICT'
  | 'UNDECLARED_LABEL'
  | 'LEDGER_INVALID'
  | 'TOO_MANY_REQUESTS'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_IMPORTS'
  | 'INTERNAL_SERVER_ERROR';

/** One problem of a bad input: the field (or file line) and the rule it breaks. */
export interface Problem {
  readonly field: string;
  readonly rule: string;
  readonly line?: number;
  /**
   * Set when the problem has a code of its own: an import's UNDECLARED_LABEL, a structured
   * record's rule (libs/records RecordProblemCode) or a declared schema's (SchemaProblemCode).
   */
  readonly code?: ErrorCode | RecordProblemCode | SchemaProblemCode;
}

/**
 * A failure the caller can act on. Services throw these (never HTTP exceptions); the gateway's
 * one error mapping turns `code` into `extensions.code` and an HTTP status.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { readonly field?: string; readonly problems?: readonly Problem[]; readonly problemCount?: number } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  /** `field: rule`, e.g. `badInput('budget.delta', 'must be below 1')`. */
  static badInput(field: string, rule: string): DomainError {
    return new DomainError('BAD_USER_INPUT', `${field}: ${rule}`, { field });
  }

  static notFound(what: string, id: string): DomainError {
    return new DomainError('NOT_FOUND', `${what} ${id} was not found`);
  }

  static conflict(message: string): DomainError {
    return new DomainError('CONFLICT', message);
  }
}
