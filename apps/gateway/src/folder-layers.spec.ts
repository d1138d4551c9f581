import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The gateway's folders layer: each may import its own layer and the layers below, never above.
 *   0  what a failure is and how the caller is told: gateway.errors.ts, errors/ (mapping, HTTP
 *      filter, request id)
 *   1  infrastructure: graphql/ (scalars, rules, pagination, loaders, metrics plugin), http/,
 *      metrics/, storage/
 *   2  domains: one folder each (datasets/, releases/, ...); any folder not named here is one
 *   3  composition: the root files (gateway.module.ts, graphql.options.ts, permission-table.ts,
 *      app.ts, main.ts)
 * Within a layer, folders may import each other only without a cycle.
 */
const lowerLayers: readonly (readonly string[])[] = [['gateway.errors.ts', 'errors'], ['graphql', 'http', 'metrics', 'storage']];
const DOMAIN_LAYER = lowerLayers.length;
const COMPOSITION_LAYER = DOMAIN_LAYER + 1;

const root = __dirname;

/** A folder of src/, or a root file (its name with .ts). */
type Unit = string;

function unitOf(file: string): Unit {
  // The first segment: a folder's name, or a root file's own name.
  return relative(root, file).split(sep)[0]!;
}

function layerOf(unit: Unit): number {
  const listed = lowerLayers.findIndex((layer) => layer.includes(unit));
  if (listed >= 0) return listed;
  return unit.endsWith('.ts') ? COMPOSITION_LAYER : DOMAIN_LAYER;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

/** Relative module specifiers of a source: static and dynamic imports, re-exports, require. */
function relativeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g)) found.push(match[1]!);
  return found;
}

interface Arrow {
  readonly from: Unit;
  readonly to: Unit;
  /** `file -> specifier` of each import that makes the arrow. */
  readonly imports: readonly string[];
}

/** The folder-level import arrows of the gateway's src/ (a unit importing itself is no arrow). */
function folderArrows(): Arrow[] {
  const arrows = new Map<string, { from: Unit; to: Unit; imports: string[] }>();
  for (const file of sourceFiles(root)) {
    const from = unitOf(file);
    for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(root + sep)) continue;
      const to = unitOf(target.endsWith('.ts') ? target : `${target}.ts`);
      if (to === from) continue;
      const key = `${from} -> ${to}`;
      const arrow = arrows.get(key) ?? { from, to, imports: [] };
      arrow.imports.push(`${relative(root, file)} -> ${specifier}`);
      arrows.set(key, arrow);
    }
  }
  return [...arrows.values()].sort((a, b) => `${a.from} ${a.to}`.localeCompare(`${b.from} ${b.to}`));
}

/** Arrows from a lower layer to a higher one, and arrows inside a layer that close a cycle. */
function arrowsAgainstLayering(arrows: readonly Arrow[]): string[] {
  const wrong: string[] = [];
  for (const arrow of arrows) {
    if (layerOf(arrow.to) > layerOf(arrow.from)) wrong.push(`${arrow.from} (layer ${layerOf(arrow.from)}) -> ${arrow.to} (layer ${layerOf(arrow.to)}): ${arrow.imports.join(', ')}`);
  }
  const sameLayer = arrows.filter((arrow) => layerOf(arrow.to) === layerOf(arrow.from));
  for (const arrow of sameLayer) {
    if (reaches(sameLayer, arrow.to, arrow.from)) wrong.push(`${arrow.from} -> ${arrow.to} is part of a cycle: ${arrow.imports.join(', ')}`);
  }
  return wrong;
}

function reaches(arrows: readonly Arrow[], start: Unit, goal: Unit): boolean {
  const seen = new Set<Unit>([start]);
  const queue = [start];
  while (queue.length > 0) {
    const unit = queue.shift()!;
    if (unit === goal) return true;
    for (const arrow of arrows) {
      if (arrow.from === unit && !seen.has(arrow.to)) {
        seen.add(arrow.to);
        queue.push(arrow.to);
      }
    }
  }
  return false;
}

describe("the gateway's folder layers", () => {
  it('no folder-level import arrow runs against the layering (expected: none)', () => {
    const arrows = folderArrows();
    // The checker saw the tree: the composition root imports the domains and the infrastructure.
    expect(arrows.some((arrow) => arrow.from === 'gateway.module.ts' && arrow.to === 'releases')).toBe(true);
    expect(arrows.some((arrow) => arrow.from === 'releases' && arrow.to === 'gateway.errors.ts')).toBe(true);
    expect(arrowsAgainstLayering(arrows)).toEqual([]);
  });

  it('the checker finds an upward arrow and a cycle inside a layer', () => {
    const arrow = (from: Unit, to: Unit): Arrow => ({ from, to, imports: [`${from}/x.ts -> ../${to}/y`] });
    expect(arrowsAgainstLayering([arrow('graphql', 'audit'), arrow('audit', 'graphql')])).toEqual([
      'graphql (layer 1) -> audit (layer 2): graphql/x.ts -> ../audit/y',
    ]);
    expect(arrowsAgainstLayering([arrow('graphql', 'gateway.module.ts')])).toEqual(['graphql (layer 1) -> gateway.module.ts (layer 3): graphql/x.ts -> ../gateway.module.ts/y']);
    expect(arrowsAgainstLayering([arrow('auth', 'tokens'), arrow('tokens', 'auth'), arrow('releases', 'budgets')])).toEqual([
      'auth -> tokens is part of a cycle: auth/x.ts -> ../tokens/y',
      'tokens -> auth is part of a cycle: tokens/x.ts -> ../auth/y',
    ]);
    expect(arrowsAgainstLayering([arrow('graphql', 'http'), arrow('http', 'metrics'), arrow('metrics', 'graphql')])).toHaveLength(3);
  });

  it('reads static, dynamic and re-exported imports', () => {
    const source = `import { a } from './a';\nexport { b } from "../b/b";\nconst c = await import('./c');\nimport type { D } from '@synthgate/d';\nimport './side-effect';`;
    expect(relativeImports(source)).toEqual(['./a', '../b/b', './c', './side-effect']);
  });
});
