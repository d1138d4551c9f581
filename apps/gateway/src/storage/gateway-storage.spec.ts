import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SynthgateConfig } from '@synthgate/config';
import { MODEL_FILES } from '@synthgate/generation/catalog';
import { GatewayStorage } from './gateway-storage';

describe('GatewayStorage', () => {
  let root: string;
  let storage: GatewayStorage;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gateway-storage-'));
    const config = { models: { dir: join(root, 'models') }, dataDir: join(root, 'data') } as unknown as SynthgateConfig;
    storage = new GatewayStorage(config);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lists no model when MODELS_DIR is missing, then only the folders with a manifest, sorted', () => {
    expect(storage.modelNames()).toEqual([]);
    for (const name of ['zeta', 'alpha', 'no-manifest']) mkdirSync(join(root, 'models', name), { recursive: true });
    writeFileSync(join(root, 'models', 'zeta', MODEL_FILES.manifest), '{}');
    writeFileSync(join(root, 'models', 'alpha', MODEL_FILES.manifest), '{}');
    writeFileSync(join(root, 'models', 'stray-file'), '');
    expect(storage.modelNames()).toEqual(['alpha', 'zeta']);
  });

  it("gives a model folder's path and its manifest's time", () => {
    const folder = join(root, 'models', 'tiny');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, MODEL_FILES.manifest), '{}');
    expect(storage.modelFolder('tiny')).toBe(folder);
    expect(storage.modelModifiedAt('tiny')).toBe(statSync(join(folder, MODEL_FILES.manifest)).mtimeMs);
  });

  it('writes a private file under DATA_DIR (created) with mode 0600, narrowing an existing file', () => {
    const path = storage.writePrivateFile('admin-token', 'secret\n');
    expect(path).toBe(join(root, 'data', 'admin-token'));
    expect(storage.privateFilePath('admin-token')).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe('secret\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    chmodSync(path, 0o644);
    storage.writePrivateFile('admin-token', 'new\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('new\n');
  });
});
