/*
 * `npm run bench:generation [-- --json] [-- --batch-sizes 31,127,255 --modes kv-cache,recompute,resample-per-token
 *   --prompt-tokens 96 --new-tokens 64 --threads 1 --model <folder>
 *   --engine-rows 256 --engine-steps 16 --engine-layouts in-place,folded,concat --engine-rounds 1
 *   --engine-only --no-engine --thread-layouts --compare-rotary --compare-rounds 3
 *   --aggregation in-graph,per-row --engine-aggregation --prefill-chunks 1024,4096]`
 *
 * Speed of one synthetic example (s private prompts of ~96 tokens plus the public prompt, 64 new
 * tokens) in each decoding mode of libs/generation, with the production mechanism of libs/privacy
 * (c 10, tau 2, drafter sigma 0.2). Each measurement runs in its own child process, so its peak
 * resident memory is its own. Model: models/default when it exists, else stories260K imported from
 * ../shared/data into a temporary folder. Figures from a shared machine are indicative only.
 *
 * Reported per (batch size, mode): generated tokens per second over the whole example (prefill
 * included), the share of the time spent outside ONNX Runtime (the token mechanism: clip,
 * aggregate, sample, sparse vector; plus feed preparation), peak RSS, and the KV cache's bytes
 * (kv-cache mode; the other modes keep no cache between steps).
 *
 * Then the engine's decode step on its own (bench/generation-engine.ts): decodeGflops against
 * matmulPeakGflops measured in the same process, bindingCopyShare and the kernel profile of a step,
 * logits and KV-cache bytes, for the model in the in-place layout the engine runs and in the stored
 * concat layout (before/after), and for a random model of the same shape with a 32k vocabulary.
 * `--thread-layouts` also compares two single-thread workers with one two-thread worker.
 *
 * In-graph aggregation (libs/privacy's token-aggregation.ts built into the decoder graph): kv-cache
 * examples run with each of `--aggregation` (default `in-graph`, what production runs; `per-row`
 * returns every private row's logits to the sampler). `--engine-aggregation` measures only the
 * engine rows that compare the two (model and vocab-32k, production layout, drafter on).
 * `--compare-rotary` runs the in-place engine with RotaryEmbedding and with the RoPE-folded
 * projection in one process, their calls interleaved (`--compare-rounds` fresh batches each).
 * `--prefill-chunks` runs the examples once per prefill chunk size (tokens per prefill call,
 * `prefillChunkTokens`), each in its own process for its peak RSS, and times the prefill of every
 * chunk size in one process, interleaved, so their speed ratios share the machine's load.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DECODING_MODES, type DecodingMode, type GenerationModel, importModel, loadModel } from '@synthgate/generation';
import { SeededRng } from '@synthgate/privacy';
import { buildLlamaOnnx, type RotaryForm } from '../libs/generation/src/model/llama-graph.builder';
import { tinyArchitecture, tinyWeights } from '../libs/generation/src/testing/tiny-llama';
import { compareRotaryForms, type EngineRow, type EngineShape, measureAggregationPair, measureEngine, measurePrefillChunks, type PrefillChunkRow } from './generation-engine';

interface Options {
  readonly json: boolean;
  readonly batchSizes: number[];
  readonly modes: DecodingMode[];
  readonly promptTokens: number;
  readonly newTokens: number;
  readonly threads: number;
  readonly model: string | null;
  readonly engineRows: number;
  readonly engineSteps: number;
  /** Which engine rows: `in-place` (RotaryEmbedding), `folded` (in-place, RoPE-folded projection), `concat`. */
  readonly engineLayouts: string[];
  readonly engineRounds: number;
  readonly examples: boolean;
  readonly engine: boolean;
  readonly threadLayouts: boolean;
  readonly aggregations: ('in-graph' | 'per-row')[];
  readonly engineAggregation: boolean;
  readonly compareRotary: boolean;
  readonly compareRounds: number;
  /** Prefill chunk sizes to compare; empty: the model's default only. */
  readonly prefillChunks: number[];
}

