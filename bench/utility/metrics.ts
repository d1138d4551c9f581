/**
 * Metrics of the utility benchmark that cannot mistake noise for signal: balanced accuracy (chance
 * is 1 / labels whatever the label mix), the best constant answer, and label fidelity against what
 * a label-blind generator would score. Pure functions over label lists; bench/utility/metrics.spec.ts
 * checks each against hand-computed values.
 */

/**
 * Balanced accuracy: the mean over the labels present in `truth` of the share of that label's
 * examples predicted correctly (per-label recall). A constant answer scores 1 / labels.
 */
export function balancedAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) throw new RangeError(`${predicted.length} predictions but ${truth.length} labels`);
  if (truth.length === 0) throw new RangeError('balanced accuracy of no examples');
  const totals = new Map<string, { correct: number; count: number }>();
  truth.forEach((label, i) => {
    const entry = totals.get(label) ?? { correct: 0, count: 0 };
    entry.count += 1;
    if (predicted[i] === label) entry.correct += 1;
    totals.set(label, entry);
  });
  let sum = 0;
  for (const { correct, count } of totals.values()) sum += correct / count;
  return sum / totals.size;
}

/** Shares of each label in `labels` (summing to 1). */
export function labelShares(labels: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return new Map([...counts].map(([label, count]) => [label, count / labels.length]));
}

/** The test accuracy of the best single label answered for every example: the largest label share of `truth`. */
export function bestConstantAccuracy(truth: readonly string[]): number {
  if (truth.length === 0) throw new RangeError('best constant accuracy of no examples');
  return Math.max(...labelShares(truth).values());
}

/**
 * Label fidelity: the share of synthetic examples whose attached label is the label a classifier
 * trained on the real private records predicts for their text.
 */
export function labelFidelity(predicted: readonly string[], attached: readonly string[]): number {
  if (predicted.length !== attached.length) throw new RangeError(`${predicted.length} predictions but ${attached.length} labels`);
  if (attached.length === 0) return 0;
  return predicted.filter((label, i) => label === attached[i]).length / attached.length;
}

/**
 * What label fidelity a label-blind generator would score: `sum_l a(l) * p(l)`, where `a(l)` is the
 * share of synthetic examples attached to label l and `p(l)` the share the real-data classifier
 * predicts as l on the same texts. If the texts carried no information about their attached label
 * (prediction independent of the attached label), the expected agreement would be exactly this sum
 * (P(pred = attached) = sum_l P(attached = l) P(pred = l)), the two marginals taken as observed. It
 * keeps what a generator gets from a skewed classifier or label mix alone, so label fidelity above
 * it is signal from the label.
 */
export function blindFidelity(predicted: readonly string[], attached: readonly string[]): number {
  if (predicted.length !== attached.length) throw new RangeError(`${predicted.length} predictions but ${attached.length} labels`);
  if (attached.length === 0) return 0;
  const attachedShares = labelShares(attached);
  const predictedShares = labelShares(predicted);
  let sum = 0;
  for (const [label, share] of attachedShares) sum += share * (predictedShares.get(label) ?? 0);
  return sum;
}

/** Mean, sample standard deviation (0 for one value), minimum and maximum of repeated runs. */
export interface Spread {
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread of no values');
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values), runs: values.length };
}

/**
 * Whether two settings' runs cannot be told apart by the run-to-run spread: their [min, max]
 * ranges overlap. With one run each there is no spread to compare with: false.
 */
export function withinSpread(a: Spread, b: Spread): boolean {
  if (a.runs < 2 && b.runs < 2) return false;
  return a.min <= b.max && b.min <= a.max;
}

/** A cumulative histogram, Prometheus style: `counts[i]` values <= `bounds[i]`, then the +Inf bucket. */
export interface BucketCounts {
  readonly bounds: readonly number[];
  /** Non-cumulative counts, one per bound and one for values above the last bound. */
  readonly counts: readonly number[];
}

/**
 * The q-quantile of values summarised in buckets, interpolating linearly inside the bucket that holds
 * it (the first bucket starts at `lowest`); values above the last bound report the last bound. null
 * for an empty histogram.
 */
export function histogramQuantile(histogram: BucketCounts, q: number, lowest = 0): number | null {
  const total = histogram.counts.reduce((a, c) => a + c, 0);
  if (total === 0) return null;
  const target = q * total;
  let below = 0;
  for (let i = 0; i < histogram.counts.length; i += 1) {
    const count = histogram.counts[i]!;
    if (count > 0 && below + count >= target) {
      if (i >= histogram.bounds.length) return histogram.bounds[histogram.bounds.length - 1] ?? null;
      const low = i === 0 ? lowest : histogram.bounds[i - 1]!;
      const high = histogram.bounds[i]!;
      return low + ((high - low) * Math.max(0, target - below)) / count;
    }
    below += count;
  }
  return histogram.bounds[histogram.bounds.length - 1] ?? null;
}
