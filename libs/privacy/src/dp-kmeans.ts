import { composeRho, gaussianMechanismRho } from './accountant';
import { sampleDiscreteGaussian } from './discrete-noise';
import { sampleGaussian } from './noise';
import { PrivacyError, requireInteger, requirePositive } from './privacy.errors';
import { type Rng } from './rng';

/*
 * Private k-means (DP Lloyd, Blum, Dwork, McSherry and Nissim 2005; Su et al. 2016): topic-coherent
 * batches for a release (issue 19). Records arrive as public feature vectors (a public function of
 * the record, see `recordFeatureVector` in libs/text-classifier); each iteration assigns every
 * record to its nearest current centroid and releases, per cluster, the sum of its vectors and its
 * count, each with Gaussian noise; the next centroids are noisy sum / noisy count. The initial
 * centroids are public (e.g. {@link randomUnitCentroids} from the release's key).
 *
 * Privacy under add/remove of one record, per iteration:
 * - the sums: a record adds its vector to exactly one cluster's sum. Vectors are clipped to L2 norm
 *   1, then quantised to the integer grid of step `SUM_GRANULARITY` by rounding toward zero (so the
 *   noise can be the exact discrete Gaussian: no floating-point porosity in what the noise
 *   protects). Rounding toward zero never increases a coordinate's magnitude, so a record's integer
 *   vector has L2 norm at most `1 / gamma`, and the concatenated (clusters x dimension) integer
 *   sums move by at most that: sensitivity 1 in feature units, noise `sumSigma / gamma` in grid units;
 * - the counts: one count changes by 1, L2 sensitivity 1.
 * Each is a Gaussian mechanism (`Delta^2 / (2 sigma^2)`, CKS 2020 Theorem 4 for the discrete one),
 * the iterations compose adaptively, and so the whole run costs
 * `iterations * (1 / (2 sumSigma^2) + 1 / (2 countSigma^2))`, whatever the number of clusters.
 * Runs on disjoint groups of records chosen by the record alone (its declared label) compose in
 * parallel: one record touches one group's run, so clustering every label costs the same rho.
 */

/** Step of the integer grid the record vectors are quantised to before they are summed: 2^-12. */
export const SUM_GRANULARITY = 2 ** -12;

/** The parameters of a private k-means run; all public, fixed before any record is read. */
export interface DpKMeansParameters {
  /** Number of clusters k (>= 1). */
  readonly clusters: number;
  /** Lloyd iterations (>= 1); each is charged. */
  readonly iterations: number;
  /** Length of the feature vectors (>= 1). */
  readonly dimension: number;
  /** Standard deviation of the noise on each coordinate of each cluster's sum, in feature units. */
  readonly sumSigma: number;
  /** Standard deviation of the noise on each cluster's count. */
  readonly countSigma: number;
}

/** What a run releases: the noisy centroids (the only output that later steps may use) and its cost. */
export interface DpKMeansResult {
  readonly centroids: readonly Float64Array[];
  /** The last iteration's noisy counts (integers, may be negative): the counts for the previous centroids. */
  readonly lastNoisyCounts: readonly number[];
  readonly rho: number;
}

/** Validates the parameters, naming the field and the rule. */
export function validateDpKMeansParameters(p: DpKMeansParameters): DpKMeansParameters {
  requireInteger('clusters', p.clusters, 1);
  requireInteger('iterations', p.iterations, 1);
  requireInteger('dimension', p.dimension, 1);
  requirePositive('sumSigma', p.sumSigma);
  requirePositive('countSigma', p.countSigma);
  return p;
}

/** rho of one Lloyd iteration: the sums' Gaussian mechanism plus the counts'. */
export function dpKMeansIterationRho(p: DpKMeansParameters): number {
  validateDpKMeansParameters(p);
  return gaussianMechanismRho(p.sumSigma, 1) + gaussianMechanismRho(p.countSigma, 1);
}

/** rho of a whole run (and of a run per label, by parallel composition): iterations x one iteration. */
export function dpKMeansRho(p: DpKMeansParameters): number {
  return composeRho(Array.from({ length: p.iterations }, () => dpKMeansIterationRho(p)));
}

/**
 * The index of the centroid nearest to `vector` in L2 (ties: the lowest index). A function of the
 * record's vector and the centroids alone, so, given the centroids, adding or removing a record
 * never moves another record to a different cluster.
 */
