import { type Spread, withinSpread } from './metrics';
import { type BenchmarkResult, type RowDetails, type SettingSummary, type UtilityRow } from './pipeline';

/** Escapes text for SVG/XML. */
function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function settingLabel(row: Pick<UtilityRow, 'setting' | 'epsilon'>): string {
  if (row.setting === 'public-only') return 'public only';
  if (row.setting === 'non-private-reference') return 'ε = ∞';
  return `ε = ${row.epsilon}`;
}

/** The lines of the SVG besides the settings' points. */
export interface ReferenceLines {
  readonly realDataAccuracy: number;
  readonly bestConstantAccuracy: number;
  readonly chanceBalancedAccuracy: number;
}

const settingOrder = (summary: Pick<SettingSummary, 'setting' | 'epsilon'>) => (summary.setting === 'public-only' ? -1 : summary.epsilon === 'inf' ? Infinity : summary.epsilon);

/**
 * Accuracy against epsilon as a standalone SVG: per setting on a categorical x axis (public only,
 * each epsilon in increasing order, then infinity) the mean accuracy over runs with a bar from the
 * lowest to the highest run, and the mean balanced accuracy (hollow, dashed line); the private
 * releases and the reference joined by lines. Horizontal lines: the real-data accuracy (dashed),
 * the best constant answer's accuracy and chance balanced accuracy (dotted): a synthetic set at
 * those lines carries no signal.
 */
export function accuracySvg(title: string, summaries: readonly SettingSummary[], lines: ReferenceLines | null = null): string {
  const width = 680;
  const height = 420;
  const margin = { left: 64, right: 24, top: 48, bottom: 84 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const sorted = [...summaries].sort((a, b) => settingOrder(a) - settingOrder(b));
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
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 40}" text-anchor="middle">privacy budget of the release (categorical axis)</text>`);
  const runs = Math.max(0, ...summaries.map((summary) => summary.runs));
  parts.push(
    `<text x="${margin.left + plotWidth / 2}" y="${height - 16}" text-anchor="middle" fill="#555">● accuracy (mean of ${runs} run${runs === 1 ? '' : 's'}, bar: lowest to highest)   ○ balanced accuracy (mean)</text>`,
  );
  if (lines !== null) {
    const horizontal = (value: number, colour: string, dash: string, label: string, dy: number) => {
      parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(value)}" y2="${y(value)}" stroke="${colour}" stroke-dasharray="${dash}"/>`);
      parts.push(`<text x="${margin.left + plotWidth - 4}" y="${y(value) + dy}" text-anchor="end" fill="${colour}">${xml(label)}</text>`);
    };
    horizontal(lines.realDataAccuracy, '#2a7', '6 4', `trained on the real private records: ${lines.realDataAccuracy.toFixed(3)}`, -6);
    horizontal(lines.bestConstantAccuracy, '#777', '2 4', `best single label (accuracy): ${lines.bestConstantAccuracy.toFixed(3)}`, -6);
    horizontal(lines.chanceBalancedAccuracy, '#a6c', '2 4', `chance (balanced accuracy): ${lines.chanceBalancedAccuracy.toFixed(3)}`, 16);
  }
  const polyline = (value: (summary: SettingSummary) => number, colour: string, dash: string) => {
    const points = sorted
      .map((summary, index) => ({ summary, index }))
      .filter(({ summary }) => summary.setting !== 'public-only')
      .map(({ summary, index }) => `${x(index).toFixed(1)},${y(value(summary)).toFixed(1)}`);
    if (points.length > 1) parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  };
  polyline((summary) => summary.accuracy.mean, '#36c', '');
  polyline((summary) => summary.balancedAccuracy.mean, '#a6c', '5 3');
  sorted.forEach((summary, index) => {
    const colour = summary.setting === 'public-only' ? '#c63' : summary.setting === 'non-private-reference' ? '#666' : '#36c';
    const cx = x(index).toFixed(1);
    if (summary.runs > 1) parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(summary.accuracy.max).toFixed(1)}" y2="${y(summary.accuracy.min).toFixed(1)}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<circle cx="${cx}" cy="${y(summary.accuracy.mean).toFixed(1)}" r="5" fill="${colour}"/>`);
    parts.push(`<circle cx="${cx}" cy="${y(summary.balancedAccuracy.mean).toFixed(1)}" r="4" fill="white" stroke="#a6c" stroke-width="2"/>`);
    parts.push(`<text x="${cx}" y="${(y(Math.max(summary.accuracy.max, summary.balancedAccuracy.mean)) - 10).toFixed(1)}" text-anchor="middle">${summary.accuracy.mean.toFixed(3)}</text>`);
    parts.push(`<text x="${cx}" y="${margin.top + plotHeight + 18}" text-anchor="middle">${xml(settingLabel(summary))}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

const number = (value: number | null | undefined, digits: number) => (value === null || value === undefined ? 'n/a' : value.toFixed(digits));

/** The table as markdown, one line per release: the JSON fields, then what the quality report adds. */
export function markdownTable(rows: readonly UtilityRow[], details: readonly RowDetails[]): string {
  const lines = [
    '| setting | run | epsilon spent | synthetic examples | accuracy | balanced accuracy | label fidelity | blind fidelity | distinguishing AUC | public token share | examples / min | private-token cap | replay share | longest shared run (words) | mean words |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  rows.forEach((row, index) => {
    const detail = details[index]!;
    lines.push(
      `| ${settingLabel(row)} | ${row.run + 1} | ${row.setting === 'non-private-reference' ? '∞ (not charged)' : number(detail.spentEpsilon, 3)} | ${row.syntheticExamples} | ${row.accuracy.toFixed(4)} | ${row.balancedAccuracy.toFixed(4)} | ${row.labelFidelity.toFixed(3)} | ${row.blindFidelity.toFixed(3)} | ${number(
        row.distinguishAuc,
        3,
      )} | ${number(row.publicTokenShare, 3)} | ${row.examplesPerMinute.toFixed(1)} | ${detail.privateTokenCap} | ${number(detail.replayShare, 3)} | ${detail.longestSharedNgram ?? 'n/a'} | ${detail.meanWords.toFixed(1)} |`,
    );
  });
  return lines.join('\n');
}

