/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { evaluateAggregation, PrivateTokenSampler, SeededRng, TOKEN_AGGREGATION, type TokenMechanismParams } from '@synthgate/privacy';
import { createLogitsSource } from './decoding/decoding-modes';
import { type PrivateExampleParams, type GenerationModel, loadModel } from './generation-model';
import { importModel } from './import/model-import';
import { OnnxDecoder } from './runtime/onnx-decoder';
import { TINY_VOCAB_SIZE, writeTinyModelFolder } from './testing/model-files';
import { tinyArchitecture, tinyWeights } from './testing/tiny-llama';

const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 64 });
const weights = tinyWeights(arch, 5);
const PRIVATE = ['the day', 'he played on the day.', 'a', 'she went on one day and played', 'one', 'played the day he went'];
const PUBLIC = 'one day';
const MECHANISM: TokenMechanismParams = { clip: 3, expectedBatchSize: 6, temperature: 0.5, publicTemperature: 1, topK: 20, drafter: { threshold: 0.3, sigma: 0.1 } };
const PARAMS: PrivateExampleParams = { mechanism: 'private-prediction', ...MECHANISM, privateTokenCap: 50, maxNewTokens: 12 };
// The default model (vocabulary 4096) when the repository carries it, and stories260K when the
// shared data sits beside the repository (../shared/data): the same comparison on trained models.
const DEFAULT_MODEL = resolve(__dirname, '../../../models/default');
const STORIES = resolve(__dirname, '../../../../shared/data/models/stories260K/stories260K.gguf');

let root: string;
let model: GenerationModel;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'in-graph-aggregation-'));
  writeTinyModelFolder(join(root, 'tiny'), arch, weights);
  model = await loadModel(join(root, 'tiny'), { threads: 1 });
});
afterAll(async () => {
  await model.release();
  rmSync(root, { recursive: true, force: true });
});

