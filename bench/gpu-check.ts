/*
 * `npm run bench:gpu [-- --shape 0.5b|1b|default --rows 256 --prompt-tokens 32 --steps 16
 *   --compare-rows 4 --compare-steps 8 --weights fp32|int4 --threads N --device cuda|cpu --json]`
 *
 * The GPU check of issue 17 item 5, prepared for a session that has a CUDA machine: it builds a
 * random model of a real model's shape with the project's own graph builder (seeded weights,
 * external data), then
 * 1. checks that onnxruntime-node's CUDA execution provider opens and which provider runs the
 *    kernels of one forward pass (ORT's profile), and stops with one line
 *    `CUDA execution provider not available: <why>` (exit code 2) on a machine without it;
 * 2. agreement: the same prompts prefilled and decoded greedily on the CPU and on CUDA, max
 *    absolute logit difference over every row and step, and how many argmaxes agree;
 * 3. throughput: a batch of --rows rows (s = 255 private rows plus the public row by default)
 *    decoded for --steps steps on CUDA through the engine's KvCacheBatch: ms per step, the part
 *    inside session.run, steps/s and row-tokens/s, and the production mechanism (libs/privacy's
 *    sampler, CPU) on the step's logits;
 * 4. the host-to-device copy of the KV cache alone (a graph that only slices each past input, so
 *    ORT copies every past tensor to the device and does nothing else), against the bytes
 *    decodeStepHostTraffic counts for the step.
 * Shapes: `0.5b` is Qwen2.5-0.5B's (24 layers, hidden 896, MLP 4864, 14 query and 2 key/value
 * heads of 64, vocabulary 151936, q/k/v biases, tied head: 494M parameters, 2 GB of fp32),
 * `1b` is Llama 3.2 1B's (16 layers, hidden 2048, MLP 8192, 32 and 8 heads of 64, vocabulary
 * 128256, tied: 1.24B parameters), `default` is models/default's (for --device cpu).
 * `--device cpu` runs everything with the CPU standing in for CUDA: it tests this script on a
 * machine without a GPU; its figures are CPU figures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { buildLlamaOnnx, cudaProviderProblem, cudaUnavailableMessage, decodeStepHostTraffic, type LlamaArchitecture, probeExecutionProvider } from '@synthgate/generation';
import { PrivateTokenSampler, SeededRng } from '@synthgate/privacy';
import { openExternalDataFile } from '../libs/generation/src/import/llama-model.writer';
import { KvCacheBatch } from '../libs/generation/src/runtime/kv-cache-batch';
import { OnnxDecoder } from '../libs/generation/src/runtime/onnx-decoder';
import { tinyArchitecture, tinyWeights } from '../libs/generation/src/testing/tiny-llama';
import { randomWeights } from './random-llama';

type ShapeName = '0.5b' | '1b' | 'default';
type Device = 'cuda' | 'cpu';

interface Options {
  readonly shape: ShapeName;
  readonly device: Device;
  readonly rows: number;
  readonly promptTokens: number;
  readonly steps: number;
  readonly compareRows: number;
  readonly compareSteps: number;
  readonly weights: 'fp32' | 'int4';
  readonly threads: number;
  readonly json: boolean;
}

const BASE = { rmsNormEps: 1e-6, ropeLayout: 'rotate-half', maxPositions: 1024, bosTokenId: null, eosTokenIds: [], padTokenId: null } as const;
const SHAPES: Record<ShapeName, { label: string; arch: LlamaArchitecture }> = {
  '0.5b': {
    label: 'Qwen2.5-0.5B-shaped (random weights)',
    arch: { ...BASE, vocabSize: 151_936, hiddenSize: 896, intermediateSize: 4864, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64, ropeTheta: 1e6, tiedEmbeddings: true, attentionBias: true },
  },
  '1b': {
    label: 'Llama-3.2-1B-shaped (random weights)',
    arch: { ...BASE, vocabSize: 128_256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64, ropeTheta: 5e5, tiedEmbeddings: true, attentionBias: false },
  },
  default: {
    label: 'models/default-shaped (random weights)',
    arch: { ...BASE, vocabSize: 4096, hiddenSize: 256, intermediateSize: 688, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 64, ropeTheta: 1e4, tiedEmbeddings: true, attentionBias: false },
  },
};

function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const whole = (flag: string, fallback: number): number => {
    const n = Number(value(flag) ?? fallback);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} must be a whole number >= 1`);
    return n;
  };
  const shape = (value('--shape') ?? '0.5b') as ShapeName;
  if (!(shape in SHAPES)) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
  const device = (value('--device') ?? 'cuda') as Device;
  if (device !== 'cuda' && device !== 'cpu') throw new Error('--device must be cuda or cpu');
  const weights = (value('--weights') ?? 'fp32') as Options['weights'];
  if (weights !== 'fp32' && weights !== 'int4') throw new Error('--weights must be fp32 or int4');
  return {
    shape,
    device,
    rows: whole('--rows', 256),
    promptTokens: whole('--prompt-tokens', 32),
    steps: whole('--steps', 16),
    compareRows: whole('--compare-rows', 4),
    compareSteps: whole('--compare-steps', 8),
    weights,
    threads: whole('--threads', cpus().length),
    json: argv.includes('--json'),
  };
}

function parameterCount(a: LlamaArchitecture): number {
  const q = a.numHeads * a.headDim;
  const kv = a.numKvHeads * a.headDim;
  const layer = a.hiddenSize * (2 * q + 2 * kv) + 3 * a.hiddenSize * a.intermediateSize + 2 * a.hiddenSize + (a.attentionBias ? q + 2 * kv : 0);
  return a.vocabSize * a.hiddenSize * (a.tiedEmbeddings ? 1 : 2) + a.numLayers * layer + a.hiddenSize;
}

/** Writes the model as model.onnx plus model.onnx.data (external data: a 0.5B fp32 graph is at protobuf's 2 GiB limit). */
function writeRandomModel(dir: string, arch: LlamaArchitecture, weights: Options['weights']): string {
  const sink = openExternalDataFile(join(dir, 'model.onnx.data'), 'model.onnx.data');
  try {
    // fp32 graphs run in the in-place cache layout (what the engine runs them in); int4 graphs in
    // the concat layout, as the engine runs them today (docs/benchmarks/engine.md).
    const bytes = buildLlamaOnnx(arch, randomWeights(arch, 17), {
      externalData: sink,
      weightStorage: weights,
      cacheLayout: weights === 'fp32' ? 'in-place' : 'concat',
      metadata: { 'synthgate.source': 'bench:gpu' },
    });
    writeFileSync(join(dir, 'model.onnx'), bytes);
  } finally {
    sink.close();
  }
  return join(dir, 'model.onnx');
}

