import { type Server } from 'node:http';

/**
 * Graceful stop of the HTTP server: no new connections; requests in flight (a streaming import,
 * an export) run to their end, idle keep-alive connections are closed as soon as they fall idle,
 * and after `graceMs` whatever is still open is cut (an import cut off imports nothing: it is one
 * transaction). Runs before Nest's shutdown hooks, which would otherwise stop Apollo and the
 * database under requests still being served.
 */
export async function drainHttpServer(server: Server, graceMs: number): Promise<'drained' | 'timed out'> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), graceMs);
  });
  try {
    const outcome = await Promise.race([closed.then(() => 'drained' as const), timeout]);
    if (outcome === 'timed out') {
      server.closeAllConnections();
      await closed;
    }
    return outcome;
  } finally {
    clearInterval(sweep);
    clearTimeout(timer);
  }
}
