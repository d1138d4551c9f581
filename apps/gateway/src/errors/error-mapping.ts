import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { type AccessErrorCode } from '@synthgate/access';
import { type ConfigError } from '@synthgate/config';
import { type GenerationErrorCode } from '@synthgate/generation/catalog';
import { type PersistenceErrorCode } from '@synthgate/persistence';
import { type PrivacyErrorCode } from '@synthgate/privacy';
import { type GraphQLFormattedError } from 'graphql';
import { type ErrorCode } from '../gateway.errors';
import { currentRequestId } from './request-context';

/** What a caller is told about a failure, whichever transport it came through. */
export interface ClientError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly status: number;
  readonly extensions: Record<string, unknown>;
}

const statusByCode: Record<ErrorCode, number> = {
  BAD_USER_INPUT: HttpStatus.BAD_REQUEST,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  BUDGET_EXHAUSTED: HttpStatus.CONFLICT,
  CONFLICT: HttpStatus.CONFLICT,
  UNDECLARED_LABEL: HttpStatus.BAD_REQUEST,
  // The dataset's ledger failed verification: nothing is admitted until an operator repairs it.
  LEDGER_INVALID: HttpStatus.SERVICE_UNAVAILABLE,
  TOO_MANY_REQUESTS: HttpStatus.TOO_MANY_REQUESTS,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  TOO_MANY_IMPORTS: HttpStatus.TOO_MANY_REQUESTS,
  INTERNAL_SERVER_ERROR: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** Every `code` an error of ours may carry: the gateway's own and each library's. */
export type ThrownErrorCode = ErrorCode | AccessErrorCode | PersistenceErrorCode | PrivacyErrorCode | GenerationErrorCode | ConfigError['code'];

/**
 * What the caller sees for each code an error of ours may carry. `satisfies Record<...>` makes
 * this exhaustive at compile time: a code added to any library's `*.errors.ts` fails the
 * typecheck here until it is placed. Codes that mean "the server is not set up right" map to
 * INTERNAL_SERVER_ERROR on purpose: they are logged with the request id and say nothing more.
 */
const clientCodeOf = {
  // The gateway's own DomainError codes are already the caller's.
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  BUDGET_EXHAUSTED: 'BUDGET_EXHAUSTED',
  CONFLICT: 'CONFLICT',
  UNDECLARED_LABEL: 'UNDECLARED_LABEL',
  LEDGER_INVALID: 'LEDGER_INVALID',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  TOO_MANY_IMPORTS: 'TOO_MANY_IMPORTS',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // libs/access and libs/persistence use the caller's codes (UNAUTHENTICATED, FORBIDDEN,
  // NOT_FOUND; BAD_USER_INPUT, CONFLICT, NOT_FOUND, LEDGER_INVALID): listed above.
  // libs/privacy refuses inputs (a parameter, a cost, logits) that break a rule; the error names the field.
  INVALID_PRIVACY_PARAMETER: 'BAD_USER_INPUT',
  INVALID_LOGITS: 'BAD_USER_INPUT',
  INVALID_RELEASE_COST: 'BAD_USER_INPUT',
  // libs/generation: what the caller asked of a model (an argument, a batch, a length) is bad input.
  INVALID_GENERATION_INPUT: 'BAD_USER_INPUT',
  KV_CACHE_LIMIT_EXCEEDED: 'BAD_USER_INPUT',
  CONTEXT_LENGTH_EXCEEDED: 'BAD_USER_INPUT',
  // A broken or unusable model folder, or a machine that cannot run it, is the operator's to fix, not
  // the caller's: these messages name server paths and file contents, so they are logged, never shown.
  MODEL_FILE_MISSING: 'INTERNAL_SERVER_ERROR',
  MODEL_CONTRACT_VIOLATION: 'INTERNAL_SERVER_ERROR',
  MODEL_HASH_MISMATCH: 'INTERNAL_SERVER_ERROR',
  UNSUPPORTED_MODEL: 'INTERNAL_SERVER_ERROR',
  MODEL_FORMAT_INVALID: 'INTERNAL_SERVER_ERROR',
  MODEL_EXISTS: 'INTERNAL_SERVER_ERROR',
  EXECUTION_PROVIDER_UNAVAILABLE: 'INTERNAL_SERVER_ERROR',
  CHAT_TEMPLATE_UNAVAILABLE: 'INTERNAL_SERVER_ERROR',
  // libs/config: a process with bad configuration never serves a request; if one surfaces, it is ours.
  INVALID_CONFIG: 'INTERNAL_SERVER_ERROR',
} as const satisfies Record<ThrownErrorCode, ErrorCode>;

/**
 * GraphQL's own codes (Apollo's, for malformed documents and variables): the one list. The error
 * mapping passes them through unchanged; metrics label outcomes with them.
 */
export const graphqlOwnCodes: ReadonlySet<string> = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE']);

/** True for every code a caller can find in `extensions.code` or an HTTP error body. */
export function isClientCode(code: string): boolean {
  return Object.hasOwn(statusByCode, code) || graphqlOwnCodes.has(code);
}

const logger = new Logger('Errors');

/** The caller's code of an error of ours (any lib's or the gateway's), by its string `code`. */
function domainCode(error: unknown): ErrorCode | null {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && Object.hasOwn(clientCodeOf, error.code)) {
    return clientCodeOf[error.code as ThrownErrorCode];
  }
  return null;
}

