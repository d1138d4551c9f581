import { type BenchmarkResult, firstLine, parseHistogram, type RowDetails, statisticQuantiles, summarise, type UtilityRow } from './pipeline';
import { accuracySvg, automaticNotes, drafterTable, markdownReport, markdownTable, summaryTable } from './report';
import { type Example, stratifiedSample, stratifiedSplit } from './tasks';

const row = (setting: UtilityRow['setting'], epsilon: UtilityRow['epsilon'], accuracy: number, run = 0): UtilityRow => ({
  task: 't',
  setting,
  epsilon,
  run,
  syntheticExamples: 10,
  accuracy,
  balancedAccuracy: accuracy - 0.05,
  realDataAccuracy: 0.9,
  realDataBalancedAccuracy: 0.85,
  bestConstantAccuracy: 0.3,
  labelFidelity: 0.6,
  blindFidelity: 0.3,
  distinguishAuc: 0.75,
  publicTokenShare: setting === 'public-only' ? 1 : 0.5,
  drafterStatistic: setting === 'private' ? { steps: 40, p10: 0.05, p25: 0.1, p50: 0.2, p75: 0.3, p90: 0.45 } : null,
  examplesPerMinute: 12,
});
const detail = (privateTokenCap: number, spentEpsilon: number | null): RowDetails => ({
  releaseId: 'r',
  batches: 10,
  privateTokenCap,
  spentEpsilon,
  seconds: 50,
  meanWords: 7.25,
  replayShare: 0,
  longestSharedNgram: 3,
  duplicates: 0,
});

