/*
 * The engine part of `npm run bench:generation`: one decode step of the KV-cached engine measured
 * on its own, in the same process as a 1024^3 MatMul through the same runtime, so every figure is a
 * ratio taken under the same machine load.
 *
 * - decodeGflops: the model's FLOPs of a decode step (q/k/v, output, MLP and head projections,
 *   attention over the used context; not the extra rotated q/k columns of the RoPE-folded graph
 *   form, so every row of a model divides the same count) over the step's wall time (the engine's
 *   forward: feeds, session.run, writing the new slots; not the token mechanism).
 * - matmulPeakGflops: a [1024, 1024] x [1024, 1024] MatMul through onnxruntime-node, same threads.
 * - bindingCopyShare: the part of session.run's wall time outside ORT's kernels (from ORT's own
 *   profile): the binding's copies of inputs/outputs and the runtime's overhead between kernels.
 * - logitsBytesPerStep: the logits a step hands to JavaScript; kvCacheBytes: every cache buffer the
 *   batch holds.
 * - mechanismMsPerStep: libs/privacy's sampler on the step's logits (clip, aggregate, sample).
 * - aggregation (rows measured with it set): the production layout, the private rows in one batch
 *   and the public row in its own, with the drafter on; `in-graph` aggregates the private rows in
 *   the graph (only two float64 vectors and the public row come back), `per-row` returns their
 *   logits to the sampler. ms/step is then both batches' forwards.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { type AggregatedStep, PrivateTokenSampler, SeededRng } from '@synthgate/privacy';
import { prefillChunkRows, prefillRows } from '../libs/generation/src/runtime/batch-prefill';
import { KvCacheBatch } from '../libs/generation/src/runtime/kv-cache-batch';
import { type LlamaArchitecture } from '../libs/generation/src/model/llama-architecture';
import { type RotaryForm } from '../libs/generation/src/model/llama-graph.builder';
import { OnnxDecoder } from '../libs/generation/src/runtime/onnx-decoder';

/** What the FLOP count needs of a Llama-family graph. */
export type EngineShape = Pick<LlamaArchitecture, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim'>;

/** One engine measurement. */
export interface EngineRow {
  model: string;
  layout: 'in-place' | 'concat';
  /** Set for the rows that compare the aggregation paths (production layout, drafter on). */
  aggregation: 'in-graph' | 'per-row' | null;
  /** How the in-place graph rotates q and k (null for concat, which runs as stored, folded). */
  rotary: RotaryForm | null;
  threads: number;
  rows: number;
  context: number;
  msPerStep: number;
  ortMsPerStep: number;
  mechanismMsPerStep: number;
  decodeGflops: number;
  matmulPeakGflops: number;
  bindingCopyShare: number;
  logitsBytesPerStep: number;
  kvCacheBytes: number;
  /** Kernel time per op type, as shares of session.run's wall time (from ORT's profile). */
  profile: Record<string, number>;
}

/** The model's FLOPs of one decode step of `rows` rows attending over `context` positions. */
export function decodeStepFlops(shape: EngineShape, rows: number, context: number): number {
  const { hiddenSize: d, numHeads: nH, numKvHeads: nKv, headDim: hd, intermediateSize: inter } = shape;
  const qkv = d * (nH + 2 * nKv) * hd;
  const perLayer = 2 * (qkv + nH * hd * d + d * 2 * inter + inter * d) + 2 * 2 * nH * hd * context;
  return rows * (shape.numLayers * perLayer + 2 * d * shape.vocabSize);
}

