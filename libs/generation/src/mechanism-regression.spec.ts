/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mechanismRegistry, type PublicOnlyParameters, SeededRng } from '@synthgate/privacy';
import { type ExampleParams, type GenerateExampleRequest, type GenerationModel, loadModel } from './generation-model';
import { TINY_VOCAB_SIZE, writeTinyModelFolder } from './testing/model-files';
import { tinyArchitecture, tinyWeights } from './testing/tiny-llama';

/*
 * Outputs of seeded examples, recorded with the code before mechanisms moved behind libs/privacy's
 * registry (when the non-private reference was a flag of PrivateTokenSampler and generateText built
 * its own sampler): the registry's samplers must draw exactly the same tokens.
 */
const RECORDED = {
  'private-drafter': [14, 124, 69, 28, 228, 138, 152, 80, 225, 142, 202, 144, 20, 292, 299, 61],
  'private-topk': [70, 243, 148, 175, 144, 97],
  'private-greedy-public': [127],
  'non-private': [306, 99, 306, 19, 71, 69, 51, 64, 235, 163, 165, 303, 272, 203, 158, 238],
  'non-private-topk-empty': [113, 237, 148, 135, 51, 40, 52, 28, 25, 243, 163, 150, 153, 101, 70, 13],
  'text-1': [207, 163, 266, 208, 158, 16, 266, 10, 120, 306, 220, 141, 272, 98, 292, 25],
  'text-0.5': [127, 238, 160, 163, 51, 200, 181, 198, 172, 87, 96, 41, 243, 167, 169, 168],
  'text-0.8': [26, 130, 34, 71, 290, 296, 306, 31, 28, 31, 93, 122, 130, 286, 16, 263],
  'text-greedy': [70, 243, 172, 191, 162, 291, 3, 241, 180, 162, 291, 7, 262, 296, 228, 170],
} as const;

const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 64 });
const weights = tinyWeights(arch, 5);
const PRIVATE = ['the day', 'he played on the day.', 'a', 'she went on one day and played'];
const PUBLIC = 'one day';
let root: string;
let model: GenerationModel;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mechanism-regression-'));
  writeTinyModelFolder(join(root, 'tiny'), arch, weights);
  model = await loadModel(join(root, 'tiny'), { threads: 1 });
});
afterAll(async () => {
  await model.release();
  rmSync(root, { recursive: true, force: true });
});

async function example(name: keyof typeof RECORDED, privatePrompts: string[], params: ExampleParams, extra: Partial<GenerateExampleRequest> = {}): Promise<number[]> {
  return [...(await model.generateExample({ privatePrompts, publicPrompt: PUBLIC, params, rng: new SeededRng(name), ...extra })).tokenIds];
}

describe('mechanisms from the registry draw what the code before it drew', () => {
  it('private prediction (drafter, top-k, greedy public steps with speculative verification)', async () => {
    const base = { mechanism: 'private-prediction', clip: 10, expectedBatchSize: 4, temperature: 1, publicTemperature: 1, privateTokenCap: 50, maxNewTokens: 16 } as const;
    expect(await example('private-drafter', PRIVATE, { ...base, drafter: { threshold: 0.3, sigma: 0.1 } })).toEqual(RECORDED['private-drafter']);
    expect(await example('private-topk', PRIVATE, { ...base, clip: 3, expectedBatchSize: 2.5, temperature: 0.7, topK: 5, drafter: null, privateTokenCap: 6 })).toEqual(RECORDED['private-topk']);
    expect(await example('private-greedy-public', PRIVATE, { ...base, publicTemperature: 0, drafter: { threshold: 0.5, sigma: 0.2 } }, { speculative: { maxDraftTokens: 4 } })).toEqual(
      RECORDED['private-greedy-public'],
    );
  });

  it('the non-private reference (over rows, and public steps of an empty batch with top-k)', async () => {
    const base = { mechanism: 'non-private-reference', expectedBatchSize: 4, temperature: 0.9, publicTemperature: 1, topK: 0, privateTokenCap: 16, maxNewTokens: 16 } as const;
    expect(await example('non-private', PRIVATE, base)).toEqual(RECORDED['non-private']);
    expect(await example('non-private-topk-empty', [], { ...base, publicTemperature: 0.6, topK: 7 })).toEqual(RECORDED['non-private-topk-empty']);
  });

  it('plain generation, and public-only through its registry sampler as the worker runs it', async () => {
    for (const [name, temperature] of [['text-1', 1], ['text-0.5', 0.5], ['text-0.8', 0.8]] as const) {
      expect([...(await model.generateText({ prompt: PUBLIC, maxNewTokens: 16, temperature, rng: new SeededRng(name) })).tokenIds]).toEqual(RECORDED[name]);
    }
    expect([...(await model.generateText({ prompt: PUBLIC, maxNewTokens: 16, greedy: true })).tokenIds]).toEqual(RECORDED['text-greedy']);
    const publicOnly = (publicTemperature: number, seed: string) => {
      const parameters: PublicOnlyParameters = { mechanism: 'public-only', expectedBatchSize: 4, publicTemperature, privateTokenCap: 0 };
      return mechanismRegistry.of(parameters).createSampler(parameters, model.info.vocabSize, new SeededRng(seed));
    };
    // The worker ran public-only as `temperature: tau_pub` (greedy at 0); it now passes the registry's sampler.
    expect([...(await model.generateText({ prompt: PUBLIC, maxNewTokens: 16, sampler: publicOnly(0.8, 'text-0.8') })).tokenIds]).toEqual(RECORDED['text-0.8']);
    expect([...(await model.generateText({ prompt: PUBLIC, maxNewTokens: 16, sampler: publicOnly(0, 'unused') })).tokenIds]).toEqual(RECORDED['text-greedy']);
  });
});
