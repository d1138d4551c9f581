import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { q4KMediumType, TINY_VOCAB_SIZE, writeTinyHuggingFaceFolder, writeTinyLlamaGguf } from '../testing/model-files';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { chatTemplateOf } from '../tokenizer/chat-template';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { readGgufModel } from './gguf.importer';
import { countParameters } from './llama-model.writer';
import { readModelCard, releaseMemoryBytes, weightMemoryBytes } from './model-card';
import { importModel } from './model-import';

const TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}";

describe('readModelCard', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'model-card-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('describes a GGUF import: architecture, parameters, storage, source types, context, chat template, sizes', async () => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, hiddenSize: 256, intermediateSize: 512, headDim: 64, ropeLayout: 'interleaved', maxPositions: 96 });
    const weights = tinyWeights(arch, 4);
    const source = join(root, 'chat.Q4_K_M.gguf');
    writeTinyLlamaGguf(source, arch, weights, (name) => q4KMediumType(name, arch.numLayers), {
      metadata: [
        { key: 'tokenizer.chat_template', type: 'string', value: TEMPLATE },
        { key: 'tokenizer.ggml.eot_token_id', type: 'u32', value: 7 },
        { key: 'tokenizer.ggml.eom_token_id', type: 'u32', value: 8 },
      ],
    });
    expect(readGgufModel(source).arch.eosTokenIds).toEqual([2, 7, 8]);
    const result = await importModel(source, { name: 'chat', modelsDir: join(root, 'models'), weightStorage: 'int4' });
    const card = readModelCard(result.dir, 'chat');
    expect(card).toMatchObject({
      name: 'chat',
      architecture: 'LlamaForCausalLM',
      parameters: countParameters(weights),
      weightStorage: 'int4',
      sourceTypes: { F32: 5, Q4_K: 13, Q6_K: 3 }, // Q6_K: output, and attn_v + ffn_down of the last layer
      source: { kind: 'gguf', file: 'chat.Q4_K_M.gguf' },
      contextLength: 96,
      chatTemplate: true,
      diskBytes: result.manifest.files.reduce((sum, f) => sum + f.bytes, 0),
    });
    expect(card.weightMemoryBytes).toBe(Math.round(weightMemoryBytes(card.shape, 'int4', card.diskBytes)));
    // The template travels in tokenizer_config.json, which the tokenizer still loads with.
    expect(chatTemplateOf(JSON.parse(readFileSync(join(result.dir, 'tokenizer_config.json'), 'utf8')))).toBe(TEMPLATE);
    const tokenizer = TextTokenizer.fromFiles(join(result.dir, 'tokenizer.json'), join(result.dir, 'tokenizer_config.json'));
    expect(tokenizer.decode(tokenizer.encode('the day'))).toBe('the day');
    // 2 buffers x 2 (keys, values) x layers x rows x kv heads x positions x head size x 4 bytes.
    expect(releaseMemoryBytes(card, 9, 100)).toEqual({ weights: card.weightMemoryBytes, kvCache: 2 * 2 * 2 * 9 * 2 * 100 * 64 * 4, total: card.weightMemoryBytes + 2 * 2 * 2 * 9 * 2 * 100 * 64 * 4 });
  });

  it('describes a Hugging Face import without a template, and orders storages by memory', async () => {
    const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, tiedEmbeddings: true });
    const weights = tinyWeights(arch, 5);
    writeTinyHuggingFaceFolder(join(root, 'hf'), arch, weights);
    const result = await importModel(join(root, 'hf'), { name: 'hf', modelsDir: join(root, 'models') });
    const card = readModelCard(result.dir, 'hf');
    expect(card).toMatchObject({ parameters: countParameters(weights), weightStorage: 'fp32', sourceTypes: null, chatTemplate: false, contextLength: 128 });
    const [fp32, fp16, int4] = (['fp32', 'fp16', 'int4'] as const).map((s) => weightMemoryBytes(card.shape, s, card.diskBytes));
    expect(fp32).toBeGreaterThan(fp16!);
    expect(fp16).toBeGreaterThan(int4!);
  });

  it('matches the measured session memory of a TinyLlama-1.1B-shaped layer (bench:weights) within 10%', () => {
    const shape = { vocabSize: 32000, hiddenSize: 2048, intermediateSize: 5632, numLayers: 1, numHeads: 32, numKvHeads: 4, headDim: 64, tiedEmbeddings: true };
    const measuredMiB = { fp32: 714.6, fp16: 624.9, int4: 266.8 };
    for (const storage of ['fp32', 'fp16', 'int4'] as const) {
      const estimate = weightMemoryBytes(shape, storage, 0) / 2 ** 20;
      expect(Math.abs(estimate / measuredMiB[storage] - 1)).toBeLessThan(0.1);
    }
  });
});