/** GFLOP/s of a 1024^3 MatMul through onnxruntime-node with `threads` intra-op threads. */
export async function matmulPeakGflops(threads: number): Promise<number> {
  const n = 1024;
  const weight = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const info = (name: string): onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } } });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'matmul',
      node: [{ opType: 'MatMul', input: ['a', 'b'], output: ['c'] }],
      initializer: [{ name: 'b', dims: [n, n], dataType: 1, rawData: new Uint8Array(weight.buffer) }],
      input: [info('a')],
      output: [info('c')],
    },
  }).finish();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  const a = new ort.Tensor('float32', weight.slice(), [n, n]);
  for (let i = 0; i < 3; i += 1) await session.run({ a });
  const runs = 12;
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    await session.run({ a });
    times.push(performance.now() - started);
  }
  await session.release();
  // The median run: the machine is shared, a few runs are slowed by other work.
  times.sort((x, y) => x - y);
  return (2 * n * n * n) / (times[runs >> 1]! * 1e6);
}

/** Kernel time per op type and in total (microseconds) from an ORT profile, over its last `lastRuns` runs. */
function readProfile(path: string, lastRuns: number): { kernelUs: number; runUs: number; byOp: Record<string, number> } {
  const events = JSON.parse(readFileSync(path, 'utf8')) as { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((x, y) => x.ts - y.ts);
  const measured = runs.slice(-lastRuns);
  const from = measured[0]?.ts ?? Number.POSITIVE_INFINITY;
  let kernelUs = 0;
  const byOp: Record<string, number> = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    kernelUs += e.dur;
    const op = e.args?.op_name ?? '?';
    byOp[op] = (byOp[op] ?? 0) + e.dur;
  }
  return { kernelUs, runUs: measured.reduce((s, e) => s + e.dur, 0), byOp };
}

/**
 * Decodes `steps` steps of `rows` rows after prompts of `promptTokens` random tokens, and reports
 * the step's cost. With `profileDir`, a second, profiled pass gives the kernel time per op type.
 */
