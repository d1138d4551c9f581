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
import { AUTO_INT4_PARAMETERS, chooseWeightStorage, importModel } from './model-import';

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
  // MLP width 64: GGUF block types need rows that are whole blocks of 32.
  const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'interleaved', intermediateSize: 64 });
  const weights = tinyWeights(arch, 3);

  it('writes a model folder whose graph matches the reference and whose tokenizer is rebuilt', async () => {
    const source = join(root, 'tiny-f32.gguf');
    writeTinyLlamaGguf(source, arch, weights, 'F32');
    const result = await importModel(source, { name: 'tiny-f32', modelsDir: join(root, 'models') });
    expect(result.kind).toBe('gguf');
    expect(result.weightStorage).toBe('fp32'); // auto: a tiny model stays exact
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

  it('reads Llama 3.1 per-frequency rope factors (rope_freqs.weight) as the llama3 scaling they encode', async () => {
    const llama3 = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } as const;
    // llama.cpp's converter: 1 for short wavelengths, factor for long ones, blended between.
    const factors = Float32Array.from({ length: 4 }, (_, i) => {
      const wavelen = 2 * Math.PI * Math.pow(arch.ropeTheta, (2 * i) / arch.headDim);
      if (wavelen < llama3.originalMaxPositions / llama3.highFreqFactor) return 1;
      if (wavelen > llama3.originalMaxPositions / llama3.lowFreqFactor) return llama3.factor;
      const smooth = (llama3.originalMaxPositions / wavelen - llama3.lowFreqFactor) / (llama3.highFreqFactor - llama3.lowFreqFactor);
      return 1 / ((1 - smooth) / llama3.factor + smooth);
    });
    expect(new Set(Array.from(factors)).size).toBe(3); // all three bands are exercised
    const source = join(root, 'tiny-llama31.gguf');
    writeTinyLlamaGguf(source, arch, weights, 'F32', { tensors: [{ name: 'rope_freqs.weight', shape: [4], data: factors, type: 'F32' }] });
    expect(readGgufModel(source).arch.ropeScaling).toEqual({ type: 'frequency-factors', factors: Array.from(factors) });
    const result = await importModel(source, { name: 'tiny-llama31', modelsDir: join(root, 'models') });
    // The reference applies Hugging Face's llama3 formula itself: an independent path to the same frequencies.
    await expectLogitsMatch(result.dir, { ...arch, ropeScaling: llama3 }, weights);
    const config = JSON.parse(readFileSync(join(result.dir, 'config.json'), 'utf8')) as { rope_scaling: { rope_type: string } };
    expect(config.rope_scaling.rope_type).toBe('frequency_factors');
  });

  it('imports a Qwen2 GGUF: rotate-half rotary (llama.cpp NEOX), q/k/v biases', async () => {
    const qwen = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'rotate-half', attentionBias: true, intermediateSize: 64, ropeTheta: 1000000 });
    const qwenWeights = tinyWeights(qwen, 23);
    const source = join(root, 'tiny-qwen2.gguf');
    writeTinyLlamaGguf(source, qwen, qwenWeights, 'Q8_0', { architecture: 'qwen2' });
    const read = readGgufModel(source);
    expect(read.arch).toMatchObject({ ropeLayout: 'rotate-half', attentionBias: true, ropeTheta: 1000000 });
    const result = await importModel(source, { name: 'tiny-qwen2', modelsDir: join(root, 'models') });
    await expectLogitsMatch(result.dir, qwen, read.weights);
  });

  it('refuses other architectures, unsupported tensor types and missing tensors, leaving nothing behind', async () => {
    const models = join(root, 'refused');
    writeGguf(join(root, 'gemma.gguf'), [{ key: 'general.architecture', type: 'string', value: 'gemma' }], []);
    await expect(importModel(join(root, 'gemma.gguf'), { name: 'x', modelsDir: models })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringContaining('general.architecture "gemma"'),
    });
    writeGguf(join(root, 'iq2.gguf'), [
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
    ], [{ name: 'token_embd.weight', shape: [1, 32], data: new Float32Array(32), type: 'Q8_0', typeCode: 16 }]);
    await expect(importModel(join(root, 'iq2.gguf'), { name: 'x', modelsDir: models })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringContaining('tensor token_embd.weight has type IQ2_XXS'),
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

describe('importModel: weight storage', () => {
  it('auto keeps models up to 250M parameters in fp32 and stores larger ones as int4', () => {
    expect(chooseWeightStorage(3_400_000)).toBe('fp32');
    expect(chooseWeightStorage(AUTO_INT4_PARAMETERS)).toBe('fp32');
    expect(chooseWeightStorage(AUTO_INT4_PARAMETERS + 1)).toBe('int4');
  });

  it('stores a Hugging Face model as fp16 or int4 when asked, records it, and refuses unknown storages', async () => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE });
    const weights = tinyWeights(arch, 13);
    const dir = join(root, 'hf-storage');
    writeTinyHuggingFaceFolder(dir, arch, weights);
    for (const storage of ['fp16', 'int4'] as const) {
      const result = await importModel(dir, { name: `hf-${storage}`, modelsDir: join(root, 'models'), weightStorage: storage });
      expect(result.weightStorage).toBe(storage);
      const config = JSON.parse(readFileSync(join(result.dir, 'config.json'), 'utf8')) as { synthgate: Record<string, string> };
      expect(config.synthgate.weight_storage).toBe(storage);
      const model = await loadModel(result.dir, { threads: 1 });
      expect((await model.generateText({ prompt: 'the day', maxNewTokens: 2, greedy: true })).text.startsWith('the day')).toBe(true);
      await model.release();
    }
    await expect(importModel(dir, { name: 'x', modelsDir: join(root, 'refused'), weightStorage: 'int8' as 'int4' })).rejects.toMatchObject({
      code: 'INVALID_GENERATION_INPUT',
      message: expect.stringContaining('weightStorage must be auto or one of fp32, fp16, int4, got "int8"'),
    });
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

  it('imports Phi-3 (fused qkv_proj and gate_up_proj, partial rotary, sliding window) by splitting the fused tensors', async () => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'rotate-half', rotaryDim: 6, maxPositions: 100 });
    const weights = tinyWeights(arch, 19);
    const dir = join(root, 'hf-phi3');
    writeTinyHuggingFaceFolder(dir, arch, weights, {
      architecture: 'Phi3ForCausalLM',
      fusedProjections: true,
      config: { model_type: 'phi3', partial_rotary_factor: 0.75, max_position_embeddings: 128, sliding_window: 100, rope_scaling: null },
    });
    const result = await importModel(dir, { name: 'hf-phi3', modelsDir: join(root, 'models') });
    await expectLogitsMatch(result.dir, arch, weights);
    const config = JSON.parse(readFileSync(join(result.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    // The sliding window is the graph's (every layer), so the context is not cut to it.
    expect(config).toMatchObject({ architectures: ['Phi3ForCausalLM'], max_position_embeddings: 128, sliding_window: 100, partial_rotary_factor: 0.75 });
    // Phi-3's long-context checkpoints (longrope) are refused by name, and a wrongly sized fused tensor too.
    writeTinyHuggingFaceFolder(join(root, 'hf-phi3-long'), arch, weights, { architecture: 'Phi3ForCausalLM', fusedProjections: true, config: { rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1] } } });
    await expect(importModel(join(root, 'hf-phi3-long'), { name: 'x', modelsDir: join(root, 'refused') })).rejects.toMatchObject({ code: 'UNSUPPORTED_MODEL', message: expect.stringContaining('rope_scaling type "longrope"') });
    writeTinyHuggingFaceFolder(join(root, 'hf-phi3-bad'), arch, weights, { architecture: 'Phi3ForCausalLM', fusedProjections: true, config: { num_key_value_heads: 4 } });
    await expect(importModel(join(root, 'hf-phi3-bad'), { name: 'x', modelsDir: join(root, 'refused') })).rejects.toMatchObject({
      code: 'MODEL_FORMAT_INVALID',
      message: expect.stringContaining('tensor model.layers.0.self_attn.qkv_proj.weight has 2048 values, the config implies 3072'),
    });
  });

  it('imports Qwen3 (per-head q/k RMSNorm before RoPE) from a Hugging Face folder and from GGUF', async () => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'rotate-half', qkNorm: true, headDim: 16, intermediateSize: 64, ropeTheta: 1000000 });
    const weights = tinyWeights(arch, 29);
    // Not vacuous: without the norms the same weights give other logits.
    const row = ROWS[0]!;
    const withNorm = referenceForward(arch, weights, [row], [row.map(() => 1)])[0]![row.length - 1]!;
    const without = referenceForward({ ...arch, qkNorm: false }, weights, [row], [row.map(() => 1)])[0]![row.length - 1]!;
    expect(Math.max(...withNorm.map((v, i) => Math.abs(v - without[i]!)))).toBeGreaterThan(1e-2);

    const dir = join(root, 'hf-qwen3');
    writeTinyHuggingFaceFolder(dir, arch, weights, { architecture: 'Qwen3ForCausalLM', config: { model_type: 'qwen3', head_dim: 16 } });
    const hf = await importModel(dir, { name: 'hf-qwen3', modelsDir: join(root, 'models') });
    await expectLogitsMatch(hf.dir, arch, weights);
    const gguf = join(root, 'tiny-qwen3.gguf');
    writeTinyLlamaGguf(gguf, arch, weights, 'F32', { architecture: 'qwen3' });
    const fromGguf = await importModel(gguf, { name: 'gguf-qwen3', modelsDir: join(root, 'models') });
    await expectLogitsMatch(fromGguf.dir, arch, weights);
    expect(JSON.parse(readFileSync(join(fromGguf.dir, 'config.json'), 'utf8'))).toMatchObject({ architectures: ['Qwen3ForCausalLM'], head_dim: 16, synthgate: { qk_norm: true } });
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
    await expect(importModel(dir, { name: 'exported', modelsDir: join(root, 'models'), weightStorage: 'int4' })).rejects.toMatchObject({
      code: 'INVALID_GENERATION_INPUT',
      message: expect.stringContaining('weightStorage applies to GGUF and Hugging Face imports only'),
    });
    const result = await importModel(dir, { name: 'exported', modelsDir: join(root, 'models') });
    expect(result.kind).toBe('onnx');
    expect(result.weightStorage).toBeNull();
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
