import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

/** A Synthgate process's structured logger (pino): one JSON object per line on stdout. */
export type SynthgateLogger = Logger;

export interface LoggerOptions {
  /** `gateway`, `worker`, ...: the `service` field of every line. */
  readonly service: string;
  readonly level: LevelWithSilent;
  /** Human-readable lines instead of JSON (LOG_PRETTY), for a terminal. */
  readonly pretty: boolean;
  /** Where lines go (default: stdout, written synchronously so nothing is lost at exit). */
  readonly destination?: DestinationStream;
  /** Fields added to every line at the time it is written, e.g. the request id. */
  readonly mixin?: () => Record<string, unknown>;
}

/**
 * Field paths censored wherever they appear in a logged object. Defence in depth: Synthgate never
 * passes request bodies, headers, GraphQL variables, record or synthetic text, API tokens or
 * secrets to the logger in the first place (see test/observability.e2e-spec.ts).
 */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  '*.authorization',
  'headers',
  '*.headers',
  'cookie',
  '*.cookie',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'variables',
  '*.variables',
  'body',
  '*.body',
  'text',
  '*.text',
];

/** Creates a process's root logger; components log through children (`logger.child({ context })`). */
export function createLogger(options: LoggerOptions): SynthgateLogger {
  const destination = options.destination ?? (options.pretty ? prettyDestination(process.stdout) : pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level: options.level,
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      ...(options.mixin ? { mixin: options.mixin } : {}),
    },
    destination,
  );
}

const reserved = new Set(['time', 'level', 'msg', 'service', 'pid', 'context']);

/**
 * LOG_PRETTY: turns each JSON line back into `time level [context] message key=value ...`.
 * Written here rather than with pino-pretty, which is a development tool we do not ship.
 */
export function prettyDestination(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string): void {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
      const level = String(entry.level ?? '').toUpperCase().padEnd(5);
      const context = entry.context ? `[${String(entry.context)}] ` : '';
      const extras = Object.entries(entry)
        .filter(([key]) => !reserved.has(key))
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
      out.write(`${time} ${level} ${context}${String(entry.msg ?? '')}${extras.length ? ` ${extras.join(' ')}` : ''}\n`);
    },
  };
}
