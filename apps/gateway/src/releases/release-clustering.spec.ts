import { dpKMeansRho, epsilonFromRho, gaussianCountRho, nearestCentroid, rhoForEpsilon, SeededRng } from '@synthgate/privacy';
import { recordFeatureVector } from '@synthgate/text-classifier';
import { type ClusteredBatching, clusteredLabelPlan, clusteringRho, clusteringSigmas, SUM_SHARE } from './release-clustering';
import { priceRelease } from './release-cost';
import { type ValidatedRequest } from './release-request';

const DELTA = 1e-6;

function request(overrides: Partial<ValidatedRequest> = {}): ValidatedRequest {
  return {
    mode: 'PRIVATE',
    model: 'default',
    expectedBatchSize: 10,
    clip: 2,
    temperature: 1,
    publicTemperature: 1,
    drafter: null,
    privateTokenCap: null,
    targetEpsilon: 3,
    maxTokens: 1000,
    maxPromptTokens: 64,
    topK: 0,
    labels: ['a', 'b'],
    labelAllocation: { mode: 'DP_COUNT', countSigma: 20 },
    batching: { mode: 'CLUSTERED', clusters: 4, iterations: 3, dimension: 64, clusteringEpsilon: 0.5, countSigma: 20 },
    promptTemplate: '{label}: {text}',
    publicPromptTemplate: '{label}:',
    ...overrides,
  };
}

describe('CLUSTERED batching: what it costs', () => {
  it('derives the Lloyd noise from the clustering epsilon: rho split evenly over iterations, 3:1 sums to counts, never above the epsilon', () => {
    const { sumSigma, lloydCountSigma } = clusteringSigmas(0.5, 3, DELTA);
    const rho = rhoForEpsilon(0.5, DELTA, 'tight');
    // Direct: sigma = 1 / sqrt(2 share rho / iterations) (rounded up to the next double at most).
    expect(sumSigma).toBeCloseTo(1 / Math.sqrt((2 * SUM_SHARE * rho) / 3), 12);
    expect(lloydCountSigma).toBeCloseTo(1 / Math.sqrt((2 * (1 - SUM_SHARE) * rho) / 3), 12);
    const charged = dpKMeansRho({ clusters: 4, iterations: 3, dimension: 64, sumSigma, countSigma: lloydCountSigma });
    expect(charged).toBeLessThanOrEqual(rho);
    expect(charged).toBeCloseTo(rho, 12);
    expect(epsilonFromRho(charged, DELTA)).toBeLessThanOrEqual(0.5);
  });

  it('charges the sum of its parts, tokens + counts + clustering, and fits the tokens in what the target epsilon leaves', () => {
    const { cost, mechanism, batching } = priceRelease(request(), DELTA, 50_000);
    const privateTokenCap = mechanism.privateTokenCap;
    if (cost.nonPrivate || batching.mode !== 'CLUSTERED') throw new Error('expected a private clustered cost');
    const tokens = cost.generation!.rho;
    expect(tokens).toBe(privateTokenCap * cost.rhoPerPrivateToken);
    expect(cost.labelCount).toEqual({ sigma: 20, rho: gaussianCountRho(20) });
    expect(cost.clustering).toEqual({ rho: clusteringRho(batching) });
    expect(cost.rho).toBe(tokens + gaussianCountRho(20) + clusteringRho(batching));
    // The largest cap: r fits within epsilon 3 with the counts and clustering, r + 1 does not.
    const others = gaussianCountRho(20) + clusteringRho(batching);
    expect(epsilonFromRho(others + tokens, DELTA)).toBeLessThanOrEqual(3);
    expect(epsilonFromRho(others + (privateTokenCap + 1) * cost.rhoPerPrivateToken, DELTA)).toBeGreaterThan(3);
    // The same release with RANDOM batching has exactly the clustering's rho less to pay for.
    const random = priceRelease(request({ batching: { mode: 'RANDOM' } }), DELTA, 50_000).cost;
    if (random.nonPrivate) throw new Error('expected a private cost');
    expect(random.clustering).toBeUndefined();
    expect(random.privateTokenCap).toBeGreaterThanOrEqual(privateTokenCap);
  });

  it('counts per label and cluster with its own sigma when the labels are declared', () => {
    const declared = request({ labelAllocation: { mode: 'DECLARED', proportions: [{ label: 'a', weight: 1 }, { label: 'b', weight: 1 }] }, batching: { mode: 'CLUSTERED', clusters: 2, iterations: 2, dimension: 64, clusteringEpsilon: 1, countSigma: 7 } });
    const { cost, batching } = priceRelease({ ...declared, privateTokenCap: 5, targetEpsilon: null }, DELTA, 50_000);
    if (cost.nonPrivate || batching.mode !== 'CLUSTERED') throw new Error('expected a private clustered cost');
    expect(cost.labelCount).toEqual({ sigma: 7, rho: gaussianCountRho(7) });
    expect(cost.rho).toBe(cost.generation!.rho + gaussianCountRho(7) + clusteringRho(batching));
  });

  it('a non-private reference clusters exactly and is charged nothing', () => {
    const { cost, batching } = priceRelease(request({ mode: 'NON_PRIVATE_REFERENCE', labelAllocation: null, batching: { mode: 'CLUSTERED', clusters: 2, iterations: 2, dimension: 64, clusteringEpsilon: 0, countSigma: 1 } }), DELTA, 50_000);
    expect(cost.nonPrivate).toBe(true);
    expect(batching).toMatchObject({ mode: 'CLUSTERED', sumSigma: 0, lloydCountSigma: 0 });
  });
});