/** Seeded prompts of `tokens` random ids per row (ids from 3: the low ids are special in real vocabularies). */
function prompts(rows: number, tokens: number, vocab: number, seed: number): number[][] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state;
  };
  return Array.from({ length: rows }, () => Array.from({ length: tokens }, () => 3 + (next() % (vocab - 3))));
}

function argmax(values: Float32Array, from: number, length: number): number {
  let best = from;
  for (let i = from + 1; i < from + length; i += 1) if (values[i]! > values[best]!) best = i;
  return best - from;
}

interface Agreement {
  rows: number;
  steps: number;
  maxAbsDifference: number;
  maxAbsLogit: number;
  argmaxAgree: number;
  argmaxTotal: number;
}

/** The same prompts on the CPU and on `device`: prefill, then greedy steps (the CPU's choice fed to both). */
async function agreement(modelPath: string, options: Options, vocab: number): Promise<Agreement> {
  const rowTokens = prompts(options.compareRows, options.promptTokens, vocab, 5);
  const reference = await OnnxDecoder.load(modelPath, { threads: options.threads, executionProvider: 'cpu' });
  const device = await OnnxDecoder.load(modelPath, { threads: options.threads, executionProvider: options.device, cpuFallback: false });
  const settings = { chunkTokens: 4096, padTokenId: 0, vocabSize: vocab, maxNewTokens: options.compareSteps };
  const a = new KvCacheBatch(reference, rowTokens, settings);
  const b = new KvCacheBatch(device, rowTokens, settings);
  const result: Agreement = { rows: options.compareRows, steps: options.compareSteps, maxAbsDifference: 0, maxAbsLogit: 0, argmaxAgree: 0, argmaxTotal: 0 };
  const compare = (x: Float32Array, y: Float32Array): void => {
    for (let i = 0; i < x.length; i += 1) {
      result.maxAbsDifference = Math.max(result.maxAbsDifference, Math.abs(x[i]! - y[i]!));
      result.maxAbsLogit = Math.max(result.maxAbsLogit, Math.abs(x[i]!));
    }
    for (let r = 0; r < options.compareRows; r += 1) {
      result.argmaxTotal += 1;
      if (argmax(x, r * vocab, vocab) === argmax(y, r * vocab, vocab)) result.argmaxAgree += 1;
    }
  };
  try {
    let x = await a.prefill();
    compare(x, await b.prefill());
    for (let step = 0; step < options.compareSteps; step += 1) {
      const token = argmax(x, 0, vocab);
      x = await a.append(token);
      compare(x, await b.append(token));
    }
  } finally {
    a.dispose();
    b.dispose();
    await reference.release();
    await device.release();
  }
  return result;
}

