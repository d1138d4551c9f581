/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel, MODEL_FILES, readManifest, TextTokenizer, type GenerationModel } from '@synthgate/generation';

// models/default is committed, so these checks need neither ../shared nor a network.
const ROOT = resolve(__dirname, '..', '..');
const MODEL_DIR = join(ROOT, 'models', 'default');
const FIXTURE = join(__dirname, 'fixtures', 'tokenizer-fixture.json');
const MAX_FOLDER_BYTES = 25 * 1024 * 1024;

// Recorded once from the committed model (greedy decoding is deterministic for fixed weights);
// a change here means the weights, the tokenizer or the engine's numerics changed.
const PROMPT = 'Here is a question about LOC: Where is the Eiffel Tower?\n\nHere is another question about LOC:';
const MAX_NEW_TOKENS = 24;
const EXPECTED_IDS: readonly number[] = [3721, 350, 366, 308, 123, 64];
const EXPECTED_CONTINUATION = ' Where is Salz?';

interface FixtureItem {
  readonly text: string;
  readonly ids: readonly number[];
}

describe('models/default', () => {
  it('matches its manifest, file by file', () => {
    const manifest = readManifest(MODEL_DIR, { verify: true });
    expect(manifest.name).toBe('default');
    expect(manifest.source.kind).toBe('huggingface');
    const listed = manifest.files.map((f) => f.path);
    for (const required of [MODEL_FILES.onnx, MODEL_FILES.tokenizer, MODEL_FILES.tokenizerConfig, MODEL_FILES.config]) {
      expect(listed).toContain(required);
    }
  });

  it('fits in 25 MB, model card included', () => {
    const total = readdirSync(MODEL_DIR).reduce((sum, name) => sum + statSync(join(MODEL_DIR, name)).size, 0);
    expect(total).toBeLessThanOrEqual(MAX_FOLDER_BYTES);
    expect(readdirSync(MODEL_DIR)).toContain('MODEL_CARD.md');
  });

  it('is the Llama decoder the training tool describes', () => {
    const config = JSON.parse(readFileSync(join(MODEL_DIR, MODEL_FILES.config), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ vocab_size: 4096, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2 });
  });

  describe('tokenizer', () => {
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as FixtureItem[];
    const tokenizer = TextTokenizer.fromFiles(join(MODEL_DIR, MODEL_FILES.tokenizer), join(MODEL_DIR, MODEL_FILES.tokenizerConfig));

    it('has a fixture with the cases that matter (prompt template, newlines, digits, non-ASCII)', () => {
      const texts = fixture.map((f) => f.text);
      expect(texts.some((t) => t.includes('\n\nHere is another question about'))).toBe(true);
      expect(texts.some((t) => /\d/.test(t) && /[^ -~\s]/.test(t))).toBe(true);
      expect(fixture.length).toBeGreaterThanOrEqual(40);
    });

    it.each(fixture.map((item, i) => [i, item] as const))('encodes fixture %i exactly as the training tool did and decodes it back', (_i, item) => {
      expect(tokenizer.encode(item.text, { addSpecialTokens: false })).toEqual(item.ids);
      expect(item.ids.length === 0 ? '' : tokenizer.decode(item.ids, { skipSpecialTokens: false })).toBe(item.text);
    });
  });

  describe('decoding', () => {
    let model: GenerationModel;
    beforeAll(async () => {
      model = await loadModel(MODEL_DIR, { threads: 2 });
    });
    afterAll(async () => {
      await model.release();
    });

    it('decodes greedily from a fixed prompt to the recorded output', async () => {
      const out = await model.generateText({ prompt: PROMPT, maxNewTokens: MAX_NEW_TOKENS, greedy: true });
      expect(out.tokenIds).toEqual(EXPECTED_IDS);
      expect(out.continuation).toBe(EXPECTED_CONTINUATION);
    });
  });
});
