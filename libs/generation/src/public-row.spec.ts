/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '@synthgate/privacy';
import { type StepTrace } from './decoding/private-decoding';
import { type PrivateExampleParams, type GenerateExampleRequest, type GenerationModel, loadModel } from './generation-model';
import { TINY_VOCAB_SIZE, writeTinyModelFolder } from './testing/model-files';
import { tinyArchitecture, tinyWeights } from './testing/tiny-llama';

/**
 * Issue 13, items 4 and 5: the public row's logits never depend on the records, and every
 * per-batch resource bound comes from public parameters.
 */
const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 128 });
const weights = tinyWeights(arch, 11);
const LONG = Array.from({ length: 12 }, () => 'she went on one day and played with the dog').join(' ');
const PRIVATE = ['the day', 'he played on the day.', LONG, 'a'];
const PUBLIC = 'one day';
// Every step public: the tokens then come from the public row alone, the same on both neighbours.
const ALL_PUBLIC: PrivateExampleParams = { mechanism: 'private-prediction', clip: 10, expectedBatchSize: 4, temperature: 1, publicTemperature: 1, drafter: { threshold: 1e9, sigma: 0.1 }, privateTokenCap: 20, maxNewTokens: 12 };

let root: string;
let model: GenerationModel;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'public-row-'));
  writeTinyModelFolder(join(root, 'tiny'), arch, weights);
  model = await loadModel(join(root, 'tiny'), { threads: 1 });
});
afterAll(async () => {
  await model.release();
  rmSync(root, { recursive: true, force: true });
});

/** The public row's logits at every step, copied. */
async function publicLogits(m: GenerationModel, request: Omit<GenerateExampleRequest, 'onStep'>): Promise<{ steps: Float32Array[]; tokens: readonly number[] }> {
  const steps: Float32Array[] = [];
  const result = await m.generateExample({
    ...request,
    onStep: (trace: StepTrace) => steps.push(Float32Array.from(trace.publicLogits)),
  });
  return { steps, tokens: result.tokenIds };
}

function bits(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex');
}

describe('the public row', () => {
  it.each([
    ['the longest record (it sets the batch width)', 2],
    ['a short record', 0],
  ])('is bit-identical at every step when %s is removed', async (_, removed) => {
    for (const speculative of [null, { maxDraftTokens: 3 }]) {
      const request = { publicPrompt: PUBLIC, params: ALL_PUBLIC, ignoreEndOfSequence: true, speculative };
      const withRecord = await publicLogits(model, { ...request, privatePrompts: PRIVATE, rng: new SeededRng('neighbours') });
      const without = await publicLogits(model, { ...request, privatePrompts: PRIVATE.filter((_, index) => index !== removed), rng: new SeededRng('neighbours') });
      expect(withRecord.tokens).toEqual(without.tokens);
      expect(withRecord.steps).toHaveLength(12);
      expect(withRecord.steps.map(bits)).toEqual(without.steps.map(bits));
    }
  });

  it('is the same with no private row at all, and the same as a plain public generation would see', async () => {
    const request = { publicPrompt: PUBLIC, params: ALL_PUBLIC, ignoreEndOfSequence: true };
    const alone = await publicLogits(model, { ...request, privatePrompts: [], rng: new SeededRng(3) });
    const batched = await publicLogits(model, { ...request, privatePrompts: PRIVATE, rng: new SeededRng(3) });
    expect(batched.steps.map(bits)).toEqual(alone.steps.map(bits));
  });
});

describe('public per-batch bounds', () => {
  it('cuts a record to maxPromptTokens by shortening its text only, keeping the label part whole', () => {
    const parts = { before: 'Here is a text about sports: ', text: LONG, after: '\n\nHere is another text about sports:' };
    const frame = model.tokenizer.encode(`${parts.before}${parts.after}`).length;
    const bound = frame + 20;
    const fitted = model.fitPrompt(parts, bound);
    expect(fitted.startsWith(parts.before)).toBe(true);
    expect(fitted.endsWith(parts.after)).toBe(true);
    const length = model.tokenizer.encode(fitted).length;
    expect(length).toBeLessThanOrEqual(bound);
    expect(length).toBeGreaterThan(bound - 5); // the longest text prefix that fits, give or take a merge at the seams
    expect(model.tokenizer.encode(`${parts.before}${parts.text}${parts.after}`).length).toBeGreaterThan(bound);
    const short = { before: 'About x: ', text: 'the day', after: ' next about x:' };
    expect(model.fitPrompt(short, 200)).toBe('About x: the day next about x:');
  });

  it('never fails a batch for its records: a long record and many rows give an example, with memory from the bounds', async () => {
    const small = await loadModel(join(root, 'tiny'), { threads: 1, kvCacheLimitBytes: 3 * (2 * 2 * 2 * (16 + 12) * 8 * 4) });
    try {
      const params = { ...ALL_PUBLIC, maxPromptTokens: 16 };
      // Three rows keep a cache (the public one and two private ones); the rest run in row chunks.
      expect(small.planRows(16, 12).cachedRows).toBe(3);
      const many = Array.from({ length: 9 }, (_, i) => (i === 4 ? LONG : `record ${i} about the day`));
      const bounded = await small.generateExample({ privatePrompts: many, publicPrompt: PUBLIC, params, rng: new SeededRng(9), ignoreEndOfSequence: true });
      const unbounded = await model.generateExample({ privatePrompts: many, publicPrompt: PUBLIC, params, rng: new SeededRng(9), ignoreEndOfSequence: true });
      expect(bounded.tokenIds).toHaveLength(12);
      expect(bounded.tokenIds).toEqual(unbounded.tokenIds);
    } finally {
      await small.release();
    }
  });
});