interface Throughput {
  rows: number;
  promptTokens: number;
  steps: number;
  capacity: number;
  prefillMs: number;
  msPerStep: number;
  ortMsPerStep: number;
  mechanismMsPerStep: number;
  stepsPerSecond: number;
  rowTokensPerSecond: number;
}

/** Unmeasured decode steps before the measured ones. */
const WARM_STEPS = 2;

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;

/** `rows` rows decoded `steps` steps through the engine's KvCacheBatch, with the production mechanism choosing each token. */
async function throughput(modelPath: string, options: Options, vocab: number): Promise<Throughput> {
  const decoder = await OnnxDecoder.load(modelPath, { threads: options.threads, executionProvider: options.device, cpuFallback: false });
  const warm = WARM_STEPS;
  const batch = new KvCacheBatch(decoder, prompts(options.rows, options.promptTokens, vocab, 9), { chunkTokens: 4096, padTokenId: 0, vocabSize: vocab, maxNewTokens: options.steps + warm });
  const sampler = new PrivateTokenSampler(vocab, { clip: 10, expectedBatchSize: Math.max(1, options.rows - 1), temperature: 2, publicTemperature: 1 }, new SeededRng('gpu-check'));
  try {
    const started = performance.now();
    let logits = await batch.prefill();
    const prefillMs = performance.now() - started;
    const wall: number[] = [];
    const inside: number[] = [];
    const mechanism: number[] = [];
    for (let step = 0; step < options.steps + warm; step += 1) {
      const m0 = performance.now();
      // Every row but the last is private; the last stands for the public row.
      const token = sampler.next(logits, Math.max(1, options.rows - 1), logits.subarray((options.rows - 1) * vocab, options.rows * vocab)).token;
      const m1 = performance.now();
      const ortBefore = batch.ortMs;
      logits = await batch.append(token);
      if (step >= warm) {
        wall.push(performance.now() - m1);
        inside.push(batch.ortMs - ortBefore);
        mechanism.push(m1 - m0);
      }
    }
    const msPerStep = median(wall);
    return {
      rows: options.rows,
      promptTokens: options.promptTokens,
      steps: options.steps,
      capacity: pastCapacity(options),
      prefillMs,
      msPerStep,
      ortMsPerStep: median(inside),
      mechanismMsPerStep: median(mechanism),
      stepsPerSecond: 1000 / msPerStep,
      rowTokensPerSecond: (1000 * options.rows) / msPerStep,
    };
  } finally {
    batch.dispose();
    await decoder.release();
  }
}

/**
 * Past positions the graph reads at the last measured step: KvCacheBatch's capacity reaches the
 * sequence's full length (prompt, warm-up and measured steps) by then; with the defaults (32 + 18
 * positions, within one KV_CAPACITY_STEP) it is that length at every step.
 */
function pastCapacity(options: Options): number {
  return options.promptTokens + options.steps + WARM_STEPS;
}

