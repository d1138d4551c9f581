/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (the Mann-Whitney U statistic over `positives * negatives`,
 * with tied scores given their average rank). Throws when either class is empty.
 */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number {
  if (scores.length !== positive.length) throw new RangeError(`${scores.length} scores but ${positive.length} labels`);
  for (const score of scores) if (Number.isNaN(score)) throw new RangeError('scores must not be NaN');
  const positives = positive.filter(Boolean).length;
  const negatives = positive.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError(`ROC AUC needs both classes; got ${positives} positive and ${negatives} negative`);
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positiveRankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) end++;
    // Ranks start..end-1 (1-based start+1 .. end) share their average.
    const averageRank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) if (positive[order[i]!]) positiveRankSum += averageRank;
    start = end;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Share of predictions equal to the truth. Throws on empty input. */
export function accuracy<T>(predicted: readonly T[], truth: readonly T[]): number {
  if (predicted.length !== truth.length) throw new RangeError(`${predicted.length} predictions but ${truth.length} labels`);
  if (truth.length === 0) throw new RangeError('accuracy of no examples');
  let correct = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) correct++;
  return correct / truth.length;
}
