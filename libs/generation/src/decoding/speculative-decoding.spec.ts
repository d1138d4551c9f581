/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '@synthgate/privacy';
import { type PrivateExampleParams, type GenerateExampleRequest, type GeneratedExample, type GenerationModel, loadModel } from '../generation-model';
import { referenceForward } from '../model/llama-reference';
import { TINY_VOCAB_SIZE, writeTinyModelFolder } from '../testing/model-files';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { type StepTrace } from './private-decoding';

const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 64 });
const weights = tinyWeights(arch, 21);
const PRIVATE = ['the day', 'he played on the day.', 'she went on one day and played'];
const PUBLIC = 'one day';
const BASE: PrivateExampleParams = { mechanism: 'private-prediction', clip: 10, expectedBatchSize: 3, temperature: 1, publicTemperature: 1, privateTokenCap: 40, maxNewTokens: 12 };

let root: string;
let model: GenerationModel;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'speculative-'));
  writeTinyModelFolder(join(root, 'tiny'), arch, weights);
  model = await loadModel(join(root, 'tiny'), { threads: 1 });
});
afterAll(async () => {
  await model.release();
  rmSync(root, { recursive: true, force: true });
});

/** A step with every row's logits (the sequential runs compared here ask for them: `inGraphAggregation: false`). */
type LogitsStep = StepTrace & { readonly logits: Float32Array };

async function run(request: Omit<GenerateExampleRequest, 'onStep'>): Promise<{ steps: LogitsStep[]; result: GeneratedExample }> {
  const steps: LogitsStep[] = [];
  const result = await model.generateExample({ inGraphAggregation: false, ...request, onStep: (t) => steps.push({ ...t, logits: Float32Array.from(t.logits!) }) });
  return { steps, result };
}

function maxDifference(a: Float32Array, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('speculative verification', () => {
  it('with every step public and a greedy drafter, gives the sequential tokens and logits in far fewer batched passes', async () => {
    const params: PrivateExampleParams = { ...BASE, publicTemperature: 0, drafter: { threshold: 1e9, sigma: 0.1 } };
    const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params, ignoreEndOfSequence: true };
    const sequential = await run({ ...request, rng: new SeededRng(1) });
    const speculative = await run({ ...request, rng: new SeededRng(1), speculative: { maxDraftTokens: 4 } });
    expect(speculative.result.tokenIds).toEqual(sequential.result.tokenIds);
    expect(speculative.result.tokenIds).toHaveLength(12);
    expect(speculative.result.publicSteps).toBe(12);
    speculative.steps.forEach((s, i) => expect(maxDifference(s.logits, sequential.steps[i]!.logits)).toBeLessThan(1e-4));
    expect(sequential.result.stepTimings.batchForwards).toBe(11);
    expect(speculative.result.stepTimings.batchForwards).toBeLessThanOrEqual(4);
  });

  it('with every step private, decides every token privately and stops at the cap', async () => {
    const params: PrivateExampleParams = { ...BASE, drafter: { threshold: -1e9, sigma: 0.1 }, privateTokenCap: 5 };
    const result = await model.generateExample({ privatePrompts: PRIVATE, publicPrompt: PUBLIC, params, rng: new SeededRng(2), speculative: { maxDraftTokens: 4 } });
    expect(result).toMatchObject({ privateSteps: 5, publicSteps: 0, stopReason: 'private-token-cap' });
    expect(result.tokenIds).toHaveLength(5);
  });

  it('cuts drafts at private steps and rolls the caches back: every decision sees its exact prefix', async () => {
    const params: PrivateExampleParams = { ...BASE, drafter: { threshold: 0.55, sigma: 0.05 }, publicTemperature: 0.7 };
    let checked = 0;
    for (const seed of [3, 4, 5, 6]) {
      if (checked > 0) break;
      const { steps, result } = await run({ privatePrompts: PRIVATE, publicPrompt: PUBLIC, params, rng: new SeededRng(seed), speculative: { maxDraftTokens: 3 }, ignoreEndOfSequence: true });
      expect(result.privateSteps + result.publicSteps).toBe(steps.length);
      if (result.privateSteps === 0 || result.publicSteps === 0) continue;
      checked += 1;
      const prompts = [...PRIVATE, PUBLIC].map((p) => model.tokenizer.encode(p));
      steps.forEach((step, t) => {
        prompts.forEach((prompt, row) => {
          const sequence = [...prompt, ...result.tokenIds.slice(0, t)];
          const expected = referenceForward(arch, weights, [sequence], [sequence.map(() => 1)])[0]![sequence.length - 1]!;
          expect(maxDifference(step.logits.subarray(row * TINY_VOCAB_SIZE, (row + 1) * TINY_VOCAB_SIZE), expected)).toBeLessThan(1e-4);
        });
        expect(step.token).toBe(result.tokenIds[t]);
      });
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('is only offered with the KV cache and drafts of two tokens or more', async () => {
    const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: BASE, rng: new SeededRng(1) };
    await expect(model.generateExample({ ...request, mode: 'recompute', speculative: { maxDraftTokens: 4 } })).rejects.toMatchObject({ message: expect.stringContaining('kv-cache') });
    await expect(model.generateExample({ ...request, speculative: { maxDraftTokens: 1 } })).rejects.toMatchObject({ message: expect.stringContaining('maxDraftTokens') });
  });
});
