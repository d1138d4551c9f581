import { type BenchmarkResult, firstLine, type RowDetails, type UtilityRow } from './pipeline';
import { accuracySvg, automaticNotes, markdownTable } from './report';
import { type Example, stratifiedSample, stratifiedSplit } from './tasks';

const row = (setting: UtilityRow['setting'], epsilon: UtilityRow['epsilon'], accuracy: number): UtilityRow => ({
  task: 't',
  setting,
  epsilon,
  syntheticExamples: 10,
  accuracy,
  realDataAccuracy: 0.9,
  distinguishAuc: 0.75,
  publicTokenShare: setting === 'public-only' ? 1 : 0.5,
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
    expect(table[2]).toBe('| public only | 0.000 | 10 | 0.2000 | 0.9000 | 0.750 | 1.000 | 12.0 | 0 | 0.000 | 3 | 7.3 |');
    expect(table[6]).toContain('| ε = ∞ | ∞ (not charged) |');
  });

  it('plots one point per release in epsilon order, the line through the private ones and the reference', () => {
    const svg = accuracySvg('a <title>', [...rows].reverse());
    expect(svg.match(/<circle /g)).toHaveLength(5);
    expect(svg).toContain('a &lt;title&gt;');
    const labels = [...svg.matchAll(/text-anchor="middle">(public only|ε = [^<]+)</g)].map((m) => m[1]);
    expect(labels).toEqual(['public only', 'ε = 1', 'ε = 3', 'ε = 10', 'ε = ∞']);
    expect(svg.match(/<polyline points="([^"]+)"/)![1]!.split(' ')).toHaveLength(4);
  });

  it('notes releases whose targets resolved to the same mechanism', () => {
    const result = { rows, details } as unknown as BenchmarkResult;
    expect(automaticNotes(result)).toEqual([
      'ε = 3 and ε = 10 resolve to the same private-token cap (24): the same mechanism, each spending epsilon 2.075; their differences are sampling noise. A larger target buys nothing once the cap reaches max tokens.',
    ]);
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
