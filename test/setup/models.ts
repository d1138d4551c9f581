import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TINY_VOCAB_SIZE, writeTinyModelFolder } from '../../libs/generation/src/testing/model-files';
import { tinyArchitecture, tinyWeights } from '../../libs/generation/src/testing/tiny-llama';

/**
 * A models folder with a tiny random Llama (`tiny`), built at test time: releases run end to end
 * in seconds without binary fixtures or ../shared.
 */
export function createTestModelsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synthgate-models-'));
  const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 512 });
  writeTinyModelFolder(join(dir, 'tiny'), arch, tinyWeights(arch, 7));
  return dir;
}