/** One measurement: the fields the issue asks for, plus a few that explain them. */
interface Row {
  model: string;
  batchSize: number;
  promptTokens: number;
  newTokens: number;
  mode: DecodingMode;
  /** kv-cache only: whether the private rows were aggregated in the graph. */
  aggregation: 'in-graph' | 'per-row' | null;
  tokensPerSecond: number;
  outsideOrtShare: number;
  peakRssBytes: number;
  kvCacheBytes: number;
  logitsBytesPerStep: number;
  msPerStep: number;
  prefillMs: number;
  mechanismShare: number;
  privateSteps: number;
  /** Tokens per prefill call; null: the model's default. */
  prefillChunkTokens: number | null;
  /** RSS right after the model is loaded, before any example. */
  loadedRssBytes: number;
  /** `planMemory(...).peakBytesEstimate` for this batch (kv-cache mode). */
  plannedPeakBytes: number;
  /** kv-cache: tokens/s of the worker's first example (the warm-up, same shape); null for the other modes. */
  firstExampleTokensPerSecond: number | null;
}

const REPO = resolve(__dirname, '..', '..');
const SHARED_STORIES = resolve(REPO, '..', 'shared', 'data', 'models', 'stories260K', 'stories260K.gguf');

function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (flag: string, fallback: string): string[] => (value(flag) ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  const modes = list('--modes', DECODING_MODES.join(',')) as DecodingMode[];
  for (const mode of modes) if (!DECODING_MODES.includes(mode)) throw new Error(`--modes: unknown mode ${mode}`);
  return {
    json: argv.includes('--json'),
    batchSizes: list('--batch-sizes', '31,127,255').map(Number),
    modes,
    promptTokens: Number(value('--prompt-tokens') ?? 96),
    newTokens: Number(value('--new-tokens') ?? 64),
    threads: Number(value('--threads') ?? 1),
    model: value('--model') ?? null,
    engineRows: Number(value('--engine-rows') ?? 256),
    engineSteps: Number(value('--engine-steps') ?? 16),
    engineLayouts: list('--engine-layouts', 'in-place,folded,concat'),
    engineRounds: Number(value('--engine-rounds') ?? 1),
    examples: !argv.includes('--engine-only'),
    engine: !argv.includes('--no-engine'),
    threadLayouts: argv.includes('--thread-layouts'),
    aggregations: list('--aggregation', 'in-graph').map((a) => {
      if (a !== 'in-graph' && a !== 'per-row') throw new Error(`--aggregation: unknown ${a} (in-graph, per-row)`);
      return a;
    }),
    engineAggregation: argv.includes('--engine-aggregation'),
    compareRotary: argv.includes('--compare-rotary'),
    compareRounds: Number(value('--compare-rounds') ?? 3),
    prefillChunks: value('--prefill-chunks') ? list('--prefill-chunks', '').map(Number) : [],
  };
}

/** Simple English for prompts; each row starts at a different word, so rows differ. */
const TEXT = (
  'Once upon a time there was a little girl named Lily who lived in a small house near the park with her mom and dad. ' +
  'Every morning she went outside to play with her red ball and her best friend Tom, a boy who liked to climb trees. ' +
  'One day the sun was warm and the sky was blue, so they ran to the big tree by the pond to look at the ducks. ' +
  'Tom found a shiny stone in the grass and gave it to Lily, and she said thank you and smiled because she was happy. ' +
  'Then a dog came running and barked at the ducks, and the ducks flew away over the water while the children laughed. ' +
  'When it was time to go home, mom made soup and bread, and Lily told her about the stone, the dog and the ducks.'
).split(' ');

/** A prompt of at most `tokens` tokens (as close to it as whole words allow) for row `row`. */
function promptFor(model: GenerationModel, row: number, tokens: number): string {
  const words: string[] = [`Story ${row + 1}:`];
  for (let i = 0; ; i += 1) {
    const next = [...words, TEXT[(row * 7 + i) % TEXT.length]!];
    if (model.tokenizer.encode(next.join(' ')).length > tokens) break;
    words.push(next[next.length - 1]!);
  }
  return words.join(' ');
}

