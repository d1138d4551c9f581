import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEFAULT_MODEL = join(__dirname, '..', '..', '..', 'models', 'default');

describe('@synthgate/generation/catalog', () => {
  afterEach(() => {
    jest.resetModules();
    jest.dontMock('onnxruntime-node');
  });

  /** Requires `path` in a fresh module registry where loading onnxruntime-node throws. */
  function requireWithoutOrt(path: string): unknown {
    let loaded: unknown;
    jest.isolateModules(() => {
      jest.doMock('onnxruntime-node', () => {
        throw new Error('onnxruntime-node was loaded');
      });
      loaded = jest.requireActual(path);
    });
    return loaded;
  }

  it('loads no onnxruntime-node, while the full entry point does (the check can fail)', () => {
    const catalog = requireWithoutOrt('./catalog') as typeof import('./catalog');
    expect(typeof catalog.describeModelFolder).toBe('function');
    expect(() => requireWithoutOrt('./index')).toThrow('onnxruntime-node was loaded');
  });
});

describe('describeModelFolder', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'describe-model-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads the default model: shape, context, special tokens, fingerprint, card', () => {
    const { describeModelFolder, modelCard } = jest.requireActual<typeof import('./catalog')>('./catalog');
    const folder = describeModelFolder(DEFAULT_MODEL);
    expect(folder.shape).toEqual({ vocabSize: 4096, hiddenSize: 256, intermediateSize: 688, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 64, tiedEmbeddings: true });
    expect(folder).toMatchObject({ maxPositions: 256, bosTokenId: 0, eosTokenIds: [0], padTokenId: null, chatTemplate: null });
    expect(folder.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(modelCard(folder)).toMatchObject({ architecture: 'LlamaForCausalLM', contextLength: 256, chatTemplate: false, shape: folder.shape });
  });

  it('joins config and generation_config end-of-sequence ids, reads the chat template, and names a bad file', () => {
    const { describeModelFolder } = jest.requireActual<typeof import('./catalog')>('./catalog');
    const dir = join(root, 'chat');
    cpSync(DEFAULT_MODEL, dir, { recursive: true });
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [0, 7, 9] }));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{{ messages[0].content }}' }));
    const folder = describeModelFolder(dir, { verify: false });
    expect(folder.eosTokenIds).toEqual([0, 7, 9]);
    expect(folder.chatTemplate).toBe('{{ messages[0].content }}');
    expect(() => describeModelFolder(dir)).toThrow(expect.objectContaining({ code: 'MODEL_HASH_MISMATCH', message: expect.stringContaining('generation_config.json') }));
    writeFileSync(join(dir, 'config.json'), '{ not json');
    expect(() => describeModelFolder(dir, { verify: false })).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_INVALID', message: expect.stringContaining('config.json') }));
    expect(() => describeModelFolder(join(root, 'absent'))).toThrow(expect.objectContaining({ code: 'MODEL_FILE_MISSING' }));
  });
});
