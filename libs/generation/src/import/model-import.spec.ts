/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../generation-model';
import { type LlamaArchitecture, type LlamaWeights } from '../model/llama-architecture';
import { buildLlamaOnnx } from '../model/llama-graph.builder';
import { referenceForward } from '../model/llama-reference';
import { OnnxGraphWriter } from '../model/onnx-graph.writer';
import { prefillRows } from '../runtime/batch-prefill';
import { OnnxDecoder } from '../runtime/onnx-decoder';
import { roundTo, TINY_VOCAB_SIZE, tinyVocabulary, writeGguf, writeTinyHuggingFaceFolder, writeTinyLlamaGguf } from '../testing/model-files';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { readGgufModel } from './gguf.importer';
import { buildTokenizerJson } from './gguf-tokenizer';
import { importModel } from './model-import';

const ROWS = [[1, 300, 301, 280, 262], [1, 270, 290], [1, 260, 261, 262, 263, 264, 265]];

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'model-import-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function mapWeights(weights: LlamaWeights, f: (t: Float32Array) => Float32Array): LlamaWeights {
  return {
    tokenEmbedding: f(weights.tokenEmbedding),
    finalNorm: f(weights.finalNorm),
    outputHead: weights.outputHead ? f(weights.outputHead) : null,
    layers: weights.layers.map((l) => ({
      attentionNorm: f(l.attentionNorm),
      query: f(l.query),
      key: f(l.key),
      value: f(l.value),
      output: f(l.output),
      queryBias: l.queryBias ? f(l.queryBias) : null,
      keyBias: l.keyBias ? f(l.keyBias) : null,
      valueBias: l.valueBias ? f(l.valueBias) : null,
      mlpNorm: f(l.mlpNorm),
      gate: f(l.gate),
      up: f(l.up),
      down: f(l.down),
    })),
  };
}

/** The imported graph's next-token logits for ROWS equal the reference pass on `weights`. */
async function expectLogitsMatch(modelDir: string, arch: LlamaArchitecture, weights: LlamaWeights): Promise<void> {
  const decoder = await OnnxDecoder.load(join(modelDir, 'model.onnx'), { threads: 1, executionProvider: 'cpu' });
  try {
    const out = await prefillRows(decoder, ROWS, arch.vocabSize, { chunkTokens: 8, padTokenId: 0 });
    ROWS.forEach((row, r) => {
      const expected = referenceForward(arch, weights, [row], [row.map(() => 1)])[0]![row.length - 1]!;
      const actual = out.logits.subarray(r * arch.vocabSize, (r + 1) * arch.vocabSize);
      let worst = 0;
      expected.forEach((v, j) => {
        worst = Math.max(worst, Math.abs(v - actual[j]!));
      });
      expect(worst).toBeLessThan(1e-4);
    });
  } finally {
    await decoder.release();
  }
}

