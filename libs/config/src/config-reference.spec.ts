import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configKeys, loadConfig } from './index';

const root = join(__dirname, '..', '..', '..');

describe('configuration reference', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  const exampleEntries = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!] as const);

  it('.env.example documents exactly the keys the schema reads', () => {
    expect(exampleEntries.map(([key]) => key).sort()).toEqual([...configKeys()].sort());
  });

  it('.env.example is itself a valid configuration', () => {
    expect(() => loadConfig(Object.fromEntries(exampleEntries))).not.toThrow();
  });

  it('the README lists every key', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(configKeys().filter((key) => !readme.includes(`\`${key}\``))).toEqual([]);
  });
});