async function child(modelDir: string, batchSize: number, mode: DecodingMode, aggregation: 'in-graph' | 'per-row' | null, chunk: number | null, options: Options): Promise<Row> {
  const model = await loadModel(modelDir, { threads: options.threads, verifyHashes: false, kvCacheLimitBytes: 64 * 1024 ** 3, ...(chunk ? { prefillChunkTokens: chunk } : {}) });
  const loadedRssBytes = process.memoryUsage().rss;
  const prompts = Array.from({ length: batchSize }, (_, i) => promptFor(model, i, options.promptTokens));
  const publicPrompt = promptFor(model, batchSize, options.promptTokens);
  const pool = Array.from({ length: 4 * batchSize }, (_, i) => promptFor(model, i, options.promptTokens));
  const params = {
    mechanism: 'private-prediction' as const,
    clip: 10,
    expectedBatchSize: batchSize,
    temperature: 2,
    publicTemperature: 1,
    drafter: { threshold: 0.5, sigma: 0.2 },
    privateTokenCap: options.newTokens,
  };
  const request = { privatePrompts: prompts, publicPrompt, mode, resamplePool: pool, ignoreEndOfSequence: true, inGraphAggregation: aggregation === 'in-graph' };
  // Warm-up, as in a long-running worker: JIT-compiled mechanism, ONNX Runtime's kernels and arena.
  // kv-cache's is an example of the same shape (the worker's previous batch of the release: its
  // cache memory is then resident and reused, KvCacheMemory), reported as the first example; the
  // other modes keep nothing between examples, and their warm-up is cut to 16 tokens (minutes otherwise).
  const warmTokens = mode === 'kv-cache' ? options.newTokens : Math.min(16, options.newTokens);
  const warm = await model.generateExample({ ...request, params: { ...params, maxNewTokens: warmTokens }, rng: new SeededRng('warm') });
  const result = await model.generateExample({ ...request, params: { ...params, maxNewTokens: options.newTokens }, rng: new SeededRng('bench') });
  const timings = result.stepTimings;
  const promptTokens = Math.max(...[...prompts, publicPrompt].map((p) => model.tokenizer.encode(p).length));
  const row: Row = {
    model: model.name,
    batchSize,
    promptTokens,
    newTokens: result.tokenIds.length,
    mode,
    aggregation,
    tokensPerSecond: result.tokenIds.length / (timings.totalMs / 1e3),
    outsideOrtShare: timings.outsideOrtMs / timings.totalMs,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    // Every cache buffer the engine holds (one per tensor in the in-place layout, two in concat).
    kvCacheBytes: mode === 'kv-cache' ? model.planMemory(batchSize + 1, promptTokens, options.newTokens).kvBufferBytes : 0,
    // In-graph: two float64 sums of length V and the public row's logits.
    logitsBytesPerStep: aggregation === 'in-graph' ? model.info.vocabSize * (2 * 8 + 4) : (batchSize + 1) * model.info.vocabSize * 4,
    msPerStep: timings.decodeMs / Math.max(1, timings.steps - 1),
    prefillMs: timings.prefillMs,
    mechanismShare: timings.mechanismMs / timings.totalMs,
    privateSteps: result.privateSteps,
    prefillChunkTokens: chunk,
    loadedRssBytes,
    plannedPeakBytes: mode === 'kv-cache' ? model.planMemory(batchSize + 1, promptTokens, options.newTokens).peakBytesEstimate : 0,
    firstExampleTokensPerSecond: mode === 'kv-cache' ? warm.tokenIds.length / (warm.stepTimings.totalMs / 1e3) : null,
  };
  await model.release();
  return row;
}

/** An engine measurement's request, passed to its child process as JSON. */
interface EngineJob {
  readonly label: string;
  readonly modelPath: string;
  readonly shape: EngineShape;
  readonly inPlace: boolean;
  readonly rotary?: RotaryForm;
  readonly threads: number;
  readonly profileDir: string | null;
  readonly aggregation?: 'in-graph' | 'per-row' | null;
  /** Both aggregation paths in one process, step by step in turn. */
  readonly paired?: boolean;
}

async function engineChild(job: EngineJob, options: Options): Promise<EngineRow[]> {
  if (job.paired) return measureAggregationPair(job.modelPath, job.shape, { label: job.label, rows: options.engineRows, promptTokens: options.promptTokens, steps: options.engineSteps, threads: job.threads });
  return [await measureEngine(job.modelPath, job.shape, {
    label: job.label,
    rows: options.engineRows,
    promptTokens: options.promptTokens,
    steps: options.engineSteps,
    threads: job.threads,
    inPlace: job.inPlace,
    ...(job.rotary ? { rotary: job.rotary } : {}),
    profileDir: job.profileDir,
    aggregation: job.aggregation ?? null,
  })];
}

