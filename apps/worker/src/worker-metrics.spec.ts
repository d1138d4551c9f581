import { DRAFTER_STATISTIC_BOUNDS, STEP_SECONDS_BOUNDS, WorkerMetrics } from './worker-metrics';

describe('WorkerMetrics', () => {
  it('sums batches and tokens over batches', () => {
    const metrics = new WorkerMetrics();
    metrics.recordBatch(10, 3, 0.5);
    metrics.recordBatch(4, 6, 0.25);
    expect(metrics).toMatchObject({ batches: 2, publicTokens: 14, privateTokens: 9, generationSeconds: 0.75 });
  });

  it('buckets step latencies by upper bound (inclusive), with an overflow bucket', () => {
    const metrics = new WorkerMetrics();
    for (const seconds of [0.0005, 0.001, 0.0011, 0.3, 99]) metrics.observeStep(seconds);
    const { bounds, counts, sum } = metrics.stepHistogram;
    expect(bounds).toBe(STEP_SECONDS_BOUNDS);
    expect(counts).toHaveLength(bounds.length + 1);
    expect(counts[0]).toBe(2);
    expect(counts[bounds.indexOf(0.0025)]).toBe(1);
    expect(counts[bounds.indexOf(0.5)]).toBe(1);
    expect(counts[bounds.length]).toBe(1);
    expect(sum).toBeCloseTo(99.3026, 6);
  });
});

describe('WorkerMetrics drafter statistic', () => {
  it('buckets the statistic the same way, with an overflow bucket', () => {
    const metrics = new WorkerMetrics();
    for (const value of [0, 0.025, 0.03, 0.5, 1.1, 3]) metrics.observeDrafterStatistic(value);
    const { bounds, counts, sum } = metrics.drafterStatisticHistogram;
    expect(bounds).toBe(DRAFTER_STATISTIC_BOUNDS);
    expect(counts).toHaveLength(bounds.length + 1);
    expect(counts[0]).toBe(2);
    expect(counts[1]).toBe(1);
    expect(counts[bounds.indexOf(0.5)]).toBe(1);
    expect(counts[bounds.indexOf(1.25)]).toBe(1);
    expect(counts[bounds.length]).toBe(1);
    expect(sum).toBeCloseTo(4.655, 9);
  });
});