describe('private rows aggregated inside the graph', () => {
  it('returns, step by step, exactly the float32 reference of the logits the per-row path returns, and log-probabilities within 6 rows c 2^-24 / (s tau)', async () => {
    const decoder = await OnnxDecoder.load(join(root, 'tiny', 'model.onnx'), { threads: 1, executionProvider: 'cpu' });
    try {
      expect(decoder.signature.aggregationOutputs).toEqual(['clippedSum', 'softmaxSum']);
      const tokenizer = model.tokenizer;
      const privateRows = PRIVATE.map((text) => tokenizer.encode(text));
      const publicRow = tokenizer.encode(PUBLIC);
      const perRowSampler = new PrivateTokenSampler(TINY_VOCAB_SIZE, MECHANISM, new SeededRng(1));
      const aggregatingSampler = new PrivateTokenSampler(TINY_VOCAB_SIZE, MECHANISM, new SeededRng(1));
      const input = { decoder, privateRows, publicRow, chunkTokens: 4096, padTokenId: 0, vocabSize: TINY_VOCAB_SIZE, maxNewTokens: 8 };
      // Two rows run without a cache, in chunks of one row: their partial sums are added in float64.
      const perRow = createLogitsSource('kv-cache', { ...input, cachedPrivateRows: 4, chunkTokens: 30 });
      const aggregated = createLogitsSource('kv-cache', { ...input, cachedPrivateRows: 4, chunkTokens: 30, aggregation: aggregatingSampler.aggregation });
      const rows = privateRows.length;
      const expectedLog = new Float64Array(TINY_VOCAB_SIZE);
      const actualLog = new Float64Array(TINY_VOCAB_SIZE);
      // The exponential mechanism's scores differ by the float32 terms' rounding (< 3 c 2^-24 per row,
      // see aggregation-graph.spec.ts) times 1/(s tau); a log-probability by at most twice that.
      const tolerance = 2 * rows * 3 * MECHANISM.clip * 2 ** -24 / (MECHANISM.expectedBatchSize * MECHANISM.temperature);
      let logits = await perRow.start();
      let publicLogits = await aggregated.start();
      for (let step = 0; step < 8; step += 1) {
        const step32 = aggregated.aggregated!;
        expect(publicLogits).toEqual(logits.subarray(rows * TINY_VOCAB_SIZE, (rows + 1) * TINY_VOCAB_SIZE));
        const parameters = aggregatingSampler.aggregation!.parameters;
        const reference = evaluateAggregation(TOKEN_AGGREGATION.outputs.clippedSum, logits, rows, 1, TINY_VOCAB_SIZE, parameters);
        expect(Array.from(step32.clippedSum)).toEqual(Array.from(reference));
        const softmax = evaluateAggregation(TOKEN_AGGREGATION.outputs.softmaxSum, logits, rows, 1, TINY_VOCAB_SIZE, parameters);
        step32.softmaxSum!.forEach((v, j) => expect(Math.abs(v - softmax[j]!)).toBeLessThanOrEqual(rows * 2 ** -20));
        const publicRowLogits = logits.subarray(rows * TINY_VOCAB_SIZE);
        perRowSampler.privateLogProbabilities(logits, rows, publicRowLogits, expectedLog);
        aggregatingSampler.privateLogProbabilitiesAggregated(step32, publicLogits, actualLog);
        for (let j = 0; j < TINY_VOCAB_SIZE; j += 1) {
          if (expectedLog[j] === -Infinity) expect(actualLog[j]).toBe(-Infinity);
          else expect(Math.abs(actualLog[j]! - expectedLog[j]!)).toBeLessThanOrEqual(tolerance);
        }
        const token = (step * 7 + 5) % TINY_VOCAB_SIZE;
        logits = await perRow.next(token);
        publicLogits = await aggregated.next(token);
      }
      perRow.dispose();
      aggregated.dispose();
    } finally {
      await decoder.release();
    }
  });

  it('gives the same tokens as the per-row logits path for fixed seeds (drafter, top-k, rows without a cache, no drafter)', async () => {
    // A cache limit of four rows: the public row and three private rows cached, three decoded without a cache.
    const longest = Math.max(...[...PRIVATE, PUBLIC].map((text) => model.tokenizer.encode(text).length));
    const bounded = await loadModel(join(root, 'tiny'), { threads: 1, kvCacheLimitBytes: 4 * model.planRows(longest, PARAMS.maxNewTokens).bytesPerRow });
    try {
      for (const params of [PARAMS, { ...PARAMS, drafter: null, topK: 0 }, { ...PARAMS, clip: 0.5, temperature: 2 }]) {
        for (const seed of [1, 2, 3, 4]) {
          for (const m of [model, bounded]) {
            const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params, ignoreEndOfSequence: true };
            const inGraph = await m.generateExample({ ...request, rng: new SeededRng(seed) });
            const perRow = await m.generateExample({ ...request, rng: new SeededRng(seed), inGraphAggregation: false });
            expect(inGraph.tokenIds).toEqual(perRow.tokenIds);
            expect(inGraph.privateSteps).toBe(perRow.privateSteps);
          }
        }
      }
      // The bounded model really decodes rows without a cache here (its limit holds fewer rows than the batch's).
      expect(bounded.planRows(longest, PARAMS.maxNewTokens).cachedRows).toBe(4);
    } finally {
      await bounded.release();
    }
  });

  it('gives the traces no private logits, and the public row unchanged', async () => {
    const publicRows: Float32Array[] = [];
    const perRowPublic: Float32Array[] = [];
    const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: PARAMS, ignoreEndOfSequence: true };
    await model.generateExample({ ...request, rng: new SeededRng(9), onStep: (t) => (expect(t.logits).toBeNull(), publicRows.push(Float32Array.from(t.publicLogits))) });
    await model.generateExample({ ...request, rng: new SeededRng(9), inGraphAggregation: false, onStep: (t) => perRowPublic.push(Float32Array.from(t.publicLogits)) });
    expect(publicRows).toEqual(perRowPublic);
  });

  const itIfStories = existsSync(STORIES) ? it : (console.log(`skipped: the stories260K comparison needs ${STORIES} (../shared/data is absent)`), it.skip);
  itIfStories('gives the same tokens with stories260K', async () => {
    await importModel(STORIES, { name: 'stories260K', modelsDir: root });
    const stories = await loadModel(join(root, 'stories260K'), { threads: 1 });
    try {
      const prompts = ['Once upon a time', 'Lily went to the park', 'The little dog was happy', 'Tom had a red ball'];
      for (const seed of [1, 2, 3]) {
        const request = { privatePrompts: prompts, publicPrompt: 'One day', params: { ...PARAMS, expectedBatchSize: 4, maxNewTokens: 24 }, ignoreEndOfSequence: true };
        const inGraph = await stories.generateExample({ ...request, rng: new SeededRng(seed) });
        const perRow = await stories.generateExample({ ...request, rng: new SeededRng(seed), inGraphAggregation: false });
        expect(inGraph.tokenIds).toEqual(perRow.tokenIds);
      }
    } finally {
      await stories.release();
    }
  });

  const itIfDefault = existsSync(join(DEFAULT_MODEL, 'model.onnx')) ? it : (console.log(`skipped: the default-model comparison needs ${DEFAULT_MODEL}`), it.skip);
  itIfDefault('gives the same tokens with the default model (vocabulary 4096)', async () => {
    const standard = await loadModel(DEFAULT_MODEL, { threads: 1 });
    try {
      const prompts = ['Here is a question about sport: who won the cup?', 'Here is a question about science: why is the sky blue?', 'Here is a question about sport: how long is a marathon?'];
      for (const seed of [1, 2]) {
        const request = { privatePrompts: prompts, publicPrompt: 'Here is a question about', params: { ...PARAMS, expectedBatchSize: 3, maxNewTokens: 16 }, ignoreEndOfSequence: true };
        const inGraph = await standard.generateExample({ ...request, rng: new SeededRng(seed) });
        const perRow = await standard.generateExample({ ...request, rng: new SeededRng(seed), inGraphAggregation: false });
        expect(inGraph.tokenIds).toEqual(perRow.tokenIds);
      }
    } finally {
      await standard.release();
    }
  });
});
