/*
 * The engine part of `npm run bench:generation`: one decode step of the KV-cached engine measured
 * on its own, in the same process as a 1024^3 MatMul through the same runtime, so every figure is a
 * ratio taken under the same machine load.
 *
 * - decodeGflops: FLOPs of a decode step (the graph as executed: the RoPE-folded q/k columns
 *   included, attention over the used context) over the step's wall time (the engine's forward:
 *   feeds, session.run, writing the new slots; not the token mechanism).
 * - matmulPeakGflops: a [1024, 1024] x [1024, 1024] MatMul through onnxruntime-node, same threads.
 * - bindingCopyShare: the part of session.run's wall time outside ORT's kernels (from ORT's own
 *   profile): the binding's copies of inputs/outputs and the runtime's overhead between kernels.
 * - logitsBytesPerStep: the logits a step hands to JavaScript; kvCacheBytes: every cache buffer the
 *   batch holds.
 * - mechanismMsPerStep: libs/privacy's sampler on the step's logits (clip, aggregate, sample).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { PrivateTokenSampler, SeededRng } from '@synthgate/privacy';
import { prefillChunkRows, prefillRows } from '../libs/generation/src/runtime/batch-prefill';
import { KvCacheBatch } from '../libs/generation/src/runtime/kv-cache-batch';
import { type LlamaArchitecture } from '../libs/generation/src/model/llama-architecture';
import { OnnxDecoder } from '../libs/generation/src/runtime/onnx-decoder';

/** What the FLOP count needs of a Llama-family graph. */
export type EngineShape = Pick<LlamaArchitecture, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim'>;

/** One engine measurement. */
export interface EngineRow {
  model: string;
  layout: 'in-place' | 'concat';
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

/** FLOPs of one decode step of `rows` rows attending over `context` positions. */
export function decodeStepFlops(shape: EngineShape, rows: number, context: number): number {
  const { hiddenSize: d, numHeads: nH, numKvHeads: nKv, headDim: hd, intermediateSize: inter } = shape;
  const qkv = d * (2 * (nH + nKv) * hd + nKv * hd);
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
  options: { label: string; rows: number; promptTokens: number; steps: number; threads: number; inPlace: boolean; profileDir: string | null },
): Promise<EngineRow> {
  const prompts = Array.from({ length: options.rows }, (_, r) => Array.from({ length: options.promptTokens }, (_, j) => 3 + ((r * 131 + j * 17) % (shape.vocabSize - 3))));
  const run = async (profilePrefix: string | null): Promise<{ wall: number[]; ort: number[]; mechanism: number[]; cacheBytes: number; decoder: OnnxDecoder }> => {
    const decoder = await OnnxDecoder.load(modelPath, {
      threads: options.threads,
      executionProvider: 'cpu',
      inPlaceCache: options.inPlace,
      ...(profilePrefix ? { profileFilePrefix: profilePrefix } : {}),
    });
    const warm = 3;
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
  const plain = await run(null);
  const layout = plain.decoder.signature.cacheLayout;
  await plain.decoder.release();
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  let profile: Record<string, number> = {};
  let bindingCopyShare = Number.NaN;
  if (options.profileDir) {
    const prefix = join(options.profileDir, `${options.label}-${layout}-${options.rows}`);
    const profiled = await run(prefix);
    profiled.decoder.endProfiling();
    await profiled.decoder.release();
    const file = readdirSync(options.profileDir).map((f) => join(options.profileDir!, f)).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
    if (file && existsSync(file)) {
      // The measured steps are the last runs (prefill and warm-up runs come first).
      const { kernelUs, byOp } = readProfile(file, profiled.ort.length);
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
    threads: options.threads,
    rows: options.rows,
    context: Math.round(context),
    msPerStep,
    ortMsPerStep: mean(plain.ort),
    mechanismMsPerStep: mean(plain.mechanism),
    decodeGflops: decodeStepFlops(shape, options.rows, context) / (msPerStep * 1e6),
    matmulPeakGflops: peak,
    bindingCopyShare,
    logitsBytesPerStep: options.rows * shape.vocabSize * 4,
    kvCacheBytes: plain.cacheBytes,
    profile,
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
