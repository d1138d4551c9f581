import { Injectable } from '@nestjs/common';
import { type LatencyHistogram } from '@synthgate/persistence';

/** Upper bounds (seconds) of the model step latency histogram: 1 ms on CPU to 10 s. */
export const STEP_SECONDS_BOUNDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Upper bounds of the drafter statistic histogram: d lies in [0, 1 + rows / s]; steps of 0.025 up
 * to 1 resolve its quantiles against thresholds of 0.1 to 1, coarser above.
 */
export const DRAFTER_STATISTIC_BOUNDS: readonly number[] = [...Array.from({ length: 40 }, (_, i) => Number(((i + 1) * 0.025).toFixed(3))), 1.25, 1.5, 2];

/**
 * Aggregate counters of this worker process, published to the database every heartbeat (see
 * WorkerMetricsPublisher) and exported fleet-wide by the gateway's GET /metrics. Per-batch
 * private and public step counts are not covered by the privacy guarantee, so they only ever
 * appear summed over batches here, never with a release.
 */
@Injectable()
export class WorkerMetrics {
  readonly startedAt = new Date();
  batches = 0;
  publicTokens = 0;
  privateTokens = 0;
  generationSeconds = 0;
  private readonly stepCounts = new Array<number>(STEP_SECONDS_BOUNDS.length + 1).fill(0);
  private stepSecondsSum = 0;
  private readonly drafterCounts = new Array<number>(DRAFTER_STATISTIC_BOUNDS.length + 1).fill(0);
  private drafterSum = 0;

  recordBatch(publicTokens: number, privateTokens: number, seconds: number): void {
    this.batches += 1;
    this.publicTokens += publicTokens;
    this.privateTokens += privateTokens;
    this.generationSeconds += seconds;
  }

  /** One decoding step of the model (a batched forward pass and the mechanism's choice). */
  observeStep(seconds: number): void {
    let bucket = STEP_SECONDS_BOUNDS.findIndex((bound) => seconds <= bound);
    if (bucket === -1) bucket = STEP_SECONDS_BOUNDS.length;
    this.stepCounts[bucket]! += 1;
    this.stepSecondsSum += seconds;
  }

  /**
   * The drafter's statistic at one tested step. Computed from sensitive rows: it only ever enters
   * this fleet-wide histogram (like the token counts), never a release.
   */
  observeDrafterStatistic(value: number): void {
    let bucket = DRAFTER_STATISTIC_BOUNDS.findIndex((bound) => value <= bound);
    if (bucket === -1) bucket = DRAFTER_STATISTIC_BOUNDS.length;
    this.drafterCounts[bucket]! += 1;
    this.drafterSum += value;
  }

  get drafterStatisticHistogram(): LatencyHistogram {
    return { bounds: DRAFTER_STATISTIC_BOUNDS, counts: [...this.drafterCounts], sum: this.drafterSum };
  }

  get stepHistogram(): LatencyHistogram {
    return { bounds: STEP_SECONDS_BOUNDS, counts: [...this.stepCounts], sum: this.stepSecondsSum };
  }
}
