/**
 * Whether a release fits a worker's memory: the model's weights (loaded once per worker) plus the
 * KV caches of the batches it runs at once (each batch's estimate already counts both of the
 * engine's cache buffers). Pure, so planRelease and createRelease refuse the same releases, and
 * before anything is charged.
 */
export interface ReleaseFit {
  readonly weightBytes: number;
  readonly kvCacheBytesPerBatch: number;
  readonly concurrentBatches: number;
  /** `weightBytes + concurrentBatches * kvCacheBytesPerBatch`. */
  readonly totalBytes: number;
  readonly limitBytes: number;
  readonly fits: boolean;
  /** The field to blame and why, when it does not fit. */
  readonly refusal: { readonly field: 'input.model' | 'input.expectedBatchSize'; readonly message: string } | null;
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

export function releaseFit(weightBytes: number, kvCacheBytesPerBatch: number, concurrentBatches: number, limitBytes: number): ReleaseFit {
  const totalBytes = weightBytes + concurrentBatches * kvCacheBytesPerBatch;
  const fits = totalBytes <= limitBytes;
  let refusal: ReleaseFit['refusal'] = null;
  if (!fits && weightBytes > limitBytes) {
    refusal = {
      field: 'input.model',
      message: `the model's weights need ${gib(weightBytes)} on a worker, above GENERATION_MEMORY_LIMIT_BYTES (${gib(limitBytes)}); import it with --weights int4 or raise the limit`,
    };
  } else if (!fits) {
    refusal = {
      field: 'input.expectedBatchSize',
      message: `a worker would need ${gib(totalBytes)} (weights ${gib(weightBytes)} + ${concurrentBatches} x ${gib(kvCacheBytesPerBatch)} of KV cache), above GENERATION_MEMORY_LIMIT_BYTES (${gib(limitBytes)}); lower expectedBatchSize or maxTokens`,
    };
  }
  return { weightBytes, kvCacheBytesPerBatch, concurrentBatches, totalBytes, limitBytes, fits, refusal };
}