describe('CLUSTERED batching: the label plan', () => {
  const topics = {
    a: ['how far is it from {x} to the sea', 'how tall is the {x} tower', 'when was {x} founded', 'when did {x} become a state'],
    b: ['who wrote the {x} novel', 'who painted the {x} portrait', 'what is the capital of {x}', 'what is the currency of {x}'],
  };
  const records = Object.entries(topics).flatMap(([label, templates]) =>
    Array.from({ length: 400 }, (_, i) => ({ label, text: templates[i % templates.length]!.replace('{x}', `place${i}`) })),
  );
  const batching: ClusteredBatching = { mode: 'CLUSTERED', clusters: 4, iterations: 4, dimension: 64, clusteringEpsilon: 5, sumSigma: 1, lloydCountSigma: 4, countSigma: 4 };

  it('has one group per label and cluster, with offsets, each holding its noisy centroid; declared label totals are kept exactly', () => {
    const plan = clusteredLabelPlan(new SeededRng('plan'), records, ['a', 'b'], batching, 10, { kind: 'PUBLIC', batches: new Map([['a', 30], ['b', 50]]) });
    expect(plan.map((entry) => [entry.label, entry.cluster])).toEqual([['a', 0], ['a', 1], ['a', 2], ['a', 3], ['b', 0], ['b', 1], ['b', 2], ['b', 3]]);
    expect(plan.filter((e) => e.label === 'a').reduce((s, e) => s + e.batches, 0)).toBe(30);
    expect(plan.filter((e) => e.label === 'b').reduce((s, e) => s + e.batches, 0)).toBe(50);
    let offset = 0;
    for (const entry of plan) {
      expect(entry.offset).toBe(offset);
      offset += entry.batches;
      expect(entry.centroid).toHaveLength(64);
      expect(Number.isInteger(entry.noisyCount)).toBe(true);
    }
  });

  it('splits a label\'s batches by its noisy cluster counts, and those counts follow the records (little noise)', () => {
    const plan = clusteredLabelPlan(new SeededRng('split'), records, ['a', 'b'], batching, 10, { kind: 'DP_COUNT', maxBatches: 100 });
    for (const label of ['a', 'b']) {
      const entries = plan.filter((e) => e.label === label);
      const centroids = entries.map((e) => Float64Array.from(e.centroid!));
      const exact = new Array<number>(4).fill(0);
      for (const record of records.filter((r) => r.label === label)) exact[nearestCentroid(recordFeatureVector(record.text, 64), centroids)]! += 1;
      entries.forEach((entry, j) => {
        expect(Math.abs(entry.noisyCount! - exact[j]!)).toBeLessThan(6 * 4); // six sigma
        // Largest remainder of the label's batches in proportion to max(0, noisy count).
        const total = entries.reduce((s, e) => s + e.batches, 0);
        const weight = Math.max(0, entry.noisyCount!) / entries.reduce((s, e) => s + Math.max(0, e.noisyCount!), 0);
        expect(Math.abs(entry.batches - total * weight)).toBeLessThan(1);
      });
      // About 400 records per label at s = 10: about 40 batches.
      expect(Math.abs(entries.reduce((s, e) => s + e.batches, 0) - 40)).toBeLessThanOrEqual(3);
    }
  });

  it('with the exact (non-private) Lloyd of the reference, clusters follow the topics better than chance', () => {
    const plan = clusteredLabelPlan(new SeededRng('reference'), records, ['a', 'b'], batching, 10, { kind: 'PUBLIC', batches: new Map([['a', 40], ['b', 40]]) }, true);
    const entries = plan.filter((e) => e.label === 'a');
    const centroids = entries.map((e) => Float64Array.from(e.centroid!));
    // Purity of the clusters with respect to the four question templates (chance would be about 0.25 per cluster).
    const byCluster = new Map<number, Map<number, number>>();
    records.filter((r) => r.label === 'a').forEach((record, i) => {
      const cluster = nearestCentroid(recordFeatureVector(record.text, 64), centroids);
      const counts = byCluster.get(cluster) ?? new Map<number, number>();
      counts.set(i % 4, (counts.get(i % 4) ?? 0) + 1);
      byCluster.set(cluster, counts);
    });
    const purity = [...byCluster.values()].reduce((s, counts) => s + Math.max(...counts.values()), 0) / 400;
    expect(purity).toBeGreaterThan(0.5);
    entries.forEach((entry) => expect(entry.noisyCount).toBe(Math.round(entry.noisyCount!)));
  });
});