describe('importModel: GGUF', () => {
  const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'interleaved' });
  const weights = tinyWeights(arch, 3);

  it('writes a model folder whose graph matches the reference and whose tokenizer is rebuilt', async () => {
    const source = join(root, 'tiny-f32.gguf');
    writeTinyLlamaGguf(source, arch, weights, 'F32');
    const result = await importModel(source, { name: 'tiny-f32', modelsDir: join(root, 'models') });
    expect(result.kind).toBe('gguf');
    expect(readdirSync(result.dir).sort()).toEqual(['config.json', 'manifest.json', 'model.onnx', 'tokenizer.json']);
    expect(result.manifest.source).toMatchObject({ kind: 'gguf', file: 'tiny-f32.gguf' });
    expect(result.manifest.files.map((f) => f.path)).toEqual(['config.json', 'model.onnx', 'tokenizer.json']);
    result.manifest.files.forEach((f) => expect(f.sha256).toMatch(/^[0-9a-f]{64}$/));
    const config = JSON.parse(readFileSync(join(result.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ num_hidden_layers: 2, num_key_value_heads: 2, eos_token_id: 2, bos_token_id: 1, synthgate: { rope_layout: 'interleaved' } });
    await expectLogitsMatch(result.dir, arch, weights);
    const tokenizer = TextTokenizer.fromFiles(join(result.dir, 'tokenizer.json'), null);
    const ids = tokenizer.encode('the day');
    expect(ids).toEqual([1, tinyVocabulary().tokens.indexOf('▁the'), tinyVocabulary().tokens.indexOf('▁day')]);
    expect(tokenizer.decode(ids)).toBe('the day');
    // Byte fallback: a character outside the vocabulary becomes its UTF-8 byte tokens.
    expect(tokenizer.encode('é', { addSpecialTokens: false })).toEqual([tinyVocabulary().tokens.indexOf('▁'), 3 + 0xc3, 3 + 0xa9]);
  });

  it.each(['F16', 'Q8_0'] as const)('dequantises %s tensors to float32', async (type) => {
    const source = join(root, `tiny-${type}.gguf`);
    writeTinyLlamaGguf(source, arch, weights, type);
    const read = readGgufModel(source).weights;
    const tolerance = type === 'F16' ? 2e-3 : 2e-2;
    read.layers[0]!.query.forEach((v, i) => expect(Math.abs(v - weights.layers[0]!.query[i]!)).toBeLessThan(tolerance));
    const result = await importModel(source, { name: `tiny-${type.toLowerCase()}`, modelsDir: join(root, 'models') });
    await expectLogitsMatch(result.dir, arch, read);
  });

  it('refuses other architectures, unsupported tensor types and missing tensors, leaving nothing behind', async () => {
    const models = join(root, 'refused');
    writeGguf(join(root, 'gemma.gguf'), [{ key: 'general.architecture', type: 'string', value: 'gemma' }], []);
    await expect(importModel(join(root, 'gemma.gguf'), { name: 'x', modelsDir: models })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringContaining('general.architecture "gemma"'),
    });
    writeGguf(join(root, 'q2k.gguf'), [
      { key: 'general.architecture', type: 'string', value: 'llama' },
      { key: 'llama.embedding_length', type: 'u32', value: 32 },
      { key: 'llama.attention.head_count', type: 'u32', value: 4 },
      { key: 'llama.block_count', type: 'u32', value: 1 },
      { key: 'llama.feed_forward_length', type: 'u32', value: 32 },
      { key: 'llama.context_length', type: 'u32', value: 64 },
      { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-5 },
      { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'strings', value: ['a'] },
      { key: 'tokenizer.ggml.scores', type: 'f32s', value: [0] },
    ], [{ name: 'token_embd.weight', shape: [1, 32], data: new Float32Array(32), type: 'Q8_0', typeCode: 10 }]);
    await expect(importModel(join(root, 'q2k.gguf'), { name: 'x', modelsDir: models })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringContaining('type Q2_K'),
    });
    const partial = { ...weights, layers: weights.layers.slice(0, 1) };
    writeTinyLlamaGguf(join(root, 'partial.gguf'), arch, partial as LlamaWeights, 'F32');
    await expect(importModel(join(root, 'partial.gguf'), { name: 'x', modelsDir: models })).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      message: expect.stringContaining('blk.1.attn_norm.weight'),
    });
    expect(existsSync(models) ? readdirSync(models) : []).toEqual([]);
  });

  it('refuses to overwrite an existing model unless told to', async () => {
    const source = join(root, 'tiny-f32.gguf');
    await expect(importModel(source, { name: 'tiny-f32', modelsDir: join(root, 'models') })).rejects.toMatchObject({ code: 'MODEL_EXISTS' });
    await expect(importModel(source, { name: 'tiny-f32', modelsDir: join(root, 'models'), overwrite: true })).resolves.toMatchObject({ kind: 'gguf' });
    await expect(importModel(source, { name: '../escape', modelsDir: join(root, 'models') })).rejects.toMatchObject({ code: 'INVALID_GENERATION_INPUT' });
  });
});

