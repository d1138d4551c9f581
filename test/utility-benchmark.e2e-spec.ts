/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { runUtilityBenchmark, type UtilityRow } from '../bench/utility/pipeline';
import { accuracySvg, markdownReport } from '../bench/utility/report';
import { type Example, type Task } from '../bench/utility/tasks';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker } from './setup/worker';

const METRICS_TOKEN = 'utility-benchmark-metrics-token';
const FIELDS = [
  'task',
  'setting',
  'epsilon',
  'run',
  'syntheticExamples',
  'accuracy',
  'balancedAccuracy',
  'realDataAccuracy',
  'realDataBalancedAccuracy',
  'bestConstantAccuracy',
  'labelFidelity',
  'blindFidelity',
  'distinguishAuc',
  'publicTokenShare',
  'drafterStatistic',
  'examplesPerMinute',
];

/** A tiny generated task: three topics, each with its own words. */
function generatedTask(): Task {
  const topics: Record<string, string[]> = {
    weather: ['rain', 'cloud', 'storm', 'sunny', 'wind', 'snow'],
    cooking: ['bake', 'oven', 'flour', 'salt', 'pan', 'soup'],
    sport: ['goal', 'match', 'team', 'score', 'coach', 'ball'],
  };
  let state = 12345;
  const pick = (words: string[]) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return words[(state >>> 8) % words.length]!;
  };
  const make = (count: number, offset: number): Example[] =>
    Array.from({ length: count }, (_, i) => {
      const label = Object.keys(topics)[i % 3]!;
      const words = topics[label]!;
      return { label, text: `the ${pick(words)} and the ${pick(words)} today number ${i + offset}` };
    });
  return { name: 'tiny-generated', description: 'three generated topics', privatePart: make(60, 0), test: make(30, 100), promptTemplate: 'A note about {label}: {text}\nAnother note about {label}:' };
}