describe('utility report', () => {
  const rows = [row('public-only', 0, 0.2), row('private', 1, 0.3), row('private', 3, 0.35), row('private', 10, 0.34), row('non-private-reference', 'inf', 0.5)];
  const details = [detail(0, 0), detail(6, 0.99), detail(24, 2.075), detail(24, 2.075), detail(24, null)];

  it('tabulates every release', () => {
    const table = markdownTable(rows, details).split('\n');
    expect(table).toHaveLength(7);
    expect(table[2]).toBe('| public only | 1 | 0.000 | 10 | 0.2000 | 0.1500 | 0.600 | 0.300 | 0.750 | 1.000 | 12.0 | 0 | 0.000 | 3 | 7.3 |');
    expect(table[6]).toContain('| ε = ∞ | 1 | ∞ (not charged) |');
  });

  it('plots one point per setting in epsilon order, the lines through the private ones and the reference, and the floors', () => {
    const svg = accuracySvg('a <title>', summarise([...rows].reverse()), { realDataAccuracy: 0.9, bestConstantAccuracy: 0.3, chanceBalancedAccuracy: 0.25 });
    // An accuracy point and a balanced-accuracy point per setting.
    expect(svg.match(/<circle /g)).toHaveLength(10);
    expect(svg).toContain('a &lt;title&gt;');
    const labels = [...svg.matchAll(/text-anchor="middle">(public only|ε = [^<]+)</g)].map((m) => m[1]);
    expect(labels).toEqual(['public only', 'ε = 1', 'ε = 3', 'ε = 10', 'ε = ∞']);
    expect(svg.match(/<polyline points="([^"]+)"/)![1]!.split(' ')).toHaveLength(4);
    expect(svg).toContain('best single label (accuracy): 0.300');
    expect(svg).toContain('chance (balanced accuracy): 0.250');
    expect(svg).toContain('mean of 1 run,');
  });

  it('notes releases whose targets resolved to the same mechanism, and that one run has no spread', () => {
    const result = { rows, details, summaries: summarise(rows), chanceBalancedAccuracy: 0.25 } as unknown as BenchmarkResult;
    expect(automaticNotes(result)).toEqual([
      'ε = 3 and ε = 10 resolve to the same private-token cap (24): the same mechanism, each spending epsilon 2.075; their differences are sampling noise. A larger target buys nothing once the cap reaches max tokens.',
      'Each setting ran once: there is no run-to-run spread to judge differences by (use --seeds 3 or more).',
    ]);
  });

  it('summarises runs per setting and says which differences are within the run-to-run spread', () => {
    const repeated = [
      row('public-only', 0, 0.2, 0),
      row('public-only', 0, 0.3, 1),
      row('private', 1, 0.28, 0),
      row('private', 1, 0.4, 1),
      row('private', 3, 0.6, 0),
      row('private', 3, 0.7, 1),
    ];
    const summaries = summarise(repeated);
    expect(summaries.map((s) => [s.setting, s.epsilon, s.runs])).toEqual([
      ['public-only', 0, 2],
      ['private', 1, 2],
      ['private', 3, 2],
    ]);
    expect(summaries[1]!.accuracy).toMatchObject({ mean: expect.closeTo(0.34, 12), min: 0.28, max: 0.4 });
    expect(summaries[1]!.drafterStatisticMedian).toMatchObject({ mean: 0.2 });
    expect(summaryTable(summaries).split('\n')[3]).toBe('| ε = 1 | 2 | 0.340 (0.280–0.400) | 0.290 (0.230–0.350) | 0.600 (0.600–0.600) | 0.300 (0.300–0.300) | 0.500 (0.500–0.500) | 0.200 (0.200–0.200) |');
    const result = { rows: repeated, details: repeated.map(() => detail(6, 1)), summaries, chanceBalancedAccuracy: 0.2 } as unknown as BenchmarkResult;
    const notes = automaticNotes(result);
    expect(notes).toContain('public only and ε = 1: the difference in balanced accuracy (0.200 (0.150–0.250) against 0.290 (0.230–0.350)) is within the run-to-run spread.');
    expect(notes.some((note) => note.startsWith('ε = 1 and ε = 3: the difference'))).toBe(false);
    expect(notes).toContain('Not above chance (balanced accuracy 0.200 lies within the range of runs, or above it): public only.');
    expect(drafterTable(repeated).split('\n')[2]).toBe('| ε = 1 | 1 | 0.500 | 40 | 0.050 | 0.100 | 0.200 | 0.300 | 0.450 |');
  });

  it('writes "1 release" and "2 releases"', () => {
    const context = { taskName: 't', taskDescription: 'd', command: 'c', parameters: {}, machine: [], svgFile: 's.svg', wallSeconds: 60, notes: [] };
    const one = { rows: rows.slice(0, 1), details: details.slice(0, 1), summaries: summarise(rows.slice(0, 1)), labels: ['a'], model: { name: 'm', fingerprint: 'f' }, importedRecords: 1, testRecords: 1, majorityAccuracy: 0.3, bestConstantAccuracy: 0.3, chanceBalancedAccuracy: 0.5 } as unknown as BenchmarkResult;
    expect(markdownReport(one, context)).toContain('(import, 1 release, classifiers)');
    expect(markdownReport({ ...one, rows: rows.slice(0, 2), details: details.slice(0, 2) }, context)).toContain('(import, 2 releases, classifiers)');
  });

  it('reads the drafter statistic histogram back from the Prometheus text and takes quantiles of a release', () => {
    const text = [
      '# TYPE synthgate_drafter_statistic histogram',
      'synthgate_drafter_statistic_bucket{le="0.1"} 2',
      'synthgate_drafter_statistic_bucket{le="0.2"} 6',
      'synthgate_drafter_statistic_bucket{le="0.3"} 10',
      'synthgate_drafter_statistic_bucket{le="+Inf"} 10',
      'synthgate_drafter_statistic_sum 1.9',
    ].join('\n');
    const histogram = parseHistogram(text, 'synthgate_drafter_statistic');
    expect(histogram).toEqual({ bounds: [0.1, 0.2, 0.3], counts: [2, 4, 4, 0] });
    expect(statisticQuantiles(histogram)).toEqual({ steps: 10, p10: 0.05, p25: 0.1125, p50: 0.175, p75: 0.2375, p90: 0.275 });
    expect(parseHistogram('', 'synthgate_drafter_statistic')).toEqual({ bounds: [], counts: [] });
    expect(statisticQuantiles({ bounds: [], counts: [] })).toBeNull();
  });
});

describe('benchmark helpers', () => {
  it('keeps the first non-empty line of a continuation', () => {
    expect(firstLine('\n  What is it ?\nHere is another')).toBe('What is it ?');
    expect(firstLine('\n\n')).toBe('');
  });

  it('splits and samples each label in proportion, reproducibly', () => {
    const examples: Example[] = [...Array.from({ length: 80 }, (_, i) => ({ text: `a${i}`, label: 'a' })), ...Array.from({ length: 20 }, (_, i) => ({ text: `b${i}`, label: 'b' }))];
    const [first, second] = stratifiedSplit(examples, 0.25, 4);
    expect(second.filter((e) => e.label === 'a')).toHaveLength(20);
    expect(second.filter((e) => e.label === 'b')).toHaveLength(5);
    expect(first).toHaveLength(75);
    expect(new Set([...first, ...second].map((e) => e.text)).size).toBe(100);
    expect(stratifiedSplit(examples, 0.25, 4)).toEqual([first, second]);
    expect(stratifiedSplit(examples, 0.25, 5)[1]).not.toEqual(second);
    const sample = stratifiedSample(examples, 10, 1);
    expect(sample.map((e) => e.label).sort()).toEqual([...Array(8).fill('a'), 'b', 'b']);
  });
});