describe('importModel: Hugging Face folder', () => {
  it.each([
    ['F32, separate head', {}, 'F32', 'LlamaForCausalLM'],
    ['BF16, tied head without lm_head or tie flag', { tiedEmbeddings: true }, 'BF16', 'LlamaForCausalLM'],
    ['F16, Qwen2 q/k/v biases', { attentionBias: true }, 'F16', 'Qwen2ForCausalLM'],
  ] as const)('imports %s with the rotate-half layout', async (label, overrides, dtype, architecture) => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'rotate-half', ...overrides });
    const weights = tinyWeights(arch, 11);
    const dir = join(root, `hf-${dtype}`);
    writeTinyHuggingFaceFolder(dir, arch, weights, { dtype, architecture, omitTieFlag: arch.tiedEmbeddings });
    const result = await importModel(dir, { name: `hf-${dtype.toLowerCase()}`, modelsDir: join(root, 'models') });
    expect(result.kind).toBe('huggingface');
    await expectLogitsMatch(result.dir, arch, mapWeights(weights, (t) => roundTo(dtype, t)));
    const model = await loadModel(result.dir, { threads: 1 });
    expect(model.info).toMatchObject({ vocabSize: TINY_VOCAB_SIZE, numLayers: 2, numKvHeads: 2, headDim: 8, eosTokenIds: [2], bosTokenId: 1 });
    await model.release();
    expect(label).toBeTruthy();
  });

  it('refuses unsupported architectures and folders without a tokenizer', async () => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE });
    const dir = join(root, 'hf-gpt2');
    writeTinyHuggingFaceFolder(dir, arch, tinyWeights(arch), { architecture: 'GPT2LMHeadModel' });
    await expect(importModel(dir, { name: 'x', modelsDir: join(root, 'refused') })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringContaining('GPT2LMHeadModel is not supported'),
    });
    const noTokenizer = join(root, 'hf-no-tok');
    writeTinyHuggingFaceFolder(noTokenizer, arch, tinyWeights(arch));
    rmSync(join(noTokenizer, 'tokenizer.json'));
    await expect(importModel(noTokenizer, { name: 'x', modelsDir: join(root, 'refused') })).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      message: expect.stringContaining('tokenizer.json is missing'),
    });
  });
});

describe('importModel: exported ONNX folder', () => {
  it('checks the contract, copies the files with a manifest, and the model loads', async () => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE });
    const dir = join(root, 'onnx-export');
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    writeFileSync(join(dir, 'onnx', 'model.onnx'), buildLlamaOnnx(arch, tinyWeights(arch)));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(tinyVocabulary())));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', eos_token_id: 2, bos_token_id: 1, max_position_embeddings: 128 }));
    const result = await importModel(dir, { name: 'exported', modelsDir: join(root, 'models') });
    expect(result.kind).toBe('onnx');
    expect(result.manifest.files.map((f) => f.path)).toEqual(['config.json', 'model.onnx', 'tokenizer.json']);
    const model = await loadModel(result.dir, { threads: 1 });
    const text = await model.generateText({ prompt: 'the day', maxNewTokens: 3, greedy: true });
    expect(text.tokenIds.length).toBeLessThanOrEqual(3);
    await model.release();

    // A file changed after import no longer loads.
    writeFileSync(join(result.dir, 'config.json'), JSON.stringify({ eos_token_id: 5 }));
    await expect(loadModel(result.dir)).rejects.toMatchObject({ code: 'MODEL_HASH_MISMATCH', message: expect.stringContaining('config.json') });
  });

  it('refuses graphs without the KV-cache inputs, and folders without config.json', async () => {
    const dir = join(root, 'onnx-bad');
    mkdirSync(dir, { recursive: true });
    const g = new OnnxGraphWriter();
    g.input('input_ids', 'int64', ['b', 's']);
    g.input('attention_mask', 'int64', ['b', 't']);
    g.op1('Cast', ['input_ids'], { to: { int: 1 } }, { name: 'logits' });
    g.output('logits', 'float32', ['b', 's']);
    writeFileSync(join(dir, 'model.onnx'), g.encode({ graphName: 'bad', opsetImports: { '': 17 } }));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(tinyVocabulary())));
    await expect(importModel(dir, { name: 'x', modelsDir: join(root, 'refused') })).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      message: expect.stringContaining('config.json is missing'),
    });
    writeFileSync(join(dir, 'config.json'), '{}');
    await expect(importModel(dir, { name: 'x', modelsDir: join(root, 'refused') })).rejects.toMatchObject({
      code: 'MODEL_CONTRACT_VIOLATION',
      message: expect.stringContaining('past_key_values'),
    });
  });
});