export function nearestCentroid(vector: Float64Array, centroids: readonly Float64Array[]): number {
  if (centroids.length === 0) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'centroids', 'must not be empty');
  let best = 0;
  let bestDistance = Infinity;
  for (let j = 0; j < centroids.length; j++) {
    const centroid = centroids[j]!;
    if (centroid.length !== vector.length) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', `centroids[${j}]`, `must have length ${vector.length}, got ${centroid.length}`);
    let distance = 0;
    for (let i = 0; i < vector.length; i++) {
      const d = vector[i]! - centroid[i]!;
      distance += d * d;
    }
    if (distance < bestDistance) {
      best = j;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * `k` public initial centroids: Gaussian directions scaled to norm 1/2, from `rng` (seed it with
 * something public or with the release's own secret key; never with the data).
 */
export function randomUnitCentroids(rng: Rng, clusters: number, dimension: number): Float64Array[] {
  requireInteger('clusters', clusters, 1);
  requireInteger('dimension', dimension, 1);
  return Array.from({ length: clusters }, () => {
    const v = Float64Array.from({ length: dimension }, () => sampleGaussian(rng, 1));
    return scaleToNorm(v, 0.5);
  });
}

function norm(v: Float64Array): number {
  let squares = 0;
  for (const x of v) squares += x * x;
  return Math.sqrt(squares);
}

function scaleToNorm(v: Float64Array, target: number): Float64Array {
  const n = norm(v);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i]! * target) / n;
  return v;
}

/**
 * A record vector clipped to L2 norm at most 1 and rounded to the integer grid of step
 * {@link SUM_GRANULARITY}, rounding toward zero: what one record adds to its cluster's sum. Its
 * integer L2 norm is at most `1 / gamma` (no coordinate grows in magnitude).
 */
export function quantiseRecordVector(vector: Float64Array): Int32Array {
  const n = norm(vector);
  const scale = n > 1 ? 1 / n : 1;
  const out = new Int32Array(vector.length);
  for (let i = 0; i < vector.length; i++) {
    const x = (vector[i]! * scale) / SUM_GRANULARITY;
    out[i] = Math.trunc(x);
  }
  return out;
}

function requireVectors(vectors: readonly Float64Array[], dimension: number, field: string): void {
  vectors.forEach((v, index) => {
    if (!(v instanceof Float64Array) || v.length !== dimension) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', `${field}[${index}]`, `must be a Float64Array of length ${dimension}`);
    for (const x of v) if (!Number.isFinite(x)) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', `${field}[${index}]`, 'must have finite coordinates');
  });
}

/**
 * One iteration's exact statistics, before noise: per cluster of the nearest centroid, the sum of
 * the quantised record vectors (integers) and the number of records. Exported for the tests.
 */
export function clusterSums(vectors: readonly Float64Array[], quantised: readonly Int32Array[], centroids: readonly Float64Array[]): { sums: Float64Array[]; counts: number[] } {
  const dimension = centroids[0]?.length ?? 0;
  const sums = centroids.map(() => new Float64Array(dimension));
  const counts = new Array<number>(centroids.length).fill(0);
  vectors.forEach((vector, index) => {
    const cluster = nearestCentroid(vector, centroids);
    const sum = sums[cluster]!;
    const q = quantised[index]!;
    for (let i = 0; i < dimension; i++) sum[i] = sum[i]! + q[i]!; // integers, exact below 2^53
    counts[cluster] = counts[cluster]! + 1;
  });
  return { sums, counts };
}

/**
 * Runs private k-means on `vectors` from the public `initial` centroids (one per cluster). A cluster
 * whose noisy count is below 1 restarts from a fresh random direction (drawn from `rng`, independent
 * of the data), and a noisy mean outside the unit ball is projected onto it (every true mean lies
 * inside): both post-processing of the released values.
 */
export function dpKMeans(rng: Rng, vectors: readonly Float64Array[], initial: readonly Float64Array[], parameters: DpKMeansParameters): DpKMeansResult {
  const p = validateDpKMeansParameters(parameters);
  if (initial.length !== p.clusters) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'initial', `must hold ${p.clusters} centroids, got ${initial.length}`);
  requireVectors(initial, p.dimension, 'initial');
  requireVectors(vectors, p.dimension, 'vectors');
  const quantised = vectors.map(quantiseRecordVector);
  const integerSigma = p.sumSigma / SUM_GRANULARITY;
  let centroids: Float64Array[] = initial.map((c) => Float64Array.from(c));
  let noisyCounts: number[] = [];
  for (let iteration = 0; iteration < p.iterations; iteration++) {
    const { sums, counts } = clusterSums(vectors, quantised, centroids);
    noisyCounts = counts.map((count) => count + sampleDiscreteGaussian(rng, p.countSigma));
    const next: Float64Array[] = [];
    for (let j = 0; j < p.clusters; j++) {
      const sum = sums[j]!;
      for (let i = 0; i < p.dimension; i++) sum[i] = sum[i]! + sampleDiscreteGaussian(rng, integerSigma);
      const count = noisyCounts[j]!;
      if (count < 1) {
        next.push(randomUnitCentroids(rng, 1, p.dimension)[0]!);
        continue;
      }
      const mean = sum.map((x) => (x * SUM_GRANULARITY) / count);
      next.push(norm(mean) > 1 ? scaleToNorm(mean, 1) : mean);
    }
    centroids = next;
  }
  return Object.freeze({ centroids: Object.freeze(centroids), lastNoisyCounts: Object.freeze(noisyCounts), rho: dpKMeansRho(p) });
}

/**
 * Plain Lloyd iterations with exact sums and counts: NO privacy. Only for the non-private reference
 * (epsilon = infinity) of a utility benchmark, so that RANDOM and CLUSTERED batching can be compared
 * without noise too. An empty cluster keeps its centroid.
 */
export function lloydKMeansNonPrivate(vectors: readonly Float64Array[], initial: readonly Float64Array[], iterations: number): Float64Array[] {
  requireInteger('iterations', iterations, 1);
  let centroids: Float64Array[] = initial.map((c) => Float64Array.from(c));
  const quantised = vectors.map(quantiseRecordVector);
  for (let iteration = 0; iteration < iterations; iteration++) {
    const { sums, counts } = clusterSums(vectors, quantised, centroids);
    centroids = centroids.map((previous, j) => (counts[j]! > 0 ? sums[j]!.map((x) => (x * SUM_GRANULARITY) / counts[j]!) : previous));
  }
  return centroids;
}