export async function measureEngine(
  modelPath: string,
  shape: EngineShape,
  options: {
    label: string;
    rows: number;
    promptTokens: number;
    steps: number;
    threads: number;
    inPlace: boolean;
    rotary?: RotaryForm;
    profileDir: string | null;
    aggregation?: 'in-graph' | 'per-row' | null;
  },
): Promise<EngineRow> {
  const aggregation = options.aggregation ?? null;
  const prompts = Array.from({ length: options.rows }, (_, r) => Array.from({ length: options.promptTokens }, (_, j) => 3 + ((r * 131 + j * 17) % (shape.vocabSize - 3))));
  const run = async (profilePrefix: string | null): Promise<{ wall: number[]; ort: number[]; mechanism: number[]; cacheBytes: number; decoder: OnnxDecoder }> => {
    const decoder = await OnnxDecoder.load(modelPath, {
      threads: options.threads,
      executionProvider: 'cpu',
      inPlaceCache: options.inPlace,
      // `per-row` runs the graph as before this change, with no aggregation in it.
      inGraphAggregation: aggregation !== 'per-row',
      ...(options.rotary ? { rotary: options.rotary } : {}),
      ...(profilePrefix ? { profileFilePrefix: profilePrefix } : {}),
    });
    const warm = 3;
    if (aggregation) return runSplit(decoder, warm);
    const batch = new KvCacheBatch(decoder, prompts, { chunkTokens: 4096, padTokenId: 0, vocabSize: shape.vocabSize, maxNewTokens: options.steps + warm });
    const sampler = new PrivateTokenSampler(shape.vocabSize, { clip: 10, expectedBatchSize: options.rows - 1, temperature: 2, publicTemperature: 1 }, new SeededRng('engine'));
    let logits = await batch.prefill();
    const wall: number[] = [];
    const ort: number[] = [];
    const mechanism: number[] = [];
    for (let step = 0; step < options.steps + warm; step += 1) {
      const m0 = performance.now();
      // Every row but the last is private, the last stands for the public row.
      const token = sampler.next(logits, options.rows - 1, logits.subarray((options.rows - 1) * shape.vocabSize)).token;
      const m1 = performance.now();
      const ortBefore = batch.ortMs;
      logits = await batch.append(token);
      if (step >= warm) {
        wall.push(performance.now() - m1);
        ort.push(batch.ortMs - ortBefore);
        mechanism.push(m1 - m0);
      }
    }
    // The concat layout holds the past it feeds and the present ORT returns: two caches per step.
    const cacheBytes = (decoder.signature.cacheLayout === 'in-place' ? 1 : 2) * batch.cacheBytes;
    batch.dispose();
    return { wall, ort, mechanism, cacheBytes, decoder };
  };
  /** The production layout: private rows in one batch (aggregated in the graph or not), the public row apart. */
  const runSplit = async (decoder: OnnxDecoder, warm: number): Promise<{ wall: number[]; ort: number[]; mechanism: number[]; cacheBytes: number; decoder: OnnxDecoder }> => {
    const privateCount = options.rows - 1;
    const sampler = new PrivateTokenSampler(shape.vocabSize, { clip: 10, expectedBatchSize: privateCount, temperature: 2, publicTemperature: 1, drafter: { threshold: 0.5, sigma: 0.2 } }, new SeededRng('engine'));
    const request = aggregation === 'in-graph' ? sampler.aggregation : null;
    const sums = { clippedSum: new Float64Array(shape.vocabSize), softmaxSum: new Float64Array(shape.vocabSize) };
    const step: AggregatedStep = { rows: privateCount, clippedSum: sums.clippedSum, softmaxSum: sums.softmaxSum };
    const batchOptions = { chunkTokens: 4096, padTokenId: 0, vocabSize: shape.vocabSize, maxNewTokens: options.steps + warm };
    const privateBatch = new KvCacheBatch(decoder, prompts.slice(0, privateCount), { ...batchOptions, aggregation: request ? { request, into: sums } : null });
    const publicBatch = new KvCacheBatch(decoder, prompts.slice(privateCount), batchOptions);
    const clear = (): void => {
      sums.clippedSum.fill(0);
      sums.softmaxSum.fill(0);
    };
    clear();
    let privateLogits = await privateBatch.prefill();
    let publicLogits = await publicBatch.prefill();
    const wall: number[] = [];
    const ort: number[] = [];
    const mechanism: number[] = [];
    for (let i = 0; i < options.steps + warm; i += 1) {
      const m0 = performance.now();
      const token = request ? sampler.nextAggregated(step, publicLogits).token : sampler.next(privateLogits, privateCount, publicLogits).token;
      const m1 = performance.now();
      const ortBefore = privateBatch.ortMs + publicBatch.ortMs;
      clear();
      privateLogits = await privateBatch.append(token);
      publicLogits = await publicBatch.append(token);
      if (i >= warm) {
        wall.push(performance.now() - m1);
        ort.push(privateBatch.ortMs + publicBatch.ortMs - ortBefore);
        mechanism.push(m1 - m0);
      }
    }
    const cacheBytes = (decoder.signature.cacheLayout === 'in-place' ? 1 : 2) * (privateBatch.cacheBytes + publicBatch.cacheBytes);
    privateBatch.dispose();
    publicBatch.dispose();
    return { wall, ort, mechanism, cacheBytes, decoder };
  };
  const plain = await run(null);
  const layout = plain.decoder.signature.cacheLayout;
  await plain.decoder.release();
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  let profile: Record<string, number> = {};
  let bindingCopyShare = Number.NaN;
  if (options.profileDir) {
    const prefix = join(options.profileDir, `${options.label}-${layout}-${options.rows}${aggregation ? `-${aggregation}` : ''}`);
    const profiled = await run(prefix);
    profiled.decoder.endProfiling();
    await profiled.decoder.release();
    const file = readdirSync(options.profileDir).map((f) => join(options.profileDir!, f)).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
    if (file && existsSync(file)) {
      // The measured steps are the last runs (prefill and warm-up runs come first).
      // The split layout runs two graphs a step (private rows, public row).
      const { kernelUs, byOp } = readProfile(file, profiled.ort.length * (aggregation ? 2 : 1));
      const runWallUs = 1e3 * profiled.ort.reduce((s, x) => s + x, 0);
      bindingCopyShare = Math.max(0, 1 - kernelUs / runWallUs);
      profile = Object.fromEntries(Object.entries(byOp).map(([op, us]) => [op, us / runWallUs]).sort((x, y) => (y[1] as number) - (x[1] as number)));
      rmSync(file, { force: true });
    }
  }
  const context = options.promptTokens + 3 + options.steps / 2;
  const msPerStep = mean(plain.wall);
  const peak = await matmulPeakGflops(options.threads);
  return {
    model: options.label,
    layout: layout,
    aggregation,
    rotary: layout === 'in-place' ? (options.rotary ?? 'contrib') : null,
    threads: options.threads,
    rows: options.rows,
    context: Math.round(context),
    msPerStep,
    ortMsPerStep: mean(plain.ort),
    mechanismMsPerStep: mean(plain.mechanism),
    decodeGflops: decodeStepFlops(shape, options.rows, context) / (msPerStep * 1e6),
    matmulPeakGflops: peak,
    bindingCopyShare,
    // In-graph: two float64 sums of length V and the public row's float32 logits.
    logitsBytesPerStep: aggregation === 'in-graph' ? shape.vocabSize * (2 * 8 + 4) : options.rows * shape.vocabSize * 4,
    kvCacheBytes: plain.cacheBytes,
    profile,
  };
}

