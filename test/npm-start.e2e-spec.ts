import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '@synthgate/process';
import { createTestModelsDir } from './setup/models';
import { waitUntil } from './setup/processes';
import { createTestDatabase } from './setup/test-database';

const root = join(__dirname, '..');
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/**
 * `npm start` runs its script through `sh -c` and forwards a SIGTERM (docker stop, systemd,
 * `timeout`) to that shell only. Unless the script `exec`s node, the shell dies and the gateway,
 * its worker and its embedded PostgreSQL keep running, orphaned. Run here as npm runs it, minus the
 * build (the suite's global set-up built dist/ already; rebuilding it under other suites would race).
 */
describe('npm start scripts', () => {
  it.each(['start', 'start:gateway', 'start:worker'])('%s execs node, so a signal sent to npm reaches the process', (name) => {
    expect(scripts[name]).toMatch(/^npm run build --silent && exec node dist\/apps\/(gateway|worker)\/src\/main\.js/);
  });

  it('stops the gateway and its worker on a SIGTERM to the shell npm starts', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'synthgate-npm-start-'));
    const port = await findFreePort();
    const script = scripts['start']!.replace('npm run build --silent && ', '');
    const shell = spawn('sh', ['-c', script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TZ: 'UTC', HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: database.url, SYNTHGATE_DATA_DIR: dataDir, MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(shell, 'exit');
    const health = () => fetch(`http://127.0.0.1:${port}/health`).then((response) => response.ok, () => false);
    try {
      await waitUntil(health, 90_000, 'the gateway started by the start script to answer /health', 100);
      await waitUntil(async () => output.includes('"service":"worker"') && output.includes('ready'), 60_000, 'its worker to be ready', 100);
      shell.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      // The process npm signalled was the gateway itself: it shut down, its worker with it, and exited 0.
      expect(code).toBe(0);
      expect(output).toContain('SIGTERM: taking no new connections');
      expect(output).toContain('SIGTERM: finishing or handing back batches in flight');
      expect(await health()).toBe(false);
    } finally {
      if (shell.exitCode === null) shell.kill('SIGKILL');
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
