import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { type NextFunction, type Request, type Response } from 'express';

interface RequestContextValue {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContextValue>();

const incomingId = /^[A-Za-z0-9._-]{8,128}$/;

/** The id of the request being served, for audit events and logs; null outside a request. */
export function currentRequestId(): string | null {
  return storage.getStore()?.requestId ?? null;
}

/**
 * Gives every request an id (a well-formed incoming `x-request-id`, else a new UUID), echoes it in
 * the response, and makes it available to everything the request runs.
 */
export function requestContextMiddleware(request: Request, response: Response, next: NextFunction): void {
  const header = request.headers['x-request-id'];
  const requestId = typeof header === 'string' && incomingId.test(header) ? header : randomUUID();
  (request as Request & { requestId?: string }).requestId = requestId;
  response.setHeader('x-request-id', requestId);
  storage.run({ requestId }, next);
}
