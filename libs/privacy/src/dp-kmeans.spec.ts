import { randomBytes } from 'node:crypto';
import {
  clusterSums,
  dpKMeans,
  dpKMeansIterationRho,
  dpKMeansRho,
  nearestCentroid,
  quantiseRecordVector,
  randomUnitCentroids,
  SUM_GRANULARITY,
} from './dp-kmeans';
import { batchOfRecord } from './partition';
import { SeededRng } from './rng';

function unit(values: number[]): Float64Array {
  const n = Math.hypot(...values);
  return Float64Array.from(values, (x) => x / n);
}

function l2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

describe('private k-means: cost', () => {
  it('charges iterations x (sums: 1 / (2 sumSigma^2), counts: 1 / (2 countSigma^2)), against a direct computation', () => {
    expect(SUM_GRANULARITY).toBe(1 / 4096);
    const p = { clusters: 8, iterations: 3, dimension: 64, sumSigma: 4, countSigma: 8 };
    const direct = 3 * (1 / (2 * 16) + 1 / (2 * 64));
    expect(dpKMeansRho(p)).toBeCloseTo(direct, 15);
    expect(dpKMeansIterationRho(p)).toBeCloseTo(direct / 3, 15);
    // The number of clusters does not enter: one record touches one cluster's sum and count.
    expect(dpKMeansRho({ ...p, clusters: 1 })).toBe(dpKMeansRho(p));
    // Worked number: 3 * (1/32 + 1/128) = 15/128.
    expect(dpKMeansRho(p)).toBe(0.1171875);
  });

  it('the result carries the same rho the formula gives', () => {
    const p = { clusters: 2, iterations: 2, dimension: 4, sumSigma: 2, countSigma: 3 };
    const vectors = [unit([1, 0, 0, 0]), unit([0, 1, 0, 0])];
    expect(dpKMeans(new SeededRng(1), vectors, randomUnitCentroids(new SeededRng('init'), 2, 4), p).rho).toBe(dpKMeansRho(p));
  });

  it('a record moves the exact integer sums by at most 1 / gamma (sensitivity 1) and one count by 1, at any rounding', () => {
    const rng = new SeededRng('sensitivity');
    for (const dimension of [1, 3, 64, 256]) {
      const bound = 1 / SUM_GRANULARITY;
      const centroids = randomUnitCentroids(new SeededRng(`c${dimension}`), 4, dimension);
      const base = Array.from({ length: 50 }, () => Float64Array.from({ length: dimension }, () => rng.nextDouble() - 0.5));
      // Adversarial records: every coordinate just under a grid point above, norm 1; a long one (clipped); a unit basis vector.
      const justUnder = Float64Array.from({ length: dimension }, () => 1 / Math.sqrt(dimension));
      const basis = Float64Array.from({ length: dimension }, (_, i) => (i === 0 ? -1 : 0));
      const adversarial = [justUnder, Float64Array.from({ length: dimension }, () => 7), basis, ...base.slice(0, 5)];
      for (const extra of adversarial) {
        const before = clusterSums(base, base.map(quantiseRecordVector), centroids);
        const withExtra = [...base, extra];
        const after = clusterSums(withExtra, withExtra.map(quantiseRecordVector), centroids);
        const flatBefore = before.sums.flatMap((s) => [...s]);
        const flatAfter = after.sums.flatMap((s) => [...s]);
        expect(l2(flatBefore, flatAfter)).toBeLessThanOrEqual(bound);
        expect(l2(before.counts, after.counts)).toBe(1);
      }
      // The bound is reached by a unit basis vector (it is tight), and rounding is toward zero.
      expect(Math.hypot(...quantiseRecordVector(basis))).toBe(bound);
      expect([...quantiseRecordVector(Float64Array.from([0.9999 * SUM_GRANULARITY, -1.9999 * SUM_GRANULARITY]))]).toEqual([0, -1]);
    }
  });

  it('refuses bad parameters and inputs, naming the field', () => {
    const rng = new SeededRng(0);
    const p = { clusters: 2, iterations: 1, dimension: 2, sumSigma: 1, countSigma: 1 };
    const init = [unit([1, 0]), unit([0, 1])];
    expect(() => dpKMeans(rng, [], init, { ...p, clusters: 0 })).toThrow(/^clusters must be an integer >= 1/);
    expect(() => dpKMeans(rng, [], init, { ...p, iterations: 1.5 })).toThrow(/^iterations /);
    expect(() => dpKMeans(rng, [], init, { ...p, sumSigma: 0 })).toThrow(/^sumSigma /);
    expect(() => dpKMeans(rng, [], init, { ...p, countSigma: -1 })).toThrow(/^countSigma /);
    expect(() => dpKMeans(rng, [], [init[0]!], p)).toThrow(/^initial must hold 2 centroids/);
    expect(() => dpKMeans(rng, [new Float64Array(3)], init, p)).toThrow(/^vectors\[0\] must be a Float64Array of length 2/);
    expect(() => dpKMeans(rng, [Float64Array.from([NaN, 0])], init, p)).toThrow(/^vectors\[0\] must have finite coordinates/);
  });
});