/** `mean (min–max)` of a spread, or the value alone for one run. */
export function formatSpread(value: Spread | null, digits = 3): string {
  if (value === null) return 'n/a';
  return value.runs > 1 ? `${value.mean.toFixed(digits)} (${value.min.toFixed(digits)}–${value.max.toFixed(digits)})` : value.mean.toFixed(digits);
}

/** One line per setting: mean and range over its runs. */
export function summaryTable(summaries: readonly SettingSummary[]): string {
  const lines = [
    '| setting | runs | accuracy | balanced accuracy | label fidelity | blind fidelity | public token share | drafter statistic median |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const summary of summaries) {
    lines.push(
      `| ${settingLabel(summary)} | ${summary.runs} | ${formatSpread(summary.accuracy)} | ${formatSpread(summary.balancedAccuracy)} | ${formatSpread(summary.labelFidelity)} | ${formatSpread(summary.blindFidelity)} | ${formatSpread(summary.publicTokenShare)} | ${formatSpread(summary.drafterStatisticMedian)} |`,
    );
  }
  return lines.join('\n');
}

/** The drafter per release: public token share and the sparse-vector statistic's quantiles against its threshold. */
export function drafterTable(rows: readonly UtilityRow[]): string {
  const lines = ['| setting | run | public token share | tested steps | statistic p10 | p25 | median | p75 | p90 |', '|---|---|---|---|---|---|---|---|---|'];
  for (const row of rows) {
    if (row.setting !== 'private') continue;
    const q = row.drafterStatistic;
    lines.push(`| ${settingLabel(row)} | ${row.run + 1} | ${number(row.publicTokenShare, 3)} | ${q?.steps ?? 0} | ${number(q?.p10, 3)} | ${number(q?.p25, 3)} | ${number(q?.p50, 3)} | ${number(q?.p75, 3)} | ${number(q?.p90, 3)} |`);
  }
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
    const settings = [...new Set(rows.map(settingLabel))];
    if (settings.length < 2) continue;
    const spent = result.details[result.rows.indexOf(rows[0]!)]!.spentEpsilon;
    notes.push(
      `${settings.join(' and ')} resolve to the same private-token cap (${cap}): the same mechanism, each spending epsilon ${spent?.toFixed(3) ?? 'n/a'}; their differences are sampling noise. A larger target buys nothing once the cap reaches max tokens.`,
    );
  }
  notes.push(...spreadNotes(result.summaries, result.chanceBalancedAccuracy));
  return notes;
}

