import { isDatabaseUnavailable, type WorkerSession, WorkerSupervisor } from './worker-supervisor';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** A scripted database: `up` decides whether connects and pings succeed. */
function harness(options: { locate?: () => string | null; connectError?: Error } = {}) {
  const state = { up: false, connects: 0, stops: 0, urls: [] as string[] };
  const logs: string[] = [];
  const connect = async (url: string): Promise<WorkerSession> => {
    state.urls.push(url);
    if (options.connectError) throw options.connectError;
    if (!state.up) throw refused;
    state.connects += 1;
    return {
      ping: async () => {
        if (!state.up) throw Object.assign(new Error('Connection terminated unexpectedly'), {});
      },
      stop: async () => {
        state.stops += 1;
      },
    };
  };
  const supervisor = new WorkerSupervisor({
    locate: options.locate ?? (() => 'postgresql://app@127.0.0.1:5432/synthgate'),
    connect,
    log: { info: (message) => logs.push(`info ${message}`), warn: (message) => logs.push(`warn ${message}`) },
    pingIntervalMs: 5,
    failuresForOutage: 2,
    backoff: { initialMs: 1, maxMs: 8 },
    stopTimeoutMs: 100,
  });
  return { state, logs, supervisor };
}

const until = async (predicate: () => boolean) => {
  for (let i = 0; i < 2000 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(predicate()).toBe(true);
};

describe('WorkerSupervisor', () => {
  it('waits for a database that is down at start, then loses and regains it, logging each outage once', async () => {
    const { state, logs, supervisor } = harness();
    const running = supervisor.run();
    await until(() => state.urls.length >= 5);
    expect(state.connects).toBe(0);
    state.up = true;
    await until(() => state.connects === 1);
    state.up = false;
    await until(() => state.stops === 1 && state.urls.length >= 10);
    state.up = true;
    await until(() => state.connects === 2);
    await supervisor.stop();
    await running;
    expect(state.stops).toBe(2);
    // Once for the database down at start, once for the outage: never once per retry.
    expect(logs.filter((line) => /does not answer/.test(line))).toHaveLength(1);
    expect(logs.filter((line) => /lost the database/.test(line))).toHaveLength(1);
    expect(logs.filter((line) => /the worker resumed/.test(line))).toHaveLength(2);
  });

  it('re-reads where the database is before every attempt', async () => {
    let port = 5432;
    const { state, supervisor } = harness({ locate: () => `postgresql://app@127.0.0.1:${port}/synthgate` });
    const running = supervisor.run();
    await until(() => state.urls.length >= 2);
    port = 6543;
    state.up = true;
    await until(() => state.connects === 1);
    await supervisor.stop();
    await running;
    expect(state.urls.at(-1)).toBe('postgresql://app@127.0.0.1:6543/synthgate');
  });

  it('waits while nothing is published yet', async () => {
    let url: string | null = null;
    const { state, supervisor } = harness({ locate: () => url });
    const running = supervisor.run();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(state.urls).toEqual([]);
    url = 'postgresql://app@127.0.0.1:5432/synthgate';
    state.up = true;
    await until(() => state.connects === 1);
    await supervisor.stop();
    await running;
  });

  it('gives up at once on an error that waiting cannot heal', async () => {
    const { supervisor } = harness({ connectError: new Error('password authentication failed for user "synthgate_app"') });
    await expect(supervisor.run()).rejects.toThrow(/password authentication failed/);
  });
});

describe('isDatabaseUnavailable', () => {
  it.each([
    [refused, true],
    [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), true],
    [Object.assign(new Error('the database system is starting up'), { code: '57P03' }), true],
    [new Error('Connection terminated unexpectedly'), true],
    [{ driverError: { code: '08006' }, message: 'query failed' }, true],
    [new Error('timeout exceeded when trying to connect'), true],
    [Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }), false],
    [new TypeError("Cannot read properties of undefined (reading 'id')"), false],
    ['a string', false],
  ])('%s: %s', (error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});