function forkChild<T>(args: string[], argv: string[]): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const proc = fork(__filename, [...argv, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: T | null = null;
    proc.on('message', (message) => {
      result = message as T;
    });
    proc.on('exit', (code) => (result ? resolvePromise(result) : reject(new Error(`measurement ${args.join(' ')} failed (exit ${code})`))));
  });
}

/** The shape of a model folder's graph, from its config.json. */
function shapeOf(modelDir: string): EngineShape {
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
  const heads = config.num_attention_heads!;
  return {
    vocabSize: config.vocab_size!,
    hiddenSize: config.hidden_size!,
    intermediateSize: config.intermediate_size!,
    numLayers: config.num_hidden_layers!,
    numHeads: heads,
    numKvHeads: config.num_key_value_heads ?? heads,
    headDim: config.head_dim ?? config.hidden_size! / heads,
  };
}

/** A random model of `shape` with a 32k vocabulary, written to `dir` (only its graph is needed). */
function randomVocab32k(shape: EngineShape, dir: string): { path: string; shape: EngineShape } {
  const big = { ...shape, vocabSize: 32_000 };
  const arch = tinyArchitecture({ ...big, maxPositions: 1024, tiedEmbeddings: true, bosTokenId: null, eosTokenIds: [] });
  const path = join(dir, 'vocab32k.onnx');
  writeFileSync(path, buildLlamaOnnx(arch, tinyWeights(arch, 32), { metadata: { 'synthgate.source': 'bench:random-vocab-32k' } }));
  return { path, shape: big };
}