interface Transfer {
  bytes: number;
  ms: number;
  gigabytesPerSecond: number;
}

/**
 * Time to copy every layer's past keys and values of the batch from host to device: a graph that
 * takes them as inputs and only slices one element of each (so ORT copies them all to the device
 * and computes nothing), minus the same graph fed one-position tensors.
 */
async function cacheTransfer(arch: LlamaArchitecture, options: Options, capacity: number): Promise<Transfer> {
  const names = Array.from({ length: 2 * arch.numLayers }, (_, i) => `past_${i}`);
  const dims = ['rows', arch.numKvHeads, 'past', arch.headDim];
  const int64 = (name: string, values: number[]): onnx.ITensorProto => ({ name, dims: [values.length], dataType: 7, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'cache-transfer',
      initializer: [int64('starts', [0, 0, 0, 0]), int64('ends', [1, 1, 1, 1])],
      node: [
        ...names.map((name) => ({ opType: 'Slice', input: [name, 'starts', 'ends'], output: [`${name}_one`] })),
        { opType: 'Concat', input: names.map((name) => `${name}_one`), output: ['ones'], attribute: [{ name: 'axis', type: 2, i: 0 }] },
      ],
      input: names.map((name) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } })),
      output: [{ name: 'ones', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }, { dimValue: 1 }, { dimValue: 1 }, { dimValue: 1 }] } } } }],
    },
  }).finish();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [options.device], intraOpNumThreads: options.threads });
  const feeds = (past: number): Record<string, ort.Tensor> => {
    const shape = [options.rows, arch.numKvHeads, past, arch.headDim];
    return Object.fromEntries(names.map((name) => [name, new ort.Tensor('float32', new Float32Array(options.rows * arch.numKvHeads * past * arch.headDim).fill(0.5), shape)]));
  };
  const time = async (input: Record<string, ort.Tensor>): Promise<number> => {
    const runs: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const started = performance.now();
      await session.run(input);
      runs.push(performance.now() - started);
    }
    return median(runs.slice(2));
  };
  try {
    const small = await time(feeds(1));
    const full = await time(feeds(capacity));
    const totalBytes = 2 * arch.numLayers * options.rows * arch.numKvHeads * capacity * arch.headDim * 4;
    const ms = Math.max(0, full - small);
    return { bytes: totalBytes, ms, gigabytesPerSecond: ms > 0 ? totalBytes / (ms * 1e6) : Number.POSITIVE_INFINITY };
  } finally {
    await session.release();
  }
}

