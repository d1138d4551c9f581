/**
 * @synthgate/logging: structured JSON logs (pino) for every Synthgate process, with a Nest adapter.
 *
 * ```ts
 * const logger = createLogger({ service: 'worker', level: config.logLevel, pretty: config.logPretty });
 * const app = await NestFactory.createApplicationContext(module, { logger: new NestPinoLogger(logger) });
 * ```
 * What must never reach a log (record and synthetic text, API tokens, secrets, request bodies,
 * GraphQL variables) is never passed to it; {@link REDACTED_PATHS} censors those field names anyway.
 */
export { createLogger, type LoggerOptions, prettyDestination, REDACTED_PATHS, type SynthgateLogger } from './logger';
export { NestPinoLogger } from './nest-logger';