async function runEngine(modelDir: string, options: Options, argv: string[]): Promise<EngineRow[]> {
  const temp = mkdtempSync(join(tmpdir(), 'bench-engine-'));
  try {
    const shape = shapeOf(modelDir);
    const modelPath = join(modelDir, 'model.onnx');
    const random = randomVocab32k(shape, temp);
    const name = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')).name as string;
    const aggregationJobs: EngineJob[] = [name, 'random-vocab-32k'].flatMap((label) =>
      (['per-row', 'in-graph'] as const).map((aggregation) => ({
        label,
        modelPath: label === name ? modelPath : random.path,
        shape: label === name ? shape : random.shape,
        inPlace: true,
        threads: options.threads,
        profileDir: temp,
        aggregation,
      })),
    );
    // Both paths in one process each (the ratio that load does not skew), then each in its own process with its profile.
    const pairedJobs: EngineJob[] = [name, 'random-vocab-32k'].map((label) => ({
      label,
      modelPath: label === name ? modelPath : random.path,
      shape: label === name ? shape : random.shape,
      inPlace: true,
      threads: options.threads,
      profileDir: null,
      paired: true,
    }));
    const base: EngineJob[] = [
      { label: name, modelPath, shape, inPlace: true, threads: options.threads, profileDir: temp },
      // The in-place graph before issue 16 item 3: RoPE folded into the projection, no RotaryEmbedding.
      { label: name, modelPath, shape, inPlace: true, rotary: 'folded', threads: options.threads, profileDir: temp },
      { label: name, modelPath, shape, inPlace: false, threads: options.threads, profileDir: temp },
      { label: 'random-vocab-32k', modelPath: random.path, shape: random.shape, inPlace: true, threads: options.threads, profileDir: temp },
      { label: 'random-vocab-32k', modelPath: random.path, shape: random.shape, inPlace: false, threads: options.threads, profileDir: temp },
    ];
    const layoutJobs = base.filter((job) => options.engineLayouts.includes(job.inPlace ? (job.rotary ?? 'in-place') : 'concat'));
    const jobs: EngineJob[] = options.engineAggregation ? [...pairedJobs, ...aggregationJobs] : [...layoutJobs, ...pairedJobs, ...aggregationJobs];
    const rows: EngineRow[] = [];
    // Rounds repeat the jobs in turn (A, B, A, B), so a slower period of a shared machine hits each.
    for (let round = 0; round < options.engineRounds; round += 1) {
      for (const job of jobs) rows.push(...(await forkChild<EngineRow[]>(['--engine-child', JSON.stringify(job)], argv)));
    }
    if (options.threadLayouts) {
      // Two single-thread workers at once against one two-thread worker, same model and batch.
      const single = { label: `${name} 2x1`, modelPath, shape, inPlace: true, threads: 1, profileDir: null };
      rows.push(...(await Promise.all([0, 1].map(() => forkChild<EngineRow[]>(['--engine-child', JSON.stringify(single)], argv)))).flat());
      rows.push(...(await forkChild<EngineRow[]>(['--engine-child', JSON.stringify({ ...single, label: `${name} 1x2`, threads: 2 })], argv)));
    }
    return rows;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

function printEngine(rows: EngineRow[]): void {
  const header = ['model', 'layout', 'aggregation', 'thr', 'rows', 'ctx', 'ms/step', 'ORT ms', 'mech ms', 'decode GF/s', 'peak GF/s', 'of peak', 'binding', 'logits MB', 'KV MB'];
  const lines = rows.map((r) => [
    r.model,
    r.rotary === 'folded' ? 'in-place, folded rope' : r.layout,
    r.aggregation ?? '-',
    String(r.threads),
    String(r.rows),
    String(r.context),
    r.msPerStep.toFixed(2),
    r.ortMsPerStep.toFixed(2),
    r.mechanismMsPerStep.toFixed(2),
    r.decodeGflops.toFixed(1),
    r.matmulPeakGflops.toFixed(1),
    `${((100 * r.decodeGflops) / r.matmulPeakGflops).toFixed(1)}%`,
    Number.isNaN(r.bindingCopyShare) ? '-' : `${(100 * r.bindingCopyShare).toFixed(1)}%`,
    (r.logitsBytesPerStep / 2 ** 20).toFixed(1),
    (r.kvCacheBytes / 2 ** 20).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('\nengine decode step (each row measured in its own process, MatMul peak in the same process)');
  console.log(format(header));
  for (const line of lines) console.log(format(line));
  // The issue's figure: vocab-32k step time (forward and mechanism) against the model's, per aggregation path.
  for (const aggregation of ['per-row', 'in-graph'] as const) {
    const of = (big: boolean): EngineRow | undefined => rows.find((r) => r.aggregation === aggregation && r.model.startsWith('random-vocab-32k') === big);
    const [small, big] = [of(false), of(true)];
    if (small && big) {
      const total = (r: EngineRow): number => r.msPerStep + r.mechanismMsPerStep;
      console.log(`${aggregation}: step with mechanism ${total(small).toFixed(1)} ms (${small.model}) vs ${total(big).toFixed(1)} ms (vocab 32k): ${(total(big) / total(small)).toFixed(2)}x`);
    }
  }
  for (const r of rows.filter((x) => Object.keys(x.profile).length > 0)) {
    const top = Object.entries(r.profile)
      .slice(0, 8)
      .map(([op, share]) => `${op} ${(100 * share).toFixed(1)}%`)
      .join(', ');
    console.log(`profile ${r.model} ${r.rotary === 'folded' ? 'in-place, folded rope' : r.layout}${r.aggregation ? ` ${r.aggregation}` : ''}: outside kernels ${(100 * r.bindingCopyShare).toFixed(1)}%; ${top}`);
  }
}

function runChild(modelDir: string, batchSize: number, mode: DecodingMode, aggregation: 'in-graph' | 'per-row' | null, chunk: number | null, argv: string[]): Promise<Row> {
  return forkChild<Row>(['--child', modelDir, String(batchSize), mode, aggregation ?? 'none', String(chunk ?? 0)], argv);
}

async function resolveModel(options: Options): Promise<{ dir: string; cleanup: () => void }> {
  if (options.model) return { dir: resolve(options.model), cleanup: () => undefined };
  const fallback = join(REPO, 'models', 'default');
  if (existsSync(join(fallback, 'manifest.json'))) return { dir: fallback, cleanup: () => undefined };
  if (!existsSync(SHARED_STORIES)) {
    throw new Error(`no models/default and no ${SHARED_STORIES}; import a model first: npx synthgate model import <gguf|folder> --name default`);
  }
  const temp = mkdtempSync(join(tmpdir(), 'bench-generation-'));
  await importModel(SHARED_STORIES, { name: 'stories260K', modelsDir: temp });
  return { dir: join(temp, 'stories260K'), cleanup: () => rmSync(temp, { recursive: true, force: true }) };
}

function printTable(rows: Row[]): void {
  const header = ['batch', 'mode', 'chunk', 'prompt', 'new', 'tok/s', 'first tok/s', 'ms/step', 'prefill ms', 'outside ORT', 'mechanism', 'peak RSS MB', 'loaded MB', 'planned MB', 'KV cache MB', 'logits MB'];
  const lines = rows.map((r) => [
    String(r.batchSize),
    r.aggregation ? `${r.mode} (${r.aggregation})` : r.mode,
    r.prefillChunkTokens === null ? 'default' : String(r.prefillChunkTokens),
    String(r.promptTokens),
    String(r.newTokens),
    r.tokensPerSecond.toFixed(2),
    r.firstExampleTokensPerSecond === null ? '-' : r.firstExampleTokensPerSecond.toFixed(2),
    r.msPerStep.toFixed(2),
    r.prefillMs.toFixed(0),
    `${(100 * r.outsideOrtShare).toFixed(1)}%`,
    `${(100 * r.mechanismShare).toFixed(1)}%`,
    (r.peakRssBytes / 2 ** 20).toFixed(0),
    (r.loadedRssBytes / 2 ** 20).toFixed(0),
    r.plannedPeakBytes ? (r.plannedPeakBytes / 2 ** 20).toFixed(0) : '-',
    (r.kvCacheBytes / 2 ** 20).toFixed(1),
    (r.logitsBytesPerStep / 2 ** 20).toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]): string => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`model ${rows[0]?.model ?? '?'}, Node ${process.version}`);
  console.log(format(header));
  for (const line of lines) console.log(format(line));
  const settings = [...new Map(rows.map((r) => [`${r.batchSize}/${r.prefillChunkTokens}`, r])).values()];
  for (const { batchSize: batch, prefillChunkTokens: chunk } of settings) {
    const of = (mode: DecodingMode): Row | undefined => rows.find((r) => r.batchSize === batch && r.prefillChunkTokens === chunk && r.mode === mode);
    const kv = of('kv-cache');
    if (!kv) continue;
    const inGraph = rows.find((r) => r.batchSize === batch && r.aggregation === 'in-graph');
    const perRow = rows.find((r) => r.batchSize === batch && r.aggregation === 'per-row');
    if (inGraph && perRow) console.log(`batch ${batch}: kv-cache in-graph/per-row aggregation ${(inGraph.tokensPerSecond / perRow.tokensPerSecond).toFixed(2)}x tokens/s`);
    const parts = (['recompute', 'resample-per-token'] as const)
      .map((mode) => {
        const other = of(mode);
        return other ? `kv-cache/${mode} ${(kv.tokensPerSecond / other.tokensPerSecond).toFixed(1)}x` : null;
      })
      .filter(Boolean);
    if (parts.length) console.log(`batch ${batch}${chunk === null ? '' : `, prefill chunks of ${chunk} tokens`}: ${parts.join(', ')}`);
  }
}

function printPrefillChunks(rows: PrefillChunkRow[]): void {
  const base = rows[rows.length - 1]!;
  console.log(`\nprefill of ${base.rows} rows x ${base.promptTokens} tokens by chunk size (one process, interleaved, median of ${base.rounds} rounds; ratios to ${base.chunkTokens})`);
  console.log('chunk tokens  rows/call  kv-cache prefill ms  ratio  logits-only prefill ms  ratio');
  for (const r of rows) {
    console.log(
      [
        String(r.chunkTokens).padStart(12),
        String(r.rowsPerCall).padStart(9),
        r.kvCacheMs.toFixed(0).padStart(19),
        (r.kvCacheMs / base.kvCacheMs).toFixed(2).padStart(5),
        r.logitsOnlyMs.toFixed(0).padStart(22),
        (r.logitsOnlyMs / base.logitsOnlyMs).toFixed(2).padStart(5),
      ].join('  '),
    );
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseOptions(argv);
  const engineAt = argv.indexOf('--engine-child');
  if (engineAt >= 0) {
    process.send?.(await engineChild(JSON.parse(argv[engineAt + 1]!) as EngineJob, options));
    return;
  }
  const rotaryAt = argv.indexOf('--rotary-child');
  if (rotaryAt >= 0) {
    const dir = argv[rotaryAt + 1]!;
    const result = await compareRotaryForms(join(dir, 'model.onnx'), shapeOf(dir), {
      rows: options.engineRows,
      promptTokens: options.promptTokens,
      steps: options.engineSteps,
      threads: options.threads,
      rounds: options.compareRounds,
    });
    process.send?.(result);
    return;
  }
  const childAt = argv.indexOf('--child');
  if (childAt >= 0) {
    const [dir, batch, mode, aggregation, chunk] = argv.slice(childAt + 1);
    const row = await child(dir!, Number(batch), mode as DecodingMode, aggregation === 'none' ? null : (aggregation as 'in-graph' | 'per-row'), Number(chunk) || null, options);
    process.send?.(row);
    return;
  }
  const prefillAt = argv.indexOf('--prefill-child');
  if (prefillAt >= 0) {
    const dir = argv[prefillAt + 1]!;
    const rows = Math.max(...options.batchSizes) + 1;
    process.send?.(await measurePrefillChunks(join(dir, 'model.onnx'), shapeOf(dir).vocabSize, { chunks: options.prefillChunks, rows, promptTokens: options.promptTokens, threads: options.threads, rounds: 5 }));
    return;
  }
  const model = await resolveModel(options);
  try {
    const rows: Row[] = [];
    const chunks = options.prefillChunks.length > 0 ? options.prefillChunks : [null];
    for (const chunk of options.examples ? chunks : []) {
      for (const batchSize of options.batchSizes) {
        for (const mode of options.modes) {
          // Only kv-cache aggregates in the graph; the recompute modes return logits.
          for (const aggregation of mode === 'kv-cache' ? options.aggregations : [null]) {
            const row = await runChild(model.dir, batchSize, mode, aggregation, chunk, argv);
            rows.push(row);
            // Each row as it comes, so a long run's figures survive a failure further on.
            console.error(JSON.stringify(row));
            if (!options.json) {
              const setting = [aggregation, chunk ? `prefill chunks of ${chunk}` : null].filter(Boolean).join(', ');
              console.error(`measured ${mode}${setting ? ` (${setting})` : ''} at batch ${batchSize}: ${row.tokensPerSecond.toFixed(2)} tokens/s`);
            }
          }
        }
      }
    }
    const prefill = options.prefillChunks.length > 0 ? await forkChild<PrefillChunkRow[]>(['--prefill-child', model.dir], argv) : [];
    const engine = options.engine ? await runEngine(model.dir, options, argv) : [];
    const rotary = options.compareRotary ? await forkChild<Awaited<ReturnType<typeof compareRotaryForms>>>(['--rotary-child', model.dir], argv) : null;
    if (options.json) console.log(JSON.stringify({ examples: rows, prefill, engine, rotary }));
    else {
      if (rows.length > 0) printTable(rows);
      if (prefill.length > 0) printPrefillChunks(prefill);
      if (engine.length > 0) printEngine(engine);
      if (rotary) {
        console.log(`\nrotary forms, in-place engine, one process, calls interleaved (${options.engineRows} rows, MatMul peak ${rotary.matmulPeakGflops.toFixed(1)} GFLOP/s)`);
        for (const f of rotary.forms) {
          const share = (100 * f.decodeGflops) / rotary.matmulPeakGflops;
          console.log(`${f.rotary.padEnd(8)} prefill ${f.prefillMs.toFixed(0)} ms, step ${f.msPerStep.toFixed(2)} ms, ${f.decodeGflops.toFixed(1)} GFLOP/s (${share.toFixed(1)}% of peak)`);
        }
        const [a, b] = rotary.forms;
        console.log(`contrib / folded: prefill ${(a!.prefillMs / b!.prefillMs).toFixed(3)}, step ${(a!.msPerStep / b!.msPerStep).toFixed(3)}`);
      }
    }
  } finally {
    model.cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