/** Per-step figures of one aggregation path in {@link measureAggregationPair}. */
interface PathTimes {
  wall: number[];
  ort: number[];
  mechanism: number[];
}

/**
 * The two aggregation paths of the production layout (private rows in one batch, the public row in
 * its own, drafter on) measured in one process, step by step in turn, so machine load falls on both
 * alike: `per-row` on the graph without aggregation, `in-graph` on the graph with it. Returns one
 * row each (no profile: measureEngine's separate rows carry it).
 */
export async function measureAggregationPair(
  modelPath: string,
  shape: EngineShape,
  options: { label: string; rows: number; promptTokens: number; steps: number; threads: number },
): Promise<EngineRow[]> {
  const prompts = Array.from({ length: options.rows }, (_, r) => Array.from({ length: options.promptTokens }, (_, j) => 3 + ((r * 131 + j * 17) % (shape.vocabSize - 3))));
  const privateCount = options.rows - 1;
  const warm = 3;
  const paths = await Promise.all(
    (['per-row', 'in-graph'] as const).map(async (aggregation) => {
      const decoder = await OnnxDecoder.load(modelPath, { threads: options.threads, executionProvider: 'cpu', inGraphAggregation: aggregation === 'in-graph' });
      const sampler = new PrivateTokenSampler(shape.vocabSize, { clip: 10, expectedBatchSize: privateCount, temperature: 2, publicTemperature: 1, drafter: { threshold: 0.5, sigma: 0.2 } }, new SeededRng('engine'));
      const request = aggregation === 'in-graph' ? sampler.aggregation : null;
      const sums = { clippedSum: new Float64Array(shape.vocabSize), softmaxSum: new Float64Array(shape.vocabSize) };
      const batchOptions = { chunkTokens: 4096, padTokenId: 0, vocabSize: shape.vocabSize, maxNewTokens: options.steps + warm };
      return {
        aggregation,
        decoder,
        sampler,
        request,
        sums,
        step: { rows: privateCount, clippedSum: sums.clippedSum, softmaxSum: sums.softmaxSum } as AggregatedStep,
        privateBatch: new KvCacheBatch(decoder, prompts.slice(0, privateCount), { ...batchOptions, aggregation: request ? { request, into: sums } : null }),
        publicBatch: new KvCacheBatch(decoder, prompts.slice(privateCount), batchOptions),
        privateLogits: new Float32Array(0) as Float32Array,
        publicLogits: new Float32Array(0) as Float32Array,
        times: { wall: [], ort: [], mechanism: [] } as PathTimes,
      };
    }),
  );
  for (const p of paths) {
    p.privateLogits = await p.privateBatch.prefill();
    p.publicLogits = await p.publicBatch.prefill();
  }
  for (let i = 0; i < options.steps + warm; i += 1) {
    // Alternate which path goes first, so neither always follows the other's cache traffic.
    for (const p of i % 2 === 0 ? paths : [...paths].reverse()) {
      const m0 = performance.now();
      const token = p.request ? p.sampler.nextAggregated(p.step, p.publicLogits).token : p.sampler.next(p.privateLogits, privateCount, p.publicLogits).token;
      const m1 = performance.now();
      const ortBefore = p.privateBatch.ortMs + p.publicBatch.ortMs;
      p.sums.clippedSum.fill(0);
      p.sums.softmaxSum.fill(0);
      p.privateLogits = await p.privateBatch.append(token);
      p.publicLogits = await p.publicBatch.append(token);
      if (i >= warm) {
        p.times.wall.push(performance.now() - m1);
        p.times.ort.push(p.privateBatch.ortMs + p.publicBatch.ortMs - ortBefore);
        p.times.mechanism.push(m1 - m0);
      }
    }
  }
  const peak = await matmulPeakGflops(options.threads);
  const context = options.promptTokens + 3 + options.steps / 2;
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const rows: EngineRow[] = [];
  for (const p of paths) {
    const msPerStep = mean(p.times.wall);
    rows.push({
      model: `${options.label} (paired)`,
      layout: p.decoder.signature.cacheLayout,
      aggregation: p.aggregation,
      rotary: p.decoder.signature.cacheLayout === 'in-place' ? 'contrib' : null,
      threads: options.threads,
      rows: options.rows,
      context: Math.round(context),
      msPerStep,
      ortMsPerStep: mean(p.times.ort),
      mechanismMsPerStep: mean(p.times.mechanism),
      decodeGflops: decodeStepFlops(shape, options.rows, context) / (msPerStep * 1e6),
      matmulPeakGflops: peak,
      bindingCopyShare: Number.NaN,
      logitsBytesPerStep: p.aggregation === 'in-graph' ? shape.vocabSize * (2 * 8 + 4) : options.rows * shape.vocabSize * 4,
      kvCacheBytes: p.privateBatch.cacheBytes + p.publicBatch.cacheBytes,
      profile: {},
    });
    p.privateBatch.dispose();
    p.publicBatch.dispose();
    await p.decoder.release();
  }
  return rows;
}

