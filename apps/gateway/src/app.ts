import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { type SynthgateConfig } from '@synthgate/config';
import { NestPinoLogger, type SynthgateLogger } from '@synthgate/logging';
import { type Database } from '@synthgate/persistence';
import helmet from 'helmet';
import { consoleMiddleware, findConsoleDir } from './console/console.middleware';
import { GatewayModule } from './gateway.module';
import { requestContextMiddleware } from './errors/request-context';
import { createGatewayLogger, requestObserver } from './http/request-observer';
import { GatewayMetrics } from './metrics/gateway-metrics';

/**
 * Builds the gateway exactly as it serves: request ids, a log line and metrics per request,
 * security headers, a JSON body limit for GraphQL (imports stream their own bodies). `main.ts`
 * and the e2e tests both use this; `main.ts` owns shutdown. `logger`: the JSON logger (made from
 * the configuration when not given); false logs nothing (tests).
 */
export async function createGatewayApp(config: SynthgateConfig, database: Database, logger?: SynthgateLogger | false): Promise<INestApplication> {
  const log = logger === undefined ? createGatewayLogger(config) : logger;
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config, database), {
    bodyParser: false,
    logger: log ? new NestPinoLogger(log) : false,
    abortOnError: false,
  });
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  app.use(requestContextMiddleware);
  app.use(requestObserver({ logger: log || null, metrics: app.get(GatewayMetrics) }));
  app.use(helmet());
  app.use('/console', consoleMiddleware(findConsoleDir()));
  app.useBodyParser('json', { limit: config.httpBodyLimit });
  return app;
}