/** What an error of ours adds to `extensions`: a DomainError's details, a PrivacyError's field. */
function domainExtensions(error: Error): Record<string, unknown> {
  if ('details' in error && typeof error.details === 'object' && error.details !== null) return { ...error.details };
  if ('field' in error && typeof error.field === 'string') return { field: error.field };
  return {};
}

function httpCode(status: number): ErrorCode | null {
  switch (status) {
    case 400:
      return 'BAD_USER_INPUT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'TOO_MANY_REQUESTS';
    default:
      return null;
  }
}

/**
 * The one mapping from thrown errors to stable codes. Domain errors keep their message and
 * details; anything unknown is logged with the request id and answered with no internals.
 */
export function toClientError(error: unknown): ClientError {
  const code = domainCode(error);
  if (code && code !== 'INTERNAL_SERVER_ERROR' && error instanceof Error) {
    return { code, message: error.message, status: statusByCode[code], extensions: domainExtensions(error) };
  }
  const status = code ? null : error instanceof HttpException ? error.getStatus() : bodyParserStatus(error);
  const mapped = status ? httpCode(status) : null;
  if (mapped) {
    const message = error instanceof HttpException ? error.message : (error as Error).message;
    return { code: mapped, message, status: statusByCode[mapped], extensions: {} };
  }
  const requestId = currentRequestId();
  logger.error(
    `unexpected error (request ${requestId ?? 'none'}): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return {
    code: 'INTERNAL_SERVER_ERROR',
    message: `internal error; quote request id ${requestId ?? 'unknown'} when reporting it`,
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    extensions: { requestId },
  };
}

/** Express body-parser errors carry `status` and `type` (e.g. entity.too.large). */
function bodyParserStatus(error: unknown): number | null {
  if (error && typeof error === 'object' && 'type' in error && 'status' in error && typeof error.status === 'number') {
    return error.status;
  }
  return null;
}

/** Variable coercion failures name the field in their message; Apollo gives them no useful code. */
function variableError(message: string): { field: string } | null {
  const invalid = /^Variable "\$[^"]+" got invalid value .* at "([^"]+)"/.exec(message);
  if (invalid) return { field: invalid[1]! };
  const missing = /^Variable "\$([^"]+)" (?:of required type .* was not provided|of non-null type .* must not be null|got invalid value)/.exec(message);
  return missing ? { field: missing[1]! } : null;
}

/** Apollo's `formatError`: every error leaves the API through here. */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const ownCode = formatted.extensions?.code;
  const variable = variableError(formatted.message);
  if (variable) {
    return { message: formatted.message, locations: formatted.locations, extensions: { code: 'BAD_USER_INPUT', field: variable.field } };
  }
  // Apollo's own errors (parse, validation, our complexity check) already carry a meaningful code;
  // resolver errors arrive as INTERNAL_SERVER_ERROR and are classified here.
  if (typeof ownCode === 'string' && graphqlOwnCodes.has(ownCode)) {
    const field = formatted.extensions?.field;
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ownCode, ...(typeof field === 'string' ? { field } : {}) },
    };
  }
  const original = (error as { originalError?: unknown } | null)?.originalError;
  const client = toClientError(original ?? error);
  return {
    message: client.message,
    locations: formatted.locations,
    path: formatted.path,
    extensions: { ...client.extensions, code: client.code },
  };
}