/** One side of {@link compareRotaryForms}: median milliseconds of its prefills and decode steps (a shared machine slows a few calls by several times). */
export interface FormTiming {
  rotary: RotaryForm;
  prefillMs: number;
  msPerStep: number;
  decodeGflops: number;
}

/**
 * The in-place engine with each {@link RotaryForm}, measured in one process with their calls
 * interleaved (prefill A, prefill B, then step by step A, B / B, A), so a busy period of a shared
 * machine hits both: small differences between graph forms are only visible this way.
 */
export async function compareRotaryForms(
  modelPath: string,
  shape: EngineShape,
  options: { rows: number; promptTokens: number; steps: number; threads: number; rounds: number },
): Promise<{ forms: FormTiming[]; matmulPeakGflops: number }> {
  const prompts = Array.from({ length: options.rows }, (_, r) => Array.from({ length: options.promptTokens }, (_, j) => 3 + ((r * 131 + j * 17) % (shape.vocabSize - 3))));
  const forms: RotaryForm[] = ['contrib', 'folded'];
  const decoders = await Promise.all(forms.map((rotary) => OnnxDecoder.load(modelPath, { threads: options.threads, executionProvider: 'cpu', rotary })));
  const prefill = forms.map(() => [] as number[]);
  const steps = forms.map(() => [] as number[]);
  const warm = 2;
  for (let round = 0; round < options.rounds; round += 1) {
    const batches = decoders.map((decoder) => new KvCacheBatch(decoder, prompts, { chunkTokens: 4096, padTokenId: 0, vocabSize: shape.vocabSize, maxNewTokens: options.steps + warm }));
    const order = (step: number): number[] => ((round + step) % 2 === 0 ? [0, 1] : [1, 0]);
    for (const f of order(0)) {
      const started = performance.now();
      await batches[f]!.prefill();
      prefill[f]!.push(performance.now() - started);
    }
    for (let step = 0; step < options.steps + warm; step += 1) {
      for (const f of order(step)) {
        const started = performance.now();
        await batches[f]!.append(3 + (step % 50));
        if (step >= warm) steps[f]!.push(performance.now() - started);
      }
    }
    for (const batch of batches) batch.dispose();
  }
  await Promise.all(decoders.map((decoder) => decoder.release()));
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const context = options.promptTokens + warm + options.steps / 2;
  return {
    forms: forms.map((rotary, f) => ({
      rotary,
      prefillMs: median(prefill[f]!),
      msPerStep: median(steps[f]!),
      decodeGflops: decodeStepFlops(shape, options.rows, context) / (median(steps[f]!) * 1e6),
    })),
    matmulPeakGflops: await matmulPeakGflops(options.threads),
  };
}

