/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '@synthgate/privacy';
import { type GenerationModel, loadModel } from './generation-model';
import { TINY_VOCAB_SIZE, writeTinyModelFolder } from './testing/model-files';
import { tinyArchitecture, tinyWeights } from './testing/tiny-llama';

/*
 * Issue 19: InvisibleInk is one more registry entry, so the engine runs it by name with no code of
 * its own: every step private, stopped at the cap r, reproducible from a seeded Rng.
 */
const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 64 });
let root: string;
let model: GenerationModel;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'invisible-ink-generation-'));
  writeTinyModelFolder(join(root, 'tiny'), arch, tinyWeights(arch, 5));
  model = await loadModel(join(root, 'tiny'), { threads: 1 });
});
afterAll(async () => {
  await model.release();
  rmSync(root, { recursive: true, force: true });
});

describe('InvisibleInk through the engine', () => {
  const params = { mechanism: 'invisible-ink', expectedBatchSize: 4, clip: 0.5, temperature: 1, topK: 8, privateTokenCap: 6, maxNewTokens: 16 } as const;
  const privatePrompts = ['the day', 'he played on the day.', 'a', 'she went on one day and played'];

  it('decodes with every step private, stops at the private-token cap, and replays from the same seed', async () => {
    const run = (seed: string) => model.generateExample({ privatePrompts, publicPrompt: 'one day', params, rng: new SeededRng(seed) });
    const first = await run('ink');
    expect(first.publicSteps).toBe(0);
    expect(first.privateSteps).toBe(first.tokenIds.length);
    expect(first.privateSteps).toBeLessThanOrEqual(6);
    if (first.stopReason !== 'eos') expect(first.privateSteps).toBe(6);
    expect([...(await run('ink')).tokenIds]).toEqual([...first.tokenIds]);
  });

  it('refuses bad parameters before any prompt runs, naming the field', async () => {
    await expect(model.generateExample({ privatePrompts, publicPrompt: 'one day', params: { ...params, clip: -1 }, rng: new SeededRng(1) })).rejects.toThrow(/^clip /);
  });
});
