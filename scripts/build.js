#!/usr/bin/env node
// Compiles the TypeScript sources to dist/ with swc (type checking is `npm run typecheck`).
// Path aliases (@synthgate/<lib>) are rewritten to relative imports, so dist/ runs with plain node.
// Then builds the web console to console/dist (scripts/build-console.js; skipped when up to date).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { buildConsole } = require('./build-console');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'dist');
const sourceDirs = ['apps', 'libs', 'migrations', 'bench'];

function swcOptions() {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
  return {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
      baseUrl: root,
      paths: tsconfig.compilerOptions.paths,
    },
    module: { type: 'commonjs' },
    sourceMaps: true,
  };
}

function* walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'fixtures') yield* walk(full);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !/\.(e2e-)?spec\.ts$/.test(entry.name)) {
      yield full;
    }
  }
}

function main() {
  let swc;
  try {
    swc = require('@swc/core');
  } catch {
    if (fs.existsSync(path.join(outDir, 'apps'))) return; // production install without dev tools: keep the shipped build
    console.error('build: @swc/core is not installed; run `npm ci` first');
    process.exit(1);
  }
  const options = swcOptions();
  let count = 0;
  for (const dir of sourceDirs) {
    for (const file of walk(path.join(root, dir))) {
      const relative = path.relative(root, file);
      const target = path.join(outDir, relative.replace(/\.ts$/, '.js'));
      const { code, map } = swc.transformFileSync(file, { ...options, filename: file, sourceFileName: path.relative(path.dirname(target), file) });
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, `${code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
      if (map) fs.writeFileSync(`${target}.map`, map);
      count += 1;
    }
  }
  if (!process.argv.includes('--quiet')) console.log(`build: compiled ${count} files to dist/`);
}

main();
buildConsole({ quiet: process.argv.includes('--quiet') }).then(
  (outcome) => {
    if (!process.argv.includes('--quiet')) console.log(`build: console ${outcome} (console/dist)`);
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
