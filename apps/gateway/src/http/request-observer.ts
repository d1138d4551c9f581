import { type NextFunction, type Request, type Response } from 'express';
import { type SynthgateConfig } from '@synthgate/config';
import { createLogger, type SynthgateLogger } from '@synthgate/logging';
import { type GatewayMetrics } from '../metrics/gateway-metrics';
import { currentRequestId } from '../errors/request-context';

type ObservedRequest = Request & { requestId?: string; graphqlOperation?: string };

/** The gateway's logger: every line written while serving a request carries its `requestId`. */
export function createGatewayLogger(config: SynthgateConfig): SynthgateLogger {
  return createLogger({
    service: 'gateway',
    level: config.logLevel,
    pretty: config.logPretty,
    mixin: () => {
      const requestId = currentRequestId();
      return requestId ? { requestId } : {};
    },
  });
}

/**
 * The route pattern that served a request (`/datasets/:id/records`), for bounded metric labels;
 * `/graphql` for the API, `unmatched` for anything else (scanners must not mint label values).
 */
function routeOf(request: ObservedRequest, path: string): string {
  const pattern = (request.route as { path?: unknown } | undefined)?.path;
  if (typeof pattern === 'string') return pattern;
  return path === '/graphql' ? '/graphql' : 'unmatched';
}

const probes = new Set(['/health', '/metrics']);

/**
 * One log line and one metric observation per request, when its response ends or its connection
 * closes. What is logged is fixed: request id, method, route pattern, path without the query
 * string, status, duration and the GraphQL operation's root field. Never headers (the bearer
 * token), bodies (records, synthetic text, secrets of new tokens) or GraphQL variables.
 */
export function requestObserver(options: { logger: SynthgateLogger | null; metrics: GatewayMetrics }): (request: Request, response: Response, next: NextFunction) => void {
  return (request: ObservedRequest, response: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    // Mounted middleware (Apollo's) rewrites request.url; originalUrl stays. The query string is dropped.
    const path = request.originalUrl.split('?')[0] ?? '';
    let observed = false;
    const observe = () => {
      if (observed) return;
      observed = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(request, path);
      const status = response.writableFinished ? response.statusCode : 499;
      options.metrics.observeHttp(route, request.method, status, seconds);
      const logger = options.logger;
      if (!logger) return;
      const level = status >= 500 ? 'error' : probes.has(route) && status < 400 ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          context: 'Http',
          requestId: request.requestId,
          method: request.method,
          route,
          path,
          status,
          durationMs: Math.round(seconds * 1e4) / 10,
          ...(request.graphqlOperation ? { operation: request.graphqlOperation } : {}),
          ...(response.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    };
    response.once('finish', observe);
    response.once('close', observe);
    next();
  };
}
