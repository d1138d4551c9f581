import { createLogger, prettyDestination } from './logger';
import { NestPinoLogger } from './nest-logger';

function capture(): { lines: Record<string, unknown>[]; destination: { write(line: string): void } } {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

describe('createLogger', () => {
  it('writes one JSON object per line with service, level label, ISO time and mixin fields', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'gateway', level: 'info', pretty: false, destination, mixin: () => ({ requestId: 'r-1' }) });
    logger.info({ context: 'Test' }, 'hello');
    logger.debug('not written at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'gateway', level: 'info', msg: 'hello', context: 'Test', requestId: 'r-1' });
    expect(String(lines[0]!.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('censors authorization, secrets, tokens, bodies, variables and text wherever a caller passes them', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'gateway', level: 'trace', pretty: false, destination });
    logger.info({
      authorization: 'Bearer sg_live_secret',
      req: { headers: { authorization: 'Bearer sg_live_secret' }, body: 'record text', variables: { input: 'x' } },
      secret: 'sg_live_secret',
      token: 'sg_live_secret',
      text: 'record text',
      record: { text: 'record text' },
    });
    const line = JSON.stringify(lines[0]);
    expect(line).not.toContain('sg_live_secret');
    expect(line).not.toContain('record text');
    expect(lines[0]).toMatchObject({ authorization: '[redacted]', secret: '[redacted]', req: { headers: '[redacted]', body: '[redacted]', variables: '[redacted]' } });
  });

  it('LOG_LEVEL=silent writes nothing', () => {
    const { lines, destination } = capture();
    createLogger({ service: 'worker', level: 'silent', pretty: false, destination }).fatal('nothing');
    expect(lines).toEqual([]);
  });
});

describe('prettyDestination', () => {
  it('turns a JSON line into time, level, context, message and the remaining fields', () => {
    let out = '';
    const logger = createLogger({ service: 'worker', level: 'info', pretty: true, destination: prettyDestination({ write: (chunk: string) => ((out += chunk), true) } as NodeJS.WritableStream) });
    logger.warn({ context: 'Worker', batch: 3 }, 'handed back');
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}\[Worker\] handed back batch=3\n$/);
  });
});

describe('NestPinoLogger', () => {
  it('maps Nest levels, takes the context from the last argument and keeps an error stack', () => {
    const { lines, destination } = capture();
    const nest = new NestPinoLogger(createLogger({ service: 'gateway', level: 'trace', pretty: false, destination }));
    nest.log('started', 'Bootstrap');
    nest.error('failed', 'Error: failed\n    at x', 'Errors');
    nest.error('no stack', undefined, 'Errors');
    nest.verbose('detail', 'Routes');
    nest.warn({ event: 'slow' }, 'Worker');
    expect(lines.map(({ level, context, msg }) => ({ level, context, msg }))).toEqual([
      { level: 'info', context: 'Bootstrap', msg: 'started' },
      { level: 'error', context: 'Errors', msg: 'failed' },
      { level: 'error', context: 'Errors', msg: 'no stack' },
      { level: 'trace', context: 'Routes', msg: 'detail' },
      { level: 'warn', context: 'Worker', msg: undefined },
    ]);
    expect(lines[1]!.stack).toContain('at x');
    expect(lines[2]!.stack).toBeUndefined();
    expect(lines[4]!.event).toBe('slow');
  });
});
