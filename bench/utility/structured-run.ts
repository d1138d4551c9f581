import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type ExampleParams, loadModel } from '@synthgate/generation';
import { planRelease, SeededRng } from '@synthgate/privacy';
import { recordJson, type RecordSchema, type StructuredRecord, validateRecord } from '@synthgate/records';
import { fieldBuckets, loadTaggedFile, movieRecord, movieSchema, slotsInText, totalVariation } from './mit-movies';

/** Options of the structured benchmark (bench:utility --task mit-movies). */
export interface StructuredBenchOptions {
  readonly dataDir: string;
  readonly modelDir: string;
  readonly outDir: string | null;
  readonly epsilons: readonly number[];
  readonly privateRecords: number;
  readonly expectedBatchSize: number;
  readonly clip: number;
  readonly temperature: number;
  readonly delta: number;
  readonly drafter: { readonly threshold: number; readonly sigma: number };
  /** Sample among the public row's top k tokens (0: off). */
  readonly topK: number;
  readonly seed: number;
  readonly threads: number;
  readonly log: (message: string) => void;
}

interface SettingResult {
  readonly name: string;
  readonly epsilon: number | null;
  readonly drafter: boolean;
  readonly privateTokenCap: number | null;
  readonly records: StructuredRecord[];
  readonly valid: number;
  readonly tv: Record<string, number>;
  readonly slotsFound: number;
  readonly slotsTotal: number;
  readonly publicSteps: number;
  readonly privateSteps: number;
  readonly forcedSteps: number;
  readonly forwards: number;
  readonly tokens: number;
  readonly seconds: number;
}

const TEMPLATE_BEFORE = 'Movie search: ';
const PUBLIC_PROMPT = 'Movie search:';

/**
 * Runs the structured benchmark in-process on the engine (the same `generateExample` with a record
 * schema that the worker runs): a seeded sample of the train split is the private part, dealt into
 * batches of `expectedBatchSize`; each setting generates one record per batch. Scores against the test split.
 */
