/**
 * Runs `stop` once, on the first SIGTERM or SIGINT, then exits 0; a signal during the stop is
 * ignored (the stop is already draining), and a stop that throws exits 1 with its error. The
 * gateway and the worker both shut down this way.
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${signal}: the shutdown failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
