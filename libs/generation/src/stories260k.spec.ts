/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type GenerationModel, loadModel } from './generation-model';
import { importModel } from './import/model-import';

// The shared data sits beside the repository (../shared/data from the repo root); a fresh clone
// has none, so these tests skip with a printed reason there.
const SOURCE = resolve(__dirname, '../../../../shared/data/models/stories260K/stories260K.gguf');
const describeIfData = existsSync(SOURCE)
  ? describe
  : (console.log(`skipped: stories260K reference tests need ${SOURCE} (../shared/data is absent)`), describe.skip);

/** Greedy output documented by llama2.c (doc/stories260K.md) for `-t 0.0` from "Once upon a time". */
const LLAMA2C_GREEDY = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.',
  'Lily\'s mom said, "Lily, let\'s go to the park." Lily was sad and didn\'t know what to do. She said, "I want to play with your ball, but I can\'t find it."',
  'Lily was sad and didn\'t know what to do. She said, "I\'m sorry, Lily. I didn\'t know what to do."',
  'Lily didn\'t want to help her mom, so she said, "I\'m sorry, mom. I didn\'t know what to do." Her mom said, "Don\'t worry, Lily. We can help you.',
].join('\n');

describeIfData('stories260K imported from GGUF', () => {
  let models: string;
  let model: GenerationModel;
  beforeAll(async () => {
    models = mkdtempSync(join(tmpdir(), 'stories-'));
    await importModel(SOURCE, { name: 'stories260K', modelsDir: models });
    model = await loadModel(join(models, 'stories260K'), { threads: 1 });
  });
  afterAll(async () => {
    await model?.release();
    rmSync(models, { recursive: true, force: true });
  });

  it('has the documented shape and tokenizer', () => {
    expect(model.info).toMatchObject({ vocabSize: 512, numLayers: 5, numKvHeads: 4, headDim: 8, bosTokenId: 1, eosTokenIds: [2] });
    expect(model.tokenizer.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
  });

  it('decodes greedily to the text llama2.c documents', async () => {
    const out = await model.generateText({ prompt: 'Once upon a time', maxNewTokens: 256, greedy: true });
    expect(out.text.startsWith(LLAMA2C_GREEDY)).toBe(true);
    expect(out.continuation.startsWith(', there was a little girl named Lily.')).toBe(true);
  });
});
