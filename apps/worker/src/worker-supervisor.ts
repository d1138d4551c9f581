/**
 * Keeps a worker alive across database outages of any length. While the database answers, one
 * worker session (connection, queue, Nest app) runs; when it stops answering, the session is torn
 * down and the supervisor reconnects with exponential backoff, re-reading where the database is
 * before every attempt (the gateway publishes a restarted embedded server's URL, which may name a
 * new port). The outage is logged once when it starts and once when the worker resumes.
 */

/** Errors that mean the database is out of reach for now, not that the worker is broken. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const found = error as { code?: unknown; message?: unknown; driverError?: { code?: unknown } } | null | undefined;
  const code = typeof found?.code === 'string' ? found.code : typeof found?.driverError?.code === 'string' ? found.driverError.code : '';
  // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
  if (/^08|^57P0[123]$/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  const message = typeof found?.message === 'string' ? found.message : String(error);
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|terminating connection|the database system is (starting up|shutting down|in recovery mode)|Client has encountered a connection error|Connection ended|ECONNREFUSED|ECONNRESET|pool is (ended|closed)|Cannot use a pool after calling end|Database is not (open|queryable)/i.test(
    message,
  );
}

/** One connected worker: what the supervisor pings and tears down. */
export interface WorkerSession {
  ping(): Promise<void>;
  /** Graceful stop: batches in flight finish or are handed back, then the connection closes. */
  stop(): Promise<void>;
}

export interface WorkerSupervisorOptions {
  /** Where the database is now (read again before every attempt); null while nothing is published. */
  readonly locate: () => string | null;
  /** Connects and starts a worker session on `url`. */
  readonly connect: (url: string) => Promise<WorkerSession>;
  readonly log: { info(message: string): void; warn(message: string): void };
  readonly pingIntervalMs?: number;
  /** Consecutive failed pings that make an outage. */
  readonly failuresForOutage?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Longest a session may take to stop when its database is gone. */
  readonly stopTimeoutMs?: number;
}

const hostOf = (url: string | null): string => {
  if (!url) return 'an unpublished address';
  try {
    return new URL(url).host;
  } catch {
    return 'an unreadable address';
  }
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())]);
}

export class WorkerSupervisor {
  private session: WorkerSession | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private readonly pingIntervalMs: number;
  private readonly failuresForOutage: number;
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  private readonly stopTimeoutMs: number;

  constructor(private readonly options: WorkerSupervisorOptions) {
    this.pingIntervalMs = options.pingIntervalMs ?? 1000;
    this.failuresForOutage = options.failuresForOutage ?? 2;
    this.backoff = options.backoff ?? { initialMs: 200, maxMs: 3000 };
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  }

  /** Sleeps `ms`, or less when stop() is called. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** Connects, with backoff, until a session runs (or stop() is called); null when stopping. */
  private async connect(outageSince: number | null): Promise<WorkerSession | null> {
    let delay = this.backoff.initialMs;
    for (;;) {
      if (this.stopping) return null;
      const url = this.options.locate();
      try {
        if (url) {
          const session = await this.options.connect(url);
          if (outageSince !== null) this.options.log.info(`database back at ${hostOf(url)}: the worker resumed ${((Date.now() - outageSince) / 1000).toFixed(1)} s after losing it`);
          return session;
        }
      } catch (error) {
        // Anything but an unreachable database (bad credentials, a failed migration) will not heal by waiting.
        if (!isDatabaseUnavailable(error)) throw error;
      }
      if (outageSince === null) {
        outageSince = Date.now();
        this.options.log.warn(`the database at ${hostOf(url)} does not answer; retrying with backoff (up to ${this.backoff.maxMs / 1000} s apart) until it does`);
      }
      // Full jitter keeps a fleet of workers from reconnecting in lockstep.
      await this.sleep(this.backoff.initialMs + Math.random() * (delay - this.backoff.initialMs));
      delay = Math.min(this.backoff.maxMs, delay * 2);
    }
  }

  /** Resolves when the session's database stops answering (or stop() is called). */
  private async watch(session: WorkerSession): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      await this.sleep(this.pingIntervalMs);
      if (this.stopping) return;
      const result = await withTimeout(
        session.ping().then(
          () => 'ok' as const,
          () => 'failed' as const,
        ),
        Math.max(2000, this.pingIntervalMs),
      );
      failures = result === 'ok' ? 0 : failures + 1;
      if (failures >= this.failuresForOutage) return;
    }
  }

  /** Runs sessions until stop(): a session that loses its database is replaced once it is back. */
  async run(): Promise<void> {
    let outageSince: number | null = null;
    while (!this.stopping) {
      const session = await this.connect(outageSince);
      if (!session) return;
      if (this.stopping) {
        await session.stop(); // stop() came while this session was starting
        return;
      }
      this.session = session;
      outageSince = null;
      await this.watch(session);
      if (this.stopping) return;
      outageSince = Date.now();
      this.session = null;
      this.options.log.warn('lost the database: stopping this session (batches in flight are handed back) and reconnecting with backoff');
      // With the database gone, stopping may hang on it: give up after a while (the lease hands the batches back anyway).
      if ((await withTimeout(session.stop().catch(() => undefined), this.stopTimeoutMs)) === 'timeout') {
        this.options.log.warn(`the lost session did not stop within ${this.stopTimeoutMs / 1000} s; abandoning it`);
      }
    }
  }

  /** Stops reconnecting and stops the running session gracefully. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const session = this.session;
    this.session = null;
    await session?.stop();
  }
}
