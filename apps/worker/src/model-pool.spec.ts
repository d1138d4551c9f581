/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { loadConfig } from '@synthgate/config';
import { ModelPool } from './model-pool';

const MODELS = resolve(__dirname, '..', '..', '..', 'models');
// The fallback is only observable where onnxruntime-node's CUDA provider is not installed (the
// default here: .npmrc skips its download).
const CUDA_PROVIDER = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
const itWithoutCuda = existsSync(CUDA_PROVIDER) ? (console.log('skipped: the CUDA provider is installed'), it.skip) : it;

async function logsOfLoading(provider: 'cpu' | 'cuda'): Promise<{ log: string[]; warn: string[]; runsOn: string }> {
  const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const pool = new ModelPool(loadConfig({ MODELS_DIR: MODELS, GENERATION_EXECUTION_PROVIDER: provider, GENERATION_THREADS: '1' }));
  try {
    const model = await pool.get('default');
    await new Promise((done) => setImmediate(done));
    return { log: log.mock.calls.map((call) => String(call[0])), warn: warn.mock.calls.map((call) => String(call[0])), runsOn: model.executionProvider };
  } finally {
    await pool.onApplicationShutdown();
    log.mockRestore();
    warn.mockRestore();
  }
}

describe('ModelPool', () => {
  it('logs one line naming where a loaded model runs', async () => {
    const { log, warn, runsOn } = await logsOfLoading('cpu');
    expect(runsOn).toBe('cpu');
    expect(log).toEqual(['model default runs on cpu']);
    expect(warn).toEqual([]);
  });

  itWithoutCuda('with GENERATION_EXECUTION_PROVIDER=cuda and no CUDA, runs on the CPU and warns once, in one line, saying why', async () => {
    const { log, warn, runsOn } = await logsOfLoading('cuda');
    expect(runsOn).toBe('cpu');
    expect(log).toEqual([]);
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatch(
      /^model default runs on the CPU, not on cuda as GENERATION_EXECUTION_PROVIDER asks: CUDA execution provider not available: onnxruntime-node's CUDA binaries are not installed \([^\n]*libonnxruntime_providers_cuda\.so is missing; [^\n]*\)$/,
    );
  });
});