/** The prefill at one chunk size (`prefillChunkTokens`), from {@link measurePrefillChunks}. */
export interface PrefillChunkRow {
  chunkTokens: number;
  rowsPerCall: number;
  rows: number;
  promptTokens: number;
  rounds: number;
  /** Median wall time of a kv-cache prefill (`KvCacheBatch.prefill`: the graph plus the cache writes). */
  kvCacheMs: number;
  /** Median wall time of a prefill for logits only (what recompute and resample-per-token run each step). */
  logitsOnlyMs: number;
}

/**
 * Prefill speed by chunk size, every size timed in the same process and interleaved round by
 * round (the first round warms up and is not counted), so the ratios share the machine's load.
 */
export async function measurePrefillChunks(
  modelPath: string,
  vocabSize: number,
  options: { chunks: readonly number[]; rows: number; promptTokens: number; threads: number; rounds: number },
): Promise<PrefillChunkRow[]> {
  const decoder = await OnnxDecoder.load(modelPath, { threads: options.threads, executionProvider: 'cpu' });
  const prompts = Array.from({ length: options.rows }, (_, r) => Array.from({ length: options.promptTokens }, (_, j) => 3 + ((r * 131 + j * 17) % (vocabSize - 3))));
  const kv: number[][] = options.chunks.map(() => []);
  const logitsOnly: number[][] = options.chunks.map(() => []);
  for (let round = 0; round <= options.rounds; round += 1) {
    for (const [i, chunkTokens] of options.chunks.entries()) {
      let started = performance.now();
      const batch = new KvCacheBatch(decoder, prompts, { chunkTokens, padTokenId: 0, vocabSize, maxNewTokens: 64 });
      await batch.prefill();
      batch.dispose();
      const kvMs = performance.now() - started;
      started = performance.now();
      await prefillRows(decoder, prompts, vocabSize, { chunkTokens, padTokenId: 0 });
      if (round > 0) {
        kv[i]!.push(kvMs);
        logitsOnly[i]!.push(performance.now() - started);
      }
    }
  }
  await decoder.release();
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  return options.chunks.map((chunkTokens, i) => ({
    chunkTokens,
    rowsPerCall: prefillChunkRows(decoder.signature, options.promptTokens, vocabSize, chunkTokens),
    rows: options.rows,
    promptTokens: options.promptTokens,
    rounds: options.rounds,
    kvCacheMs: median(kv[i]!),
    logitsOnlyMs: median(logitsOnly[i]!),
  }));
}
