/**
 * @synthgate/process: how a Synthgate process lives on its host, apart from what it computes.
 * A graceful stop on SIGTERM/SIGINT (the gateway and the worker) and free loopback ports (the
 * embedded PostgreSQL, the demo, tests and benchmarks). Imports nothing of ours.
 */
export { findFreePort, portIsFree } from './free-port';
export { onStopSignal } from './stop-signal';