describe('utility benchmark pipeline (tiny generated task, tiny random model)', () => {
  let gateway: TestGateway;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', ALLOW_BENCHMARK_DATASETS: 'true', METRICS_TOKEN });
    worker = await startTestWorker(gateway);
  });
  afterAll(async () => {
    await worker.close();
    await gateway.close();
  });

  it('runs public-only, private and non-private releases through the product and fills every field sanely', async () => {
    const task = generatedTask();
    const result = await runUtilityBenchmark(
      { url: gateway.url, adminToken: gateway.adminToken, metricsToken: METRICS_TOKEN },
      {
        task,
        epsilons: [2],
        reference: true,
        publicOnly: true,
        privateRecords: null,
        seed: 3,
        runs: 2,
        release: { model: null, expectedBatchSize: 5, maxTokens: 6, clip: 1, temperature: 1, publicTemperature: 1, topK: 0, drafter: { threshold: 0.5, sigma: 2 }, delta: 1e-6, countSigma: 5 },
      },
    );
    expect(result.rows.map((row) => [row.setting, row.epsilon, row.run])).toEqual([
      ['public-only', 0, 0],
      ['public-only', 0, 1],
      ['private', 2, 0],
      ['private', 2, 1],
      ['non-private-reference', 'inf', 0],
      ['non-private-reference', 'inf', 1],
    ]);
    expect(result.summaries.map((summary) => [summary.setting, summary.runs])).toEqual([
      ['public-only', 2],
      ['private', 2],
      ['non-private-reference', 2],
    ]);
    // 30 test records, 10 per topic: the best constant scores 1/3, as does chance balanced accuracy.
    expect(result.bestConstantAccuracy).toBeCloseTo(1 / 3, 12);
    expect(result.chanceBalancedAccuracy).toBeCloseTo(1 / 3, 12);
    expect(result).toMatchObject({ importedRecords: 60, testRecords: 30, labels: ['cooking', 'sport', 'weather'], model: { name: 'tiny' } });
    const realDataAccuracy = result.rows[0]!.realDataAccuracy;
    // The generated topics are separable by their words: the real-data classifier learns them.
    expect(realDataAccuracy).toBeGreaterThan(0.9);
    result.rows.forEach((row: UtilityRow, index) => {
      expect(Object.keys(row)).toEqual(FIELDS);
      expect(JSON.parse(JSON.stringify(row))).toEqual(row);
      expect(row.task).toBe('tiny-generated');
      expect(row.realDataAccuracy).toBe(realDataAccuracy);
      expect(row.bestConstantAccuracy).toBe(result.bestConstantAccuracy);
      expect(row.realDataBalancedAccuracy).toBeGreaterThan(0.9);
      for (const value of [row.accuracy, row.balancedAccuracy, row.realDataAccuracy, row.labelFidelity, row.blindFidelity, row.distinguishAuc!, row.publicTokenShare!]) {
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(1);
      }
      expect(row.examplesPerMinute).toBeGreaterThan(0);
      // Counts add up: one synthetic example per batch, and every label has at least one.
      const detail = result.details[index]!;
      expect(row.syntheticExamples).toBe(detail.batches);
      expect(row.syntheticExamples).toBeGreaterThanOrEqual(3);
      expect(detail.replayShare).not.toBeNull();
    });
    const [publicOnly, , privateRow, , reference] = result.rows;
    // 60 records at s = 5: 12 batches for the declared label mix; the DP count gives each label at least one.
    expect(publicOnly!.syntheticExamples).toBe(12);
    expect(reference!.syntheticExamples).toBe(12);
    expect(publicOnly!.publicTokenShare).toBe(1);
    expect(reference!.publicTokenShare).toBe(0);
    expect(result.details[2]!.spentEpsilon).toBeGreaterThan(0);
    expect(result.details[2]!.spentEpsilon).toBeLessThanOrEqual(2);
    expect(result.details[4]!.spentEpsilon).toBeNull();
    expect(privateRow!.distinguishAuc).not.toBeNull();
    // Only private releases test the drafter; each of them tested every one of its steps.
    expect(publicOnly!.drafterStatistic).toBeNull();
    expect(reference!.drafterStatistic).toBeNull();
    expect(privateRow!.drafterStatistic!.steps).toBeGreaterThanOrEqual(privateRow!.syntheticExamples);
    expect(privateRow!.drafterStatistic!.p10).toBeLessThanOrEqual(privateRow!.drafterStatistic!.p90);

    const svg = accuracySvg('tiny', result.summaries, { realDataAccuracy: realDataAccuracy, bestConstantAccuracy: result.bestConstantAccuracy, chanceBalancedAccuracy: result.chanceBalancedAccuracy });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(6);
    const markdown = markdownReport(result, { taskName: 'tiny', taskDescription: task.description, command: 'test', parameters: { 'batch size': 5 }, machine: ['test machine'], svgFile: 'tiny.svg', wallSeconds: 1, notes: ['n'] });
    expect(markdown).toContain('| public only | 1 | 0.000 | 12 |');
    expect(markdown).toContain('| ε = ∞ | 2 | ∞ (not charged) | 12 |');
    expect(markdown).toContain('![test accuracy against epsilon](tiny.svg)');
    expect(markdown).toContain('(import, 6 releases, classifiers)');
  });

  it('runs the non-private reference on records, never on the public prompt alone, even at one record per batch', async () => {
    // Hash partitioning at s = 1 leaves about a third of the batches empty; the reference deals
    // the records evenly instead, so every batch decodes from a record and no token is public.
    const result = await runUtilityBenchmark(
      { url: gateway.url, adminToken: gateway.adminToken, metricsToken: METRICS_TOKEN },
      {
        task: generatedTask(),
        epsilons: [],
        reference: true,
        publicOnly: false,
        privateRecords: null,
        seed: 4,
        release: { model: null, expectedBatchSize: 1, maxTokens: 3, clip: 1, temperature: 1, publicTemperature: 1, topK: 0, drafter: null, delta: 1e-6, countSigma: 5 },
      },
    );
    expect(result.rows).toHaveLength(1);
    expect(result.rows[0]).toMatchObject({ setting: 'non-private-reference', syntheticExamples: 60, publicTokenShare: 0 });
  });
});