describe('private k-means: noise and utility', () => {
  it('adds discrete Gaussian noise of standard deviation sumSigma / gamma to each integer sum coordinate', () => {
    // One cluster, one iteration, n copies of a vector of norm 1/2: noise = centroid * noisyCount / gamma - exact sum.
    const dimension = 200;
    const sumSigma = 3;
    const n = 500;
    const x = Float64Array.from({ length: dimension }, (_, i) => (i % 2 === 0 ? 0.05 : -0.05));
    const exact = quantiseRecordVector(x).map((v) => v * n);
    let sum = 0;
    let squares = 0;
    let draws = 0;
    for (let run = 0; run < 10; run++) {
      const result = dpKMeans(new SeededRng(`noise${run}`), Array.from({ length: n }, () => x), [new Float64Array(dimension)], {
        clusters: 1,
        iterations: 1,
        dimension,
        sumSigma,
        countSigma: 1,
      });
      const count = result.lastNoisyCounts[0]!;
      result.centroids[0]!.forEach((c, i) => {
        const noise = Math.round((c * count) / SUM_GRANULARITY) - exact[i]!;
        sum += noise;
        squares += noise * noise;
        draws += 1;
      });
    }
    const sigma = sumSigma / SUM_GRANULARITY;
    expect(Math.abs(sum / draws)).toBeLessThan((5 * sigma) / Math.sqrt(draws));
    expect(Math.abs(squares / draws / sigma ** 2 - 1)).toBeLessThan(5 * Math.sqrt(2 / draws));
  });

  it('finds well-separated clusters from a public initialisation near them (e.g. from a public corpus)', () => {
    const rng = new SeededRng('utility');
    const centres = [unit([1, 0, 0, 0, 0, 0, 0, 0]), unit([0, 0, 0, 1, 0, 0, 0, 0]), unit([0, 0, 0, 0, 0, 0, 1, 1])];
    const vectors: Float64Array[] = [];
    const truth: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const c = i % 3;
      truth.push(c);
      vectors.push(unit([...centres[c]!].map((v) => v + 0.15 * (rng.nextDouble() - 0.5))));
    }
    // Public initialisation: the centres, rotated towards each other and shrunk (a rough public guess).
    const initial = centres.map((c, j) => unit([...c].map((v, i) => 0.6 * v + 0.3 * centres[(j + 1) % 3]![i]! + 0.1)).map((v) => v / 2));
    const result = dpKMeans(new SeededRng('run'), vectors, initial, {
      clusters: 3,
      iterations: 6,
      dimension: 8,
      sumSigma: 2,
      countSigma: 2,
    });
    // Every true centre is within 0.1 of some noisy centroid, and the clusters are pure.
    const mapping = centres.map((centre) => nearestCentroid(centre, result.centroids));
    expect(new Set(mapping).size).toBe(3);
    centres.forEach((centre, c) => expect(l2(centre, result.centroids[mapping[c]!]!)).toBeLessThan(0.1));
    const agree = vectors.filter((v, i) => nearestCentroid(v, result.centroids) === mapping[truth[i]!]).length;
    expect(agree / vectors.length).toBeGreaterThan(0.99);
  });
});

describe('private k-means: assignment', () => {
  it('nearest centroid: L2, ties to the lowest index', () => {
    const centroids = [Float64Array.from([1, 0]), Float64Array.from([0, 1]), Float64Array.from([1, 0])];
    expect(nearestCentroid(Float64Array.from([0.9, 0.1]), centroids)).toBe(0);
    expect(nearestCentroid(Float64Array.from([0.1, 0.9]), centroids)).toBe(1);
    expect(nearestCentroid(Float64Array.from([0.5, 0.5]), centroids)).toBe(0);
    expect(() => nearestCentroid(Float64Array.from([1]), centroids)).toThrow(/^centroids\[0\] must have length 1/);
  });

  it('given the centroids, adding a record changes only its own batch (nearest centroid, then keyed hash within the cluster)', () => {
    const rng = new SeededRng('assignment');
    const key = randomBytes(32);
    const centroids = randomUnitCentroids(new SeededRng('c'), 5, 16);
    const batchesPerCluster = [3, 1, 4, 2, 5];
    const offsets = batchesPerCluster.map((_, j) => batchesPerCluster.slice(0, j).reduce((a, b) => a + b, 0));
    const records = Array.from({ length: 400 }, (_, i) => ({ id: `r${i}`, vector: Float64Array.from({ length: 16 }, () => rng.nextDouble() - 0.5) }));
    const batchOf = (r: { id: string; vector: Float64Array }) => {
      const cluster = nearestCentroid(r.vector, centroids);
      return offsets[cluster]! + batchOfRecord(key, r.id, batchesPerCluster[cluster]!);
    };
    const partition = (rs: typeof records) => {
      const batches: string[][] = Array.from({ length: 15 }, () => []);
      for (const r of rs) batches[batchOf(r)]!.push(r.id);
      return batches;
    };
    const before = partition(records);
    const extra = { id: 'added', vector: Float64Array.from({ length: 16 }, () => rng.nextDouble() - 0.5) };
    const after = partition([...records, extra]);
    const changed = before.map((b, i) => (JSON.stringify(b) === JSON.stringify(after[i]) ? -1 : i)).filter((i) => i >= 0);
    expect(changed).toEqual([batchOf(extra)]);
    expect(after[batchOf(extra)]).toEqual([...before[batchOf(extra)]!, 'added']);
  });
});
