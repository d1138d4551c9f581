import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { findFreePort, portIsFree } from '@synthgate/process';
import { processAlive, startEmbeddedPostgres, stopOrphanedCluster } from './embedded-postgres';

export interface DatabaseServer {
  readonly url: string;
  /** Where the server came from, for the start-up log (never includes the password). */
  readonly description: string;
  /** Stops the embedded server this process started; a no-op for external or reused servers. */
  stop(): Promise<void>;
}

export interface DatabaseServerOptions {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** 0: the port this data folder's server had last time (`postgres-port`), or a free one. */
  readonly embeddedPort: number;
  /** The server's own output (PostgreSQL's log lines). */
  readonly log?: (message: string) => void;
  /** What this function decided and why (an orphan stopped and restarted), for the process's log. */
  readonly notice?: (message: string) => void;
  /** False when the caller handles SIGINT/SIGTERM and calls stop() last (see EmbeddedPostgresOptions). */
  readonly stopOnSignals?: boolean;
}

const EMBEDDED_DATABASE = 'synthgate';
/** The running embedded server's URL and its owner's pid, published for workers (mode 0600). */
const RECORD_FILE = 'postgres.json';
/** The embedded server's port, kept across restarts so connection settings stay the same. */
const PORT_FILE = 'postgres-port';

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function readRecord(dataDir: string): { url?: string; pid?: number } | null {
  const file = join(resolve(dataDir), RECORD_FILE);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { url?: string; pid?: number };
  } catch {
    return null; // being rewritten, or damaged: as good as absent
  }
}

/**
 * The URL the embedded server of `dataDir` is published at (`postgres.json`), or null when none
 * is published. Workers re-read it to follow a server that restarted, perhaps on another port.
 */
export function publishedDatabaseUrl(dataDir: string): string | null {
  return readRecord(dataDir)?.url ?? null;
}

/** The port to start the embedded server on: the configured one, else last time's when free, else a free one (remembered). */
async function embeddedPortFor(dataDir: string, configured: number): Promise<number> {
  if (configured !== 0) return configured;
  const file = join(dataDir, PORT_FILE);
  const previous = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
  if (Number.isInteger(previous) && previous > 0 && previous < 65536 && (await portIsFree(previous))) return previous;
  const port = await findFreePort();
  // On a first start the data folder does not exist yet.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${port}\n`, { mode: 0o600 });
  return port;
}

/**
 * The PostgreSQL server to use: `DATABASE_URL` when set; otherwise an embedded server with its
 * data in the data folder. The embedded server's URL and its owner's pid are published in
 * `<dataDir>/postgres.json` (mode 0600), so a worker started separately (`npm run start:worker`)
 * finds the gateway's server, and follows it when it restarts. Its port stays the same across
 * restarts by default (`<dataDir>/postgres-port`).
 *
 * A server whose owner is gone (its gateway was SIGKILLed) is orphaned: it is stopped cleanly and
 * started again under this process, so stop() always stops what this start started.
 */
export async function openDatabaseServer(options: DatabaseServerOptions): Promise<DatabaseServer> {
  if (options.databaseUrl) {
    const host = new URL(options.databaseUrl).host;
    return { url: options.databaseUrl, description: `PostgreSQL at ${host} (DATABASE_URL)`, stop: async () => undefined };
  }
  const dataDir = resolve(options.dataDir);
  const recordFile = join(dataDir, RECORD_FILE);
  const recorded = readRecord(dataDir);
  const notice = options.notice ?? (() => undefined);
  const ownerAlive = recorded?.pid !== undefined && recorded.pid !== process.pid && processAlive(recorded.pid);
  if (recorded?.url && ownerAlive) {
    // Its owner runs: attach (waiting a little for a server that is still starting).
    for (let attempt = 0; attempt < 30; attempt++) {
      if (await answers(recorded.url)) {
        return { url: recorded.url, description: `the embedded PostgreSQL already running for ${dataDir} (started by pid ${recorded.pid})`, stop: async () => undefined };
      }
      await new Promise((wait) => setTimeout(wait, 1000));
    }
    throw new Error(`the embedded PostgreSQL for ${dataDir}, started by pid ${recorded.pid}, does not answer at ${new URL(recorded.url).host}`);
  }
  // Its owner is gone (SIGKILLed): an orphan still running is stopped cleanly and started again
  // under this process, so this process's stop() stops it.
  const orphan = await stopOrphanedCluster(dataDir, recorded?.pid !== undefined);
  if (orphan) notice(`the embedded PostgreSQL for ${dataDir} (pid ${orphan}) outlived the process that started it (pid ${recorded?.pid ?? 'unknown'}): stopped it to start it again under this process`);
  const handle = await startEmbeddedPostgres({
    dataDir,
    port: await embeddedPortFor(dataDir, options.embeddedPort),
    persistent: true,
    database: EMBEDDED_DATABASE,
    onLog: options.log,
    stopOnSignals: options.stopOnSignals,
  });
  writeFileSync(recordFile, JSON.stringify({ url: handle.url, pid: process.pid }), { mode: 0o600 });
  return {
    url: handle.url,
    description: `embedded PostgreSQL on 127.0.0.1:${handle.port}, data in ${handle.clusterDir}`,
    stop: async () => {
      rmSync(recordFile, { force: true });
      await handle.stop();
    },
  };
}
