/*
 * `npm run bench:weights`: speed and memory of each weight storage (fp32, fp16, int4 MatMulNBits)
 * of an imported model's graph, on two shapes:
 * - the default model's shapes (models/default/config.json: 4 layers, hidden 256), random weights;
 * - one decoder layer of TinyLlama 1.1B's shapes (hidden 2048, MLP 5632, 32 query and 4 key/value
 *   heads of 64, vocabulary 32000, tied head), random weights; a whole 22-layer model is about
 *   22 such layers plus the head, and the figures below give both parts.
 * Each graph is built in this process and loaded in a fresh child process, which reports the
 * file size, the child's resident memory growth when the session is created (what the weights
 * cost at run time, after ORT's constant folding), and the median time of a decoding step (one
 * new token per row over a 64-token KV cache) at 1 and 32 rows, on 2 threads.
 *
 * The machine may be shared: every storage is measured --rounds times, interleaved, and the
 * fastest round's median is printed (interference only ever slows a round down).
 *
 * Options: --shapes default,1b (default both), --steps N (default 20), --rounds N (default 3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { buildLlamaOnnx, DECODER_IO, type LlamaArchitecture, WEIGHT_STORAGES, type WeightStorage } from '@synthgate/generation';
import { randomWeights } from './random-llama';

const ROOT = resolve(__dirname, '..', '..');
const PAST = 64;
const ROWS = [1, 32];

interface ChildReport {
  readonly sessionBytes: number;
  readonly loadMs: number;
  readonly stepMs: Record<string, number>;
}

function residentBytes(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

function defaultArchitecture(): LlamaArchitecture {
  const config = JSON.parse(readFileSync(join(ROOT, 'models', 'default', 'config.json'), 'utf8')) as Record<string, number | boolean>;
  return {
    vocabSize: config.vocab_size as number,
    hiddenSize: config.hidden_size as number,
    intermediateSize: config.intermediate_size as number,
    numLayers: config.num_hidden_layers as number,
    numHeads: config.num_attention_heads as number,
    numKvHeads: config.num_key_value_heads as number,
    headDim: config.head_dim as number,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'rotate-half',
    maxPositions: config.max_position_embeddings as number,
    tiedEmbeddings: config.tie_word_embeddings as boolean,
    attentionBias: false,
    bosTokenId: 0,
    eosTokenIds: [0],
    padTokenId: null,
  };
}

const TINYLLAMA_LAYER: LlamaArchitecture = {
  vocabSize: 32000,
  hiddenSize: 2048,
  intermediateSize: 5632,
  numLayers: 1,
  numHeads: 32,
  numKvHeads: 4,
  headDim: 64,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeLayout: 'rotate-half',
  maxPositions: 2048,
  tiedEmbeddings: true,
  attentionBias: false,
  bosTokenId: 1,
  eosTokenIds: [2],
  padTokenId: null,
};

/** Runs in the child: load the graph, measure memory growth and step time. */
async function child(modelPath: string, arch: LlamaArchitecture, steps: number): Promise<void> {
  const before = residentBytes();
  const started = performance.now();
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const loadMs = performance.now() - started;
  const sessionBytes = residentBytes() - before;
  const stepMs: Record<string, number> = {};
  for (const rows of ROWS) {
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_IO.inputIds]: new ort.Tensor('int64', new BigInt64Array(rows).fill(5n), [rows, 1]),
      [DECODER_IO.attentionMask]: new ort.Tensor('int64', new BigInt64Array(rows * (PAST + 1)).fill(1n), [rows, PAST + 1]),
      [DECODER_IO.positionIds]: new ort.Tensor('int64', new BigInt64Array(rows).fill(BigInt(PAST)), [rows, 1]),
      [DECODER_IO.numLogitsToKeep]: new ort.Tensor('int64', BigInt64Array.from([1n]), []),
    };
    const cache = new Float32Array(rows * arch.numKvHeads * PAST * arch.headDim).fill(0.01);
    for (let i = 0; i < arch.numLayers; i += 1) {
      feeds[DECODER_IO.pastKey(i)] = new ort.Tensor('float32', cache, [rows, arch.numKvHeads, PAST, arch.headDim]);
      feeds[DECODER_IO.pastValue(i)] = new ort.Tensor('float32', cache, [rows, arch.numKvHeads, PAST, arch.headDim]);
    }
    await session.run(feeds); // warm-up
    const times: number[] = [];
    for (let s = 0; s < steps; s += 1) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    stepMs[String(rows)] = times[Math.floor(times.length / 2)]!;
  }
  await session.release();
  const report: ChildReport = { sessionBytes, loadMs, stepMs };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function main(): void {
  const argv = process.argv.slice(2);
  const option = (flag: string, fallback: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  const steps = Number(option('--steps', '20'));
  const shapes = option('--shapes', 'default,1b').split(',');
  const rounds = Number(option('--rounds', '3'));
  const dir = mkdtempSync(join(tmpdir(), 'bench-weights-'));
  try {
    for (const shape of shapes) {
      const arch = shape === '1b' ? TINYLLAMA_LAYER : defaultArchitecture();
      const weights = randomWeights(arch);
      const label = shape === '1b' ? 'one TinyLlama-1.1B-shaped layer + 32000-token tied head' : `default model shapes (${arch.numLayers} layers, hidden ${arch.hiddenSize}, vocab ${arch.vocabSize})`;
      process.stdout.write(`\n${label}\n`);
      process.stdout.write(`${'storage'.padEnd(8)} ${'file'.padStart(11)} ${'session RSS'.padStart(12)} ${'load'.padStart(8)} ${ROWS.map((r) => `step@${r}`.padStart(10)).join(' ')}\n`);
      const best = new Map<WeightStorage, ChildReport>();
      const failures = new Map<WeightStorage, string>();
      for (const storage of WEIGHT_STORAGES) writeFileSync(join(dir, `${shape}-${storage}.onnx`), buildLlamaOnnx(arch, weights, { weightStorage: storage }));
      for (let round = 0; round < rounds; round += 1) {
        for (const storage of WEIGHT_STORAGES) {
          const path = join(dir, `${shape}-${storage}.onnx`);
          const run = spawnSync(process.execPath, [__filename, '--child', path, JSON.stringify(arch), String(steps)], { encoding: 'utf8', maxBuffer: 1 << 20 });
          if (run.status !== 0) {
            failures.set(storage, run.stderr.trim().split('\n').slice(-3).join(' '));
            continue;
          }
          const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as ChildReport;
          const previous = best.get(storage);
          best.set(storage, {
            sessionBytes: Math.min(report.sessionBytes, previous?.sessionBytes ?? Infinity),
            loadMs: Math.min(report.loadMs, previous?.loadMs ?? Infinity),
            stepMs: Object.fromEntries(ROWS.map((r) => [String(r), Math.min(report.stepMs[String(r)]!, previous?.stepMs[String(r)] ?? Infinity)])),
          });
        }
      }
      for (const storage of WEIGHT_STORAGES) {
        const report = best.get(storage);
        if (!report) {
          process.stdout.write(`${storage.padEnd(8)} failed: ${failures.get(storage) ?? 'no report'}\n`);
          continue;
        }
        const size = statSync(join(dir, `${shape}-${storage}.onnx`)).size;
        process.stdout.write(
          `${storage.padEnd(8)} ${mib(size).padStart(11)} ${mib(report.sessionBytes).padStart(12)} ${`${report.loadMs.toFixed(0)} ms`.padStart(8)} ${ROWS.map((r) => `${report.stepMs[String(r)]!.toFixed(1)} ms`.padStart(10)).join(' ')}\n`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  child(process.argv[3]!, JSON.parse(process.argv[4]!) as LlamaArchitecture, Number(process.argv[5])).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
} else {
  main();
}