export async function runStructuredBenchmark(options: StructuredBenchOptions): Promise<SettingResult[]> {
  const train = loadTaggedFile(options.dataDir, 'train');
  const test = loadTaggedFile(options.dataDir, 'test');
  const schema = movieSchema(train);
  const rng = new SeededRng(`mit-movies-${options.seed}`);
  const shuffled = [...train];
  for (let i = shuffled.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rng.nextDouble() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const privatePart = shuffled.slice(0, options.privateRecords).map((query) => movieRecord(schema, query));
  const heldOut = test.map((query) => movieRecord(schema, query));
  const batchCount = Math.max(1, Math.floor(privatePart.length / options.expectedBatchSize));
  const batches = Array.from({ length: batchCount }, (_, b) => privatePart.filter((_, i) => i % batchCount === b));
  const model = await loadModel(options.modelDir, { threads: options.threads });
  const maxNewTokens = model.recordTokenBound(schema);
  const settings: { name: string; epsilon: number | null; drafter: boolean; speculative: boolean; nonPrivate: boolean; publicOnly: boolean }[] = [
    { name: 'public only', epsilon: null, drafter: false, speculative: false, nonPrivate: true, publicOnly: true },
    ...options.epsilons.flatMap((epsilon) => [
      { name: `epsilon ${epsilon}`, epsilon, drafter: false, speculative: false, nonPrivate: false, publicOnly: false },
      { name: `epsilon ${epsilon}, drafter`, epsilon, drafter: true, speculative: false, nonPrivate: false, publicOnly: false },
      { name: `epsilon ${epsilon}, drafter, speculative`, epsilon, drafter: true, speculative: true, nonPrivate: false, publicOnly: false },
    ]),
    { name: 'inf (non-private)', epsilon: null, drafter: false, speculative: false, nonPrivate: true, publicOnly: false },
  ];
  const results: SettingResult[] = [];
  try {
    for (const setting of settings) {
      const drafter = setting.drafter ? options.drafter : null;
      let cap = 10_000;
      if (setting.epsilon !== null) {
        cap = planRelease({ clip: options.clip, expectedBatchSize: options.expectedBatchSize, temperature: options.temperature, ...(drafter ? { svtSigma: drafter.sigma } : {}) }, { epsilon: setting.epsilon, delta: options.delta }).privateTokenCap;
        if (cap < 1) {
          options.log(`${setting.name}: the budget allows no private token (r = 0); skipped`);
          continue;
        }
      }
      const records: StructuredRecord[] = [];
      let publicSteps = 0;
      let privateSteps = 0;
      let forcedSteps = 0;
      let forwards = 0;
      let tokens = 0;
      const started = performance.now();
      for (const [index, batch] of batches.entries()) {
        const sampling = { expectedBatchSize: options.expectedBatchSize, temperature: options.temperature, publicTemperature: 1, topK: options.topK, maxNewTokens };
        const params: ExampleParams = setting.publicOnly
          ? { mechanism: 'public-only', expectedBatchSize: options.expectedBatchSize, publicTemperature: 1, privateTokenCap: 0, maxNewTokens }
          : setting.nonPrivate
            ? { mechanism: 'non-private-reference', ...sampling, privateTokenCap: cap }
            : { mechanism: 'private-prediction', ...sampling, clip: options.clip, drafter, privateTokenCap: cap };
        const example = await model.generateExample({
          privatePrompts: setting.publicOnly ? [] : batch.map((record) => `${TEMPLATE_BEFORE}${recordJson(schema, record)}\n\n${PUBLIC_PROMPT}`),
          publicPrompt: PUBLIC_PROMPT,
          params,
          rng: new SeededRng(`mit-movies-${options.seed}-${setting.name}-${index}`),
          record: { schema },
          ...(setting.speculative ? { speculative: { maxDraftTokens: 4 } } : {}),
        });
        records.push(example.record!);
        publicSteps += example.publicSteps;
        privateSteps += example.privateSteps;
        forcedSteps += example.forcedSteps;
        forwards += example.stepTimings.batchForwards;
        tokens += example.tokenIds.length;
      }
      const seconds = (performance.now() - started) / 1000;
      const result = score(setting.name, setting.epsilon, setting.drafter, setting.epsilon === null ? null : cap, schema, records, heldOut, { publicSteps, privateSteps, forcedSteps, forwards, tokens, seconds });
      options.log(`${setting.name}: valid ${result.valid}/${records.length}, mean TV ${mean(Object.values(result.tv)).toFixed(3)}, public share ${(publicSteps / Math.max(1, publicSteps + privateSteps)).toFixed(2)}, ${(records.length / (seconds / 60)).toFixed(1)} examples/min`);
      results.push(result);
    }
  } finally {
    await model.release();
  }
  if (options.outDir) writeFileSync(join(options.outDir, 'utility-mit-movies.md'), report(options, schema, privatePart.length, batchCount, heldOut.length, results));
  return results;
}

function score(
  name: string,
  epsilon: number | null,
  drafter: boolean,
  privateTokenCap: number | null,
  schema: RecordSchema,
  records: StructuredRecord[],
  heldOut: readonly StructuredRecord[],
  counts: { publicSteps: number; privateSteps: number; forcedSteps: number; forwards: number; tokens: number; seconds: number },
): SettingResult {
  const valid = records.filter((record) => validateRecord(schema, JSON.parse(JSON.stringify(record)) as Record<string, unknown>, { source: 'json', defaultMaxChars: 100_000 }).problems.length === 0).length;
  const tv: Record<string, number> = {};
  for (const field of schema.fields) {
    tv[field.name] = totalVariation(records.map((r) => fieldBuckets(r)[field.name]!), heldOut.map((r) => fieldBuckets(r)[field.name]!));
  }
  let slotsFound = 0;
  let slotsTotal = 0;
  for (const record of records) {
    const [found, total] = slotsInText(record);
    slotsFound += found;
    slotsTotal += total;
  }
  return { name, epsilon, drafter, privateTokenCap, records, valid, tv, slotsFound, slotsTotal, ...counts };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function report(options: StructuredBenchOptions, schema: RecordSchema, privateCount: number, batchCount: number, heldOutCount: number, results: readonly SettingResult[]): string {
  const fields = schema.fields.map((f) => f.name);
  const lines = [
    '# Utility on MIT Movies (structured records, issue 18)',
    '',
    '`npm run bench:utility -- --task mit-movies` (in-process on the engine: the same `generateExample` with a record schema that the worker runs for a structured release; the gateway and worker path is covered by `test/releases-structured.e2e-spec.ts`).',
    '',
    `Private part: ${privateCount} queries of the train split (seed ${options.seed}), dealt into ${batchCount} batches of s = ${options.expectedBatchSize}; one synthetic record per batch and setting. Held out: the ${heldOutCount} queries of the test split. Model: ${relative(process.cwd(), options.modelDir) || '.'}. c = ${options.clip}, tau = ${options.temperature}, tau_pub = 1, top-k ${options.topK} (not in the public-only mechanism, which has none), delta = ${options.delta}; drafter theta = ${options.drafter.threshold}, sigma = ${options.drafter.sigma}. The private-token cap r follows from epsilon (tight conversion); a record still open at r is finished by public steps.`,
    '',
    'Schema (public metadata): ' + '`' + JSON.stringify(schema) + '`',
    '',
    `| setting | r | parse + schema | ${fields.map((f) => `TV ${f}`).join(' | ')} | mean TV | slots in text | public token share (forced) | tokens per private token | batched passes per record | tokens per record | examples/min |`,
    `|---|---|---|${fields.map(() => '---|').join('')}---|---|---|---|---|---|---|`,
  ];
  for (const r of results) {
    const steps = r.publicSteps + r.privateSteps;
    lines.push(
      `| ${r.name} | ${r.privateTokenCap ?? '-'} | ${((100 * r.valid) / r.records.length).toFixed(0)}% (${r.valid}/${r.records.length}) | ${fields.map((f) => r.tv[f]!.toFixed(3)).join(' | ')} | ${mean(Object.values(r.tv)).toFixed(3)} | ${r.slotsTotal ? `${r.slotsFound}/${r.slotsTotal}` : '-'} | ${(r.publicSteps / Math.max(1, steps)).toFixed(2)} (${(r.forcedSteps / Math.max(1, steps)).toFixed(2)}) | ${r.privateSteps ? (r.tokens / r.privateSteps).toFixed(1) : '-'} | ${(r.forwards / r.records.length).toFixed(1)} | ${(r.tokens / r.records.length).toFixed(1)} | ${(r.records.length / (r.seconds / 60)).toFixed(1)} |`,
    );
  }
  lines.push('', '## Two synthetic records per setting', '');
  for (const r of results) {
    lines.push(`- ${r.name}:`);
    for (const record of r.records.slice(0, 2)) lines.push(`  - \`${JSON.stringify(record)}\``);
  }
  lines.push('');
  return lines.join('\n');
}
