import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';

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
  readonly embeddedPort: number;
  readonly log?: (message: string) => void;
  /** False when the caller handles SIGINT/SIGTERM and calls stop() last (see EmbeddedPostgresOptions). */
  readonly stopOnSignals?: boolean;
}

const EMBEDDED_DATABASE = 'synthgate';

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

/**
 * The PostgreSQL server to use: `DATABASE_URL` when set; otherwise an embedded server with its
 * data in the data folder. The embedded server's URL is recorded in `<dataDir>/postgres.json`
 * (mode 0600), so a worker started separately (`npm run start:worker`) finds the gateway's server.
 */
export async function openDatabaseServer(options: DatabaseServerOptions): Promise<DatabaseServer> {
  if (options.databaseUrl) {
    const host = new URL(options.databaseUrl).host;
    return { url: options.databaseUrl, description: `PostgreSQL at ${host} (DATABASE_URL)`, stop: async () => undefined };
  }
  const dataDir = resolve(options.dataDir);
  const recordFile = join(dataDir, 'postgres.json');
  if (existsSync(recordFile)) {
    const recorded = JSON.parse(readFileSync(recordFile, 'utf8')) as { url?: string };
    if (recorded.url && (await answers(recorded.url))) {
      return {
        url: recorded.url,
        description: `the embedded PostgreSQL already running for ${dataDir}`,
        stop: async () => undefined,
      };
    }
  }
  const handle = await startEmbeddedPostgres({
    dataDir,
    port: options.embeddedPort,
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
