import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { type GraphQLFormattedError } from 'graphql';
import { currentRequestId } from '../http/request-context';
import { type ErrorCode, errorCodes } from '../gateway.errors';

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

const logger = new Logger('Errors');

/** Errors of every lib carry a string `code`; these are the ones callers may see. */
function domainCode(error: unknown): ErrorCode | null {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && errorCodes.has(error.code)) {
    return error.code as ErrorCode;
  }
  return null;
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
  if (code && error instanceof Error) {
    const details = 'details' in error && typeof error.details === 'object' && error.details !== null ? error.details : {};
    return { code, message: error.message, status: statusByCode[code], extensions: { ...details } };
  }
  const status = error instanceof HttpException ? error.getStatus() : bodyParserStatus(error);
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

/** GraphQL's own codes for malformed documents and variables pass through unchanged. */
const graphqlOwnCodes = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE']);

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
