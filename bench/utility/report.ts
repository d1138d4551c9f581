import { type BenchmarkResult, type RowDetails, type UtilityRow } from './pipeline';

/** Escapes text for SVG/XML. */
function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function settingLabel(row: Pick<UtilityRow, 'setting' | 'epsilon'>): string {
  if (row.setting === 'public-only') return 'public only';
  if (row.setting === 'non-private-reference') return 'ε = ∞';
  return `ε = ${row.epsilon}`;
}

/**
 * Accuracy against epsilon as a standalone SVG: one point per release on a categorical x axis
 * (public only, each epsilon in increasing order, then infinity), the private releases and the
 * reference joined by a line, and the real-data accuracy as a dashed line.
 */
export function accuracySvg(title: string, rows: readonly UtilityRow[], majorityAccuracy: number | null = null): string {
  const width = 640;
  const height = 400;
  const margin = { left: 64, right: 24, top: 48, bottom: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const order = (row: UtilityRow) => (row.setting === 'public-only' ? -1 : row.epsilon === 'inf' ? Infinity : row.epsilon);
  const sorted = [...rows].sort((a, b) => order(a) - order(b));
  const x = (index: number) => margin.left + (sorted.length === 1 ? plotWidth / 2 : (index / (sorted.length - 1)) * plotWidth * 0.9 + plotWidth * 0.05);
  const y = (value: number) => margin.top + (1 - value) * plotHeight;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">${xml(title)}</text>`);
  for (let tick = 0; tick <= 10; tick += 2) {
    const value = tick / 10;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${y(value) + 4}" text-anchor="end">${value.toFixed(1)}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="black"/>`);
  parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="black"/>`);
  parts.push(`<text transform="translate(18 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">test accuracy</text>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 16}" text-anchor="middle">privacy budget of the release (categorical axis)</text>`);
  const real = rows[0]?.realDataAccuracy;
  if (real !== undefined) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(real)}" y2="${y(real)}" stroke="#2a7" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${margin.left + plotWidth - 4}" y="${y(real) - 6}" text-anchor="end" fill="#2a7">trained on the real private records: ${real.toFixed(3)}</text>`);
  }
  if (majorityAccuracy !== null) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(majorityAccuracy)}" y2="${y(majorityAccuracy)}" stroke="#999" stroke-dasharray="2 4"/>`);
    parts.push(`<text x="${margin.left + plotWidth - 4}" y="${y(majorityAccuracy) + 16}" text-anchor="end" fill="#777">always the most frequent label: ${majorityAccuracy.toFixed(3)}</text>`);
  }
  const line = sorted
    .map((row, index) => ({ row, index }))
    .filter(({ row }) => row.setting !== 'public-only')
    .map(({ row, index }) => `${x(index).toFixed(1)},${y(row.accuracy).toFixed(1)}`);
  if (line.length > 1) parts.push(`<polyline points="${line.join(' ')}" fill="none" stroke="#36c" stroke-width="2"/>`);
  sorted.forEach((row, index) => {
    const colour = row.setting === 'public-only' ? '#c63' : row.setting === 'non-private-reference' ? '#666' : '#36c';
    parts.push(`<circle cx="${x(index).toFixed(1)}" cy="${y(row.accuracy).toFixed(1)}" r="5" fill="${colour}"/>`);
    parts.push(`<text x="${x(index).toFixed(1)}" y="${(y(row.accuracy) - 10).toFixed(1)}" text-anchor="middle">${row.accuracy.toFixed(3)}</text>`);
    parts.push(`<text x="${x(index).toFixed(1)}" y="${margin.top + plotHeight + 18}" text-anchor="middle">${xml(settingLabel(row))}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const number = (value: number | null, digits: number) => (value === null ? 'n/a' : value.toFixed(digits));

/** The table as markdown: the JSON fields, then what the quality report adds. */
export function markdownTable(rows: readonly UtilityRow[], details: readonly RowDetails[]): string {
  const lines = [
    '| setting | epsilon spent | synthetic examples | accuracy | real-data accuracy | distinguishing AUC | public token share | examples / min | private-token cap | replay share | longest shared run (words) | mean words |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  rows.forEach((row, index) => {
    const detail = details[index]!;
    lines.push(
      `| ${settingLabel(row)} | ${row.setting === 'non-private-reference' ? '∞ (not charged)' : number(detail.spentEpsilon, 3)} | ${row.syntheticExamples} | ${row.accuracy.toFixed(4)} | ${row.realDataAccuracy.toFixed(4)} | ${number(
        row.distinguishAuc,
        3,
      )} | ${number(row.publicTokenShare, 3)} | ${row.examplesPerMinute.toFixed(1)} | ${detail.privateTokenCap} | ${number(detail.replayShare, 3)} | ${detail.longestSharedNgram ?? 'n/a'} | ${detail.meanWords.toFixed(1)} |`,
    );
  });
  return lines.join('\n');
}

export interface ReportContext {
  readonly taskName: string;
  readonly taskDescription: string;
  readonly command: string;
  readonly parameters: Record<string, unknown>;
  readonly machine: readonly string[];
  readonly svgFile: string;
  readonly wallSeconds: number;
  readonly notes: readonly string[];
}

/** Observations that follow from the numbers alone, e.g. releases whose mechanisms came out identical. */
export function automaticNotes(result: BenchmarkResult): string[] {
  const notes: string[] = [];
  const byCap = new Map<number, UtilityRow[]>();
  result.rows.forEach((row, index) => {
    if (row.setting !== 'private') return;
    const cap = result.details[index]!.privateTokenCap;
    byCap.set(cap, [...(byCap.get(cap) ?? []), row]);
  });
  for (const [cap, rows] of byCap) {
    if (rows.length < 2) continue;
    const spent = result.details[result.rows.indexOf(rows[0]!)]!.spentEpsilon;
    notes.push(
      `${rows.map(settingLabel).join(' and ')} resolve to the same private-token cap (${cap}): the same mechanism, each spending epsilon ${spent?.toFixed(3) ?? 'n/a'}; their differences are sampling noise. A larger target buys nothing once the cap reaches max tokens.`,
    );
  }
  return notes;
}

export function markdownReport(result: BenchmarkResult, context: ReportContext): string {
  const notes = [...context.notes, ...automaticNotes(result)];
  const parameterLines = Object.entries(context.parameters).map(([key, value]) => `| ${key} | ${typeof value === 'string' ? value : JSON.stringify(value)} |`);
  return `# Utility benchmark: ${context.taskName}

Written by \`${context.command}\` (bench/utility.bench.ts). Every synthetic set went through the
product: a data owner imported the private part into a benchmark dataset of a gateway on an
embedded PostgreSQL, requested each release, a worker process generated it, the owner published it
to its own organisation, and a consumer exported it (GET /releases/:id/export). A TF-IDF (hashed
word 1-2-grams) and multinomial logistic regression classifier (libs/text-classifier) trained on
each synthetic set is scored on the real held-out test part, next to the same classifier trained on
the imported records.

Task: ${context.taskDescription}. Imported ${result.importedRecords} private records (${result.labels.length} labels: ${result.labels.join(', ')}); ${result.testRecords} test records. Always answering the most frequent private label scores ${result.majorityAccuracy.toFixed(4)} on the test records.

${markdownTable(result.rows, result.details)}

![test accuracy against epsilon](${context.svgFile})

Columns: *epsilon spent* is the release's own cost at the dataset's delta (the private-token cap
is the largest that fits the target epsilon, DP label count included); *accuracy* is the test
accuracy of the classifier trained on the synthetic examples; *distinguishing AUC* is the
cross-validated (5 folds) ROC AUC of a classifier telling synthetic from real held-out text
(0.5: indistinguishable, 1: always told apart); *public token share* is the share of generated
tokens the public drafter produced (from the worker fleet's counters in GET /metrics); *examples /
min* is batches done over the release's running time, on this machine. *Replay share*, *longest
shared run* and *mean words* come from each release's quality report (DATA_OWNER view).

## Model and parameters
| | |
|---|---|
| model | ${result.model.name} (fingerprint \`${result.model.fingerprint.slice(0, 16)}…\`) |
${parameterLines.join('\n')}

## Machine
${context.machine.map((line) => `- ${line}`).join('\n')}
- whole run (import, ${result.rows.length} releases, classifiers): ${(context.wallSeconds / 60).toFixed(1)} minutes wall clock

## Notes
${notes.map((note) => `- ${note}`).join('\n')}
`;
}
