// Builds the web console (console/, React + Vite) to console/dist, which the gateway serves at
// /console. Skipped when console/dist is newer than every input, so `npm start` and the e2e setup
// pay for it only after a change. Called by scripts/build.js; `--force` rebuilds regardless.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const consoleDir = path.join(root, 'console');
const outDir = path.join(consoleDir, 'dist');
const builtMarker = path.join(outDir, 'index.html');

/** The newest modification time among the console's sources, its configuration and the lockfile. */
function newestInput() {
  let newest = 0;
  const visit = (target) => {
    if (!fs.existsSync(target)) return;
    const stat = fs.statSync(target);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(target)) visit(path.join(target, entry));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const input of ['src', 'public', 'index.html', 'vite.config.mjs', 'tsconfig.json']) visit(path.join(consoleDir, input));
  visit(path.join(root, 'package-lock.json'));
  return newest;
}

function upToDate() {
  return fs.existsSync(builtMarker) && fs.statSync(builtMarker).mtimeMs >= newestInput();
}

/** Resolves to what it did: 'built', 'up to date', or 'kept' (no Vite installed, a shipped build kept). */
async function buildConsole({ quiet = false, force = false } = {}) {
  if (!fs.existsSync(path.join(consoleDir, 'index.html'))) return 'up to date';
  if (!force && upToDate()) return 'up to date';
  let vite;
  try {
    vite = await import('vite');
  } catch {
    if (fs.existsSync(builtMarker)) return 'kept'; // production install without dev tools: keep the shipped build
    throw new Error('build: vite is not installed; run `npm ci` first');
  }
  await vite.build({ configFile: path.join(consoleDir, 'vite.config.mjs'), logLevel: quiet ? 'warn' : 'info' });
  // The marker's time is what the next run compares against.
  const now = new Date();
  fs.utimesSync(builtMarker, now, now);
  return 'built';
}

module.exports = { buildConsole };

if (require.main === module) {
  buildConsole({ quiet: process.argv.includes('--quiet'), force: process.argv.includes('--force') }).then(
    (outcome) => {
      if (!process.argv.includes('--quiet')) console.log(`build: console ${outcome} (console/dist)`);
    },
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
