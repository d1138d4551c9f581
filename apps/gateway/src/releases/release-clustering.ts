import { type Batching, type LabelPlanEntry } from '@synthgate/persistence';
import {
  dpKMeans,
  dpKMeansRho,
  gaussianCountRho,
  gaussianSigmaForRho,
  lloydKMeansNonPrivate,
  nearestCentroid,
  noisyCounts,
  randomUnitCentroids,
  rhoForEpsilon,
  type Rng,
} from '@synthgate/privacy';
import { recordFeatureVector } from '@synthgate/text-classifier';
import { allocateDeclared, allocateFromNoisyCounts, withOffsets } from './release-request';

/*
 * CLUSTERED batching (issue 19): topic-coherent batches from a private k-means of each label's
 * records. What it costs is fixed by its parameters (clusteringRho + the count's rho); what it
 * draws (noisy centroids, noisy counts per label and cluster) is drawn once, when the release is
 * created, in the transaction that debits it, and stored in the release's label plan.
 */

export type ClusteredBatching = Extract<Batching, { mode: 'CLUSTERED' }>;

export const CLUSTERING_DEFAULTS = { iterations: 3, dimension: 64 } as const;

/** Share of each Lloyd iteration's rho that goes to the sums (the centroids' direction); the rest to the counts. */
export const SUM_SHARE = 0.75;

/**
 * The noise of each Lloyd iteration from the clustering's epsilon (alone, at the dataset's delta):
 * its rho is split evenly over the iterations, and each iteration's rho 3:1 between the sums and
 * the counts. The sigmas are rounded up, so the rho they cost never exceeds the epsilon's.
 */
export function clusteringSigmas(clusteringEpsilon: number, iterations: number, delta: number): { sumSigma: number; lloydCountSigma: number } {
  const perIteration = rhoForEpsilon(clusteringEpsilon, delta, 'tight') / iterations;
  return { sumSigma: gaussianSigmaForRho(SUM_SHARE * perIteration), lloydCountSigma: gaussianSigmaForRho((1 - SUM_SHARE) * perIteration) };
}

/** rho of the private k-means (every label's run together: they touch disjoint records), from the stored parameters. */
export function clusteringRho(batching: ClusteredBatching): number {
  return dpKMeansRho({ clusters: batching.clusters, iterations: batching.iterations, dimension: batching.dimension, sumSigma: batching.sumSigma, countSigma: batching.lloydCountSigma });
}

/** rho of the final counts per label and cluster (one histogram: each record is in one cell). */
export function clusterCountRho(batching: ClusteredBatching): number {
  return gaussianCountRho(batching.countSigma);
}

/** A record as clustering reads it. */
export interface ClusteringRecord {
  readonly label: string | null;
  readonly text: string;
}

/** How many batches each label gets: public (declared, or the whole unlabelled dataset) or from the noisy counts. */
export type LabelTotals = { readonly kind: 'PUBLIC'; readonly batches: ReadonlyMap<string | null, number> } | { readonly kind: 'DP_COUNT'; readonly maxBatches: number };

/**
 * The label plan of a CLUSTERED release: per label (in `labels` order; `[null]` for an unlabelled
 * dataset), private k-means from public random centroids, then a DP count of the records per
 * (label, cluster) by nearest noisy centroid; each label's batches (public, or from the sum of its
 * noisy cluster counts) are split among its clusters in proportion to `max(0, noisy count)`
 * (largest remainder; equal shares when every count is at most 0). Every number here after the
 * exact statistics is post-processing of the noisy ones, so the plan costs {@link clusteringRho}
 * plus {@link clusterCountRho} and nothing more.
 *
 * `nonPrivate` (the benchmark's epsilon = infinity reference only): exact Lloyd iterations and
 * exact counts, no noise, charged nothing.
 */
export function clusteredLabelPlan(
  rng: Rng,
  records: readonly ClusteringRecord[],
  labels: readonly (string | null)[],
  batching: ClusteredBatching,
  batchSize: number,
  totals: LabelTotals,
  nonPrivate = false,
): LabelPlanEntry[] {
  const { clusters, dimension } = batching;
  const byLabel = new Map<string | null, Float64Array[]>(labels.map((label) => [label, []]));
  for (const record of records) byLabel.get(record.label)?.push(recordFeatureVector(record.text, dimension));
  const parameters = { clusters, iterations: batching.iterations, dimension, sumSigma: batching.sumSigma, countSigma: batching.lloydCountSigma };
  const centroids = labels.map((label) => {
    const initial = randomUnitCentroids(rng, clusters, dimension);
    const vectors = byLabel.get(label)!;
    return nonPrivate ? lloydKMeansNonPrivate(vectors, initial, batching.iterations) : [...dpKMeans(rng, vectors, initial, parameters).centroids];
  });
  // Exact counts per (label, cluster), released only through the Gaussian count mechanism.
  const exact = labels.flatMap((label, l) => {
    const counts = new Array<number>(clusters).fill(0);
    for (const vector of byLabel.get(label)!) counts[nearestCentroid(vector, centroids[l]!)]! += 1;
    return counts;
  });
  const noisy = nonPrivate ? exact : [...noisyCounts(rng, exact, batching.countSigma).counts];
  const cell = (l: number, j: number) => noisy[l * clusters + j]!;
  const labelBatches =
    totals.kind === 'PUBLIC'
      ? labels.map((label) => totals.batches.get(label) ?? 0)
      : allocateFromNoisyCounts(
          labels.map((label, l) => ({ label: label ?? '', noisyCount: Array.from({ length: clusters }, (_, j) => cell(l, j)).reduce((a, b) => a + b, 0) })),
          batchSize,
          totals.maxBatches,
        ).map((entry) => entry.batches);
  const groups = labels.flatMap((label, l) => {
    const weights = Array.from({ length: clusters }, (_, j) => Math.max(0, cell(l, j)));
    const anyWeight = weights.some((w) => w > 0);
    const split = allocateDeclared(
      labelBatches[l]!,
      weights.map((weight, j) => ({ label: String(j), weight: anyWeight ? weight : 1 })),
    );
    return split.map((share, j) => ({ label, cluster: j, centroid: [...centroids[l]![j]!], batches: share.batches, noisyCount: cell(l, j) }));
  });
  return withOffsets(groups);
}

/**
 * Batches of one label per cluster before any record is read, for planRelease: the label's batches
 * over `clusters` (the counts are drawn only when the release is created).
 */
export function expectedBatchesPerCluster(labelBatches: number, clusters: number): number {
  return labelBatches / clusters;
}
