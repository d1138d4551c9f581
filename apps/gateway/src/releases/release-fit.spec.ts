import { releaseFit } from './release-fit';

describe('releaseFit', () => {
  const GiB = 2 ** 30;

  it('adds the weights to the KV cache of every concurrent batch and compares with the limit, boundary included', () => {
    expect(releaseFit(2 * GiB, 1 * GiB, 2, 4 * GiB)).toMatchObject({ totalBytes: 4 * GiB, fits: true, refusal: null });
    expect(releaseFit(2 * GiB, 1 * GiB + 1, 2, 4 * GiB)).toMatchObject({ totalBytes: 4 * GiB + 2, fits: false, refusal: { field: 'input.expectedBatchSize' } });
  });

  it('blames the model when its weights alone do not fit, and the batch otherwise', () => {
    const model = releaseFit(5 * GiB, 0, 1, 4 * GiB);
    expect(model.refusal).toEqual({ field: 'input.model', message: expect.stringContaining('weights need 5.00 GiB on a worker, above GENERATION_MEMORY_LIMIT_BYTES (4.00 GiB); import it with --weights int4') });
    const batch = releaseFit(1 * GiB, 2 * GiB, 2, 4 * GiB);
    expect(batch.refusal).toEqual({ field: 'input.expectedBatchSize', message: expect.stringContaining('a worker would need 5.00 GiB (weights 1.00 GiB + 2 x 2.00 GiB of KV cache)') });
  });
});
