import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { type Response } from 'express';
import { toClientError } from './error-mapping';

/**
 * REST routes answer errors as `{ error: { code, message, ... } }` with the matching status.
 * GraphQL errors are rethrown for Apollo's formatError, which uses the same mapping.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): unknown {
    if (host.getType<string>() !== 'http') return exception;
    const response = host.switchToHttp().getResponse<Response>();
    const client = toClientError(exception);
    if (response.headersSent) {
      response.destroy();
      return undefined;
    }
    response.status(client.status).json({ error: { code: client.code, message: client.message, ...client.extensions } });
    return undefined;
  }
}