/** Whether onnxruntime-node opens a WebGPU session here ('opens', or the first line of its error). */
async function webgpuOpens(): Promise<string> {
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'webgpu-probe',
      node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }] } } } }],
    },
  }).finish();
  try {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
    await session.release();
    return 'opens';
  } catch (error) {
    // ORT prefixes the source location and the failed condition; the reason follows 'was false.'.
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.replace(/^.* was false\. /, '');
    return `not available: ${message.slice(0, 200)}`;
  }
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 3 : 1)} MB`;

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const { arch, label } = SHAPES[options.shape];
  const layout = options.weights === 'fp32' ? 'in-place' : 'concat';
  const capacity = pastCapacity(options);
  const log = (line: string): void => {
    if (!options.json) console.log(line);
  };
  log(`# bench:gpu: ${label}, ${(parameterCount(arch) / 1e6).toFixed(0)}M parameters, ${options.weights} weights (${layout} cache), device ${options.device}`);

  // What a step moves between host and device with onnxruntime-node 1.30 (docs/gpu.md): from shapes.
  const traffic = (aggregatedVectors: number | null): ReturnType<typeof decodeStepHostTraffic> =>
    decodeStepHostTraffic(arch, { rows: options.rows, past: capacity, layout, aggregatedVectors });
  const perRow = traffic(null);
  const aggregated = traffic(3);
  log(`host-device bytes of one decode step at ${options.rows} rows, past ${capacity} (computed from shapes):`);
  log(`| logits returned | to device: past KV | mask + ids | from device: logits | KV | total per step |`);
  log(`|---|---|---|---|---|---|`);
  for (const [name, t] of [['every row', perRow], ['3 vocab vectors (in-graph aggregation)', aggregated]] as const) {
    log(`| ${name} | ${mb(t.toDevice.past)} | ${mb(t.toDevice.attentionMask + t.toDevice.tokens)} | ${mb(t.fromDevice.logits)} | ${mb(t.fromDevice.cache)} | ${mb(t.toDevice.total + t.fromDevice.total)} |`);
  }

  // WebGPU (Dawn over Vulkan, bundled in onnxruntime-node for linux/x64) is the one provider whose
  // outputs the 1.30 binding can keep on the device (docs/gpu.md); say whether it opens here.
  log(`webgpu execution provider: ${await webgpuOpens()}`);

  if (options.device === 'cuda') {
    const problem = cudaProviderProblem();
    if (problem) {
      console.log(cudaUnavailableMessage(problem));
      process.exitCode = 2;
      return;
    }
  } else {
    log('--device cpu: the CPU stands in for CUDA; this tests the script, its figures are CPU figures, not GPU figures');
  }

  const dir = mkdtempSync(join(tmpdir(), 'synthgate-gpu-check-'));
  try {
    // 1. Does CUDA open, and which provider runs the kernels? (a tiny graph of the same ops)
    const tiny = tinyArchitecture({ attentionBias: arch.attentionBias });
    const tinyPath = join(dir, 'tiny.onnx');
    writeFileSync(tinyPath, buildLlamaOnnx(tiny, tinyWeights(tiny, 3), { cacheLayout: layout, weightStorage: options.weights }));
    const probe = await probeExecutionProvider(tinyPath, { executionProvider: options.device, threads: options.threads });
    if (probe.provider !== options.device) {
      console.log(probe.fallback ?? `the ${options.device} execution provider did not open`);
      process.exitCode = 2;
      return;
    }
    log(`kernels of one forward pass by provider: ${Object.entries(probe.kernels).map(([p, n]) => `${p} ${n}`).join(', ')}`);

    const built = performance.now();
    const modelPath = writeRandomModel(dir, arch, options.weights);
    log(`built the random model in ${((performance.now() - built) / 1000).toFixed(1)} s`);

    // 2. Logits agreement with the CPU.
    const agree = await agreement(modelPath, options, arch.vocabSize);
    log(`agreement (${agree.rows} rows, prefill of ${options.promptTokens} tokens + ${agree.steps} greedy steps): max |logit difference| ${agree.maxAbsDifference.toExponential(2)} (max |logit| ${agree.maxAbsLogit.toFixed(2)}), argmax agrees ${agree.argmaxAgree} of ${agree.argmaxTotal}`);

    // 3. Throughput on the device.
    const speed = await throughput(modelPath, options, arch.vocabSize);
    // 4. The cache's host-to-device copy alone (run on the CPU too, which copies nothing: it tests the graph).
    const transfer = await cacheTransfer(arch, options, capacity);
    log(`| rows | prompt | steps | past | prefill ms | ms/step | in session.run | mechanism ms/step (CPU) | steps/s | row-tokens/s | KV host->device per step | its copy alone |`);
    log(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
    log(
      `| ${speed.rows} | ${speed.promptTokens} | ${speed.steps} | ${speed.capacity} | ${speed.prefillMs.toFixed(0)} | ${speed.msPerStep.toFixed(1)} | ${speed.ortMsPerStep.toFixed(1)} | ${speed.mechanismMsPerStep.toFixed(1)} | ${speed.stepsPerSecond.toFixed(2)} | ${speed.rowTokensPerSecond.toFixed(0)} | ${mb(perRow.toDevice.past)} | ${options.device === 'cuda' ? `${transfer.ms.toFixed(1)} ms (${transfer.gigabytesPerSecond.toFixed(1)} GB/s)` : `${transfer.ms.toFixed(1)} ms (no copy on the CPU)`} |`,
    );
    if (options.json) {
      console.log(JSON.stringify({ shape: options.shape, device: options.device, weights: options.weights, layout, parameters: parameterCount(arch), kernels: probe.kernels, agreement: agree, throughput: speed, transfer, traffic: { perRow, aggregated } }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
