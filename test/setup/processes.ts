import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort } from '@synthgate/process';
import { type ApiClient, apiClient } from './gateway';

const root = join(__dirname, '..', '..');

/** A Synthgate process from dist/, as an operator would run it, with its output captured. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnProcess(script: string, env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', script, 'src', 'main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TZ: 'UTC', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, output: () => output, exited };
}

/** A worker process (dist/apps/worker). */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  return spawnProcess('worker', env);
}

/** A gateway process (dist/apps/gateway) on a free port, once it answers /health. */
export type GatewayProcess = WorkerProcess & ApiClient;

/**
 * Starts a gateway process; `env` must name SYNTHGATE_DATA_DIR (its admin token lands there), and
 * DATABASE_URL unless the gateway is to start its own embedded PostgreSQL in that folder.
 */
export async function spawnGateway(env: Record<string, string> & { SYNTHGATE_DATA_DIR: string }, timeoutMs = 90_000): Promise<GatewayProcess> {
  const port = await findFreePort();
  const gateway = spawnProcess('gateway', { HOST: '127.0.0.1', PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      async () => {
        if (gateway.child.exitCode !== null) throw new Error(`the gateway exited with ${gateway.child.exitCode}:\n${gateway.output()}`);
        return fetch(`${url}/health`).then(
          (response) => response.ok,
          () => false,
        );
      },
      timeoutMs,
      'the gateway process to answer /health',
      100,
    );
  } catch (error) {
    gateway.child.kill('SIGKILL');
    throw error;
  }
  const adminToken = readFileSync(join(env.SYNTHGATE_DATA_DIR, 'admin-token'), 'utf8').trim();
  return { ...gateway, ...apiClient(url, adminToken) };
}

/** Waits until `predicate` holds, polling every `intervalMs`. */
export async function waitUntil(predicate: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
