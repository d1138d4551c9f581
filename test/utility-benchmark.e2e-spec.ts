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
const FIELDS = ['task', 'setting', 'epsilon', 'syntheticExamples', 'accuracy', 'realDataAccuracy', 'distinguishAuc', 'publicTokenShare', 'examplesPerMinute'];

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
        release: { model: null, batchSize: 5, maxTokens: 6, clip: 1, temperature: 1, publicTemperature: 1, topK: 0, drafter: { threshold: 0.5, sigma: 2 }, delta: 1e-6, countSigma: 5 },
      },
    );
    expect(result.rows.map((row) => [row.setting, row.epsilon])).toEqual([
      ['public-only', 0],
      ['private', 2],
      ['non-private-reference', 'inf'],
    ]);
    expect(result).toMatchObject({ importedRecords: 60, testRecords: 30, labels: ['cooking', 'sport', 'weather'], model: { name: 'tiny' } });
    const realDataAccuracy = result.rows[0]!.realDataAccuracy;
    // The generated topics are separable by their words: the real-data classifier learns them.
    expect(realDataAccuracy).toBeGreaterThan(0.9);
    result.rows.forEach((row: UtilityRow, index) => {
      expect(Object.keys(row)).toEqual(FIELDS);
      expect(JSON.parse(JSON.stringify(row))).toEqual(row);
      expect(row.task).toBe('tiny-generated');
      expect(row.realDataAccuracy).toBe(realDataAccuracy);
      for (const value of [row.accuracy, row.realDataAccuracy, row.distinguishAuc!, row.publicTokenShare!]) {
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
    const [publicOnly, privateRow, reference] = result.rows;
    // 60 records at s = 5: 12 batches for the declared label mix; the DP count gives each label at least one.
    expect(publicOnly!.syntheticExamples).toBe(12);
    expect(reference!.syntheticExamples).toBe(12);
    expect(publicOnly!.publicTokenShare).toBe(1);
    expect(reference!.publicTokenShare).toBe(0);
    expect(result.details[1]!.spentEpsilon).toBeGreaterThan(0);
    expect(result.details[1]!.spentEpsilon).toBeLessThanOrEqual(2);
    expect(result.details[2]!.spentEpsilon).toBeNull();
    expect(privateRow!.distinguishAuc).not.toBeNull();

    const svg = accuracySvg('tiny', result.rows);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    const markdown = markdownReport(result, { taskName: 'tiny', taskDescription: task.description, command: 'test', parameters: { 'batch size': 5 }, machine: ['test machine'], svgFile: 'tiny.svg', wallSeconds: 1, notes: ['n'] });
    expect(markdown).toContain('| public only | 0.000 | 12 |');
    expect(markdown).toContain('| ε = ∞ | ∞ (not charged) | 12 |');
    expect(markdown).toContain('![test accuracy against epsilon](tiny.svg)');
  });
});
