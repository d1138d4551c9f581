import { Injectable } from '@nestjs/common';

/**
 * Aggregate counters of this worker process (exported as Prometheus metrics). Per-batch private
 * and public step counts are not covered by the privacy guarantee, so they only ever appear
 * summed over batches here, never with a release.
 */
@Injectable()
export class WorkerMetrics {
  batches = 0;
  publicTokens = 0;
  privateTokens = 0;
  generationSeconds = 0;

  recordBatch(publicTokens: number, privateTokens: number, seconds: number): void {
    this.batches += 1;
    this.publicTokens += publicTokens;
    this.privateTokens += privateTokens;
    this.generationSeconds += seconds;
  }
}