/**
 * What the run-to-run spread says: settings (in epsilon order) whose balanced accuracy ranges
 * overlap cannot be told apart, and settings whose range holds chance carry no measurable signal;
 * likewise label fidelity against the blind baseline.
 */
export function spreadNotes(summaries: readonly SettingSummary[], chance: number): string[] {
  const notes: string[] = [];
  const sorted = [...summaries].sort((a, b) => settingOrder(a) - settingOrder(b));
  const runs = Math.max(0, ...sorted.map((summary) => summary.runs));
  if (runs < 2) {
    notes.push('Each setting ran once: there is no run-to-run spread to judge differences by (use --seeds 3 or more).');
    return notes;
  }
  for (let i = 1; i < sorted.length; i += 1) {
    const [a, b] = [sorted[i - 1]!, sorted[i]!];
    if (withinSpread(a.balancedAccuracy, b.balancedAccuracy)) {
      notes.push(
        `${settingLabel(a)} and ${settingLabel(b)}: the difference in balanced accuracy (${formatSpread(a.balancedAccuracy)} against ${formatSpread(b.balancedAccuracy)}) is within the run-to-run spread.`,
      );
    }
  }
  const holds = (range: Spread, value: number) => range.min <= value && value <= range.max;
  const atChance = sorted.filter((summary) => holds(summary.balancedAccuracy, chance) || summary.balancedAccuracy.max < chance);
  if (atChance.length > 0) notes.push(`Not above chance (balanced accuracy ${chance.toFixed(3)} lies within the range of runs, or above it): ${atChance.map(settingLabel).join(', ')}.`);
  const blind = sorted.filter((summary) => summary.labelFidelity.min <= summary.blindFidelity.max);
  if (blind.length > 0) notes.push(`Label fidelity not above what a label-blind generator scores (ranges overlap): ${blind.map(settingLabel).join(', ')}.`);
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

Task: ${context.taskDescription}. Imported ${result.importedRecords} private records (${result.labels.length} labels: ${result.labels.join(', ')}); ${result.testRecords} test records. Always answering the most frequent private label scores ${result.majorityAccuracy.toFixed(4)} on the test records; the best single label ${result.bestConstantAccuracy.toFixed(4)}; chance balanced accuracy is ${result.chanceBalancedAccuracy.toFixed(4)}. Trained on the imported records, the classifier scores ${result.rows[0]?.realDataAccuracy.toFixed(4) ?? 'n/a'} (balanced ${result.rows[0]?.realDataBalancedAccuracy.toFixed(4) ?? 'n/a'}).

## Per setting (mean and range over runs)
${summaryTable(result.summaries)}

![test accuracy against epsilon](${context.svgFile})

## Per release
${markdownTable(result.rows, result.details)}

## Drafter (private releases)
${drafterTable(result.rows)}

Columns: *balanced accuracy* is the mean per-label recall on the test part (chance: 1 / labels,
whatever the label mix); *label fidelity* is the share of synthetic examples whose attached label
the classifier trained on the real private records predicts for their text; *blind fidelity* is
what a label-blind generator would score, \`sum over labels l of a(l) p(l)\` with a(l) the share of
synthetic examples attached to l and p(l) the share the real-data classifier predicts as l on the
same texts (bench/utility/metrics.ts): label fidelity above it is signal from the label. The drafter
statistic is the sparse-vector test's \`d\` (L1 distance between the private rows' mean next-token
distribution and the public row's), read from the worker fleet's histogram in GET /metrics
(synthgate_drafter_statistic, buckets of 0.025 up to 1): a step is private when \`d\` plus noise
reaches the noisy threshold.

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
- whole run (import, ${result.rows.length} release${result.rows.length === 1 ? '' : 's'}, classifiers): ${(context.wallSeconds / 60).toFixed(1)} minutes wall clock

## Notes
${notes.map((note) => `- ${note}`).join('\n')}
`;
}
