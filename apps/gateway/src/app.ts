import { type INestApplication, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { type SynthgateConfig } from '@synthgate/config';
import { type Database } from '@synthgate/persistence';
import helmet from 'helmet';
import { GatewayModule } from './gateway.module';
import { requestContextMiddleware } from './http/request-context';

/**
 * Builds the gateway exactly as it serves: request ids, security headers, a JSON body limit for
 * GraphQL (imports stream their own bodies). `main.ts` and the e2e tests both use this;
 * `main.ts` owns shutdown.
 */
export async function createGatewayApp(config: SynthgateConfig, database: Database, logger?: LoggerService | false): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config, database), {
    bodyParser: false,
    logger: logger === undefined ? undefined : logger,
    abortOnError: false,
  });
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  app.use(requestContextMiddleware);
  app.use(helmet());
  app.useBodyParser('json', { limit: config.httpBodyLimit });
  return app;
}
