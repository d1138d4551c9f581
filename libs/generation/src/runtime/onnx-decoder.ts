import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type AggregationOutputName, type AggregationParameterName, type AggregationRequest } from '@synthgate/privacy';
import * as ort from 'onnxruntime-node';
import { GenerationError } from '../generation.errors';
import { AGGREGATION_IO } from '../model/aggregation-graph';
import { inPlaceVariantOf } from '../model/in-place-decoder';
import { type CacheLayout, DECODER_IO, type RotaryForm } from '../model/llama-graph.builder';
import { cudaProviderProblem, cudaUnavailableMessage } from './execution-provider';

/** Where ONNX Runtime runs the graph. `cuda` needs onnxruntime-node's CUDA binaries installed. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** Session settings: configuration, never hard-coded. */
export interface DecoderSessionOptions {
  /** Intra-op threads of the session (`GENERATION_THREADS`). */
  readonly threads: number;
  readonly executionProvider: ExecutionProvider;
  /**
   * When `cuda` cannot be opened (onnxruntime-node's CUDA binaries, CUDA or a device missing), run
   * on the CPU instead and report why in {@link OnnxDecoder.providerFallback} (default true);
   * false refuses with `EXECUTION_PROVIDER_UNAVAILABLE`. Either way the reason is one line that
   * starts `CUDA execution provider not available:`.
   */
  readonly cpuFallback?: boolean;
  /**
   * Run a graph written by this project's builder in its in-place-cache variant (default true;
   * see {@link CacheLayout}). Other graphs always run as stored.
   */
  readonly inPlaceCache?: boolean;
  /**
   * Build libs/privacy's token aggregation into the in-place variant (default true; see
   * {@link DecoderSignature.aggregationOutputs}). Benchmarks turn it off to measure without it.
   */
  readonly inGraphAggregation?: boolean;
  /**
   * Benchmarks only: `folded` runs the in-place graph with the stored RoPE-folded projection
   * instead of RotaryEmbedding (the form before issue 16 item 3), for before/after rows.
   */
  readonly rotary?: RotaryForm;
  /** Benchmarks only: ONNX Runtime's profiler writes a JSON trace with this file prefix. */
  readonly profileFilePrefix?: string;
}

/**
 * What the runtime learned from the graph's inputs and outputs: layer count, key/value heads and
 * head size come from `past_key_values.{i}.key`, so any conforming export loads unchanged.
 */
export interface DecoderSignature {
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  /** From the logits output's last dimension when the graph fixes it. */
  readonly vocabSize: number | null;
  readonly hasPositionIds: boolean;
  /** The graph takes `num_logits_to_keep` (only the last positions reach the head). */
  readonly hasNumLogitsToKeep: boolean;
  /** Optimum's merged decoders take a `use_cache_branch` flag. */
  readonly hasUseCacheBranch: boolean;
  /** `in-place`: outputs `new_key_values.*` only; `concat`: outputs `present.*` (past and new). */
  readonly cacheLayout: CacheLayout;
  /**
   * The outputs of libs/privacy's token aggregation the graph computes (aggregation-graph.ts);
   * empty for graphs that do not (Optimum exports, `inGraphAggregation: false`).
   */
  readonly aggregationOutputs: readonly AggregationOutputName[];
  /** The scalar parameters the aggregation reads (`aggregation.*` inputs). */
  readonly aggregationParameters: readonly AggregationParameterName[];
}

/**
 * The in-graph aggregation of one call: the rows it sums and where their sums are added.
 * `into[name]` holds `keep * vocab` doubles; the call adds this call's sums to it (so row chunks
 * of one step accumulate in float64).
 */
export interface ForwardAggregation {
  readonly request: AggregationRequest;
  /** Batch rows to aggregate (the private rows). */
  readonly rows: BigInt64Array;
  readonly into: Readonly<Partial<Record<AggregationOutputName, Float64Array>>>;
}

/**
 * Keys and values of every layer for a block of rows: `tensors[2 i]` is layer i's keys,
 * `tensors[2 i + 1]` its values, each `[rows, kvHeads, length, headDim]` row-major float32.
 */
export interface KvBlock {
  readonly rows: number;
  readonly length: number;
  readonly tensors: readonly Float32Array[];
}

/**
 * One call of the decoder. Arrays are row-major and may be reused by the caller afterwards.
 * onnxruntime-node 1.30 reads inputs in place (no copy) but copies every output into a fresh
 * buffer after the run, preallocated outputs included: only the logits and the new positions'
 * keys and values (in-place layout) should come back.
 */
export interface ForwardInput {
  readonly rows: number;
  /** New positions per row in this call (`sequence_length`). */
  readonly newTokens: number;
  readonly inputIds: BigInt64Array;
  /** `[rows, past.length + newTokens]`. */
  readonly attentionMask: BigInt64Array;
  readonly positionIds: BigInt64Array;
  /**
   * null: no past (a zero-length cache is fed). In the in-place layout, the engine's cache buffer
   * at its capacity (`length`), unused slots masked out by `attentionMask`.
   */
  readonly past: KvBlock | null;
  /** How many trailing positions need logits (1 except for speculative verification). */
  readonly keep: number;
  /**
   * Where ONNX Runtime writes the logits (`rows * keep * vocab` floats), sparing a copy on our side;
   * only for graphs with `num_logits_to_keep` and a fixed vocabulary.
   */
  readonly logits?: Float32Array | null;
  /** Fetch the keys and values (default true); false runs the graph for logits only. */
  readonly fetchCache?: boolean;
  /**
   * Aggregate these rows in the graph and add the sums to `into` (graphs with
   * {@link DecoderSignature.aggregationOutputs} only); null: no rows aggregated.
   */
  readonly aggregation?: ForwardAggregation | null;
  /** Fetch the logits (default true); false leaves `logits` untouched (aggregation only). */
  readonly fetchLogits?: boolean;
}

/** Result of one call; `logits` holds `rows * keep * vocab` floats (none when `fetchLogits` was false). */
export interface ForwardOutput {
  readonly logits: Float32Array;
  readonly vocabSize: number;
  /**
   * `in-place` layout: keys and values of the new positions (`length = newTokens`); `concat`:
   * the whole present (`length = past + newTokens`). Fresh arrays the caller may keep. Null when
   * `fetchCache` was false.
   */
  readonly cache: KvBlock | null;
  /** Wall time spent inside `session.run`. */
  readonly ortMs: number;
}

const PAST = /^past_key_values\.(\d+)\.key$/;

/**
 * An ONNX Runtime session of a decoder in the Optimum layout (or its in-place-cache variant). The
 * only place ORT types exist: callers pass typed arrays in and get typed arrays back.
 */
export class OnnxDecoder {
  private readonly emptyPast: ort.Tensor[] = [];
  private readonly pastShape: number[];
  private readonly cacheOutputs: string[] = [];
  private readonly noRows = new ort.Tensor('int64', new BigInt64Array(0), [0]);
  private readonly zero = new ort.Tensor('float32', new Float32Array(1), []);

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: DecoderSignature,
    /** Where the session runs: `cpu` when `cuda` was asked for but could not be opened. */
    readonly executionProvider: ExecutionProvider,
    /** Why `cuda` was asked for and the session runs on `cpu` (one line, `CUDA execution provider not available: ...`); null otherwise. */
    readonly providerFallback: string | null,
  ) {
    this.pastShape = [0, signature.numKvHeads, 0, signature.headDim];
    for (let i = 0; i < signature.numLayers; i += 1) {
      if (signature.cacheLayout === 'in-place') this.cacheOutputs.push(DECODER_IO.newKey(i), DECODER_IO.newValue(i));
      else this.cacheOutputs.push(DECODER_IO.presentKey(i), DECODER_IO.presentValue(i));
    }
  }

  /**
   * Opens `modelPath` (external data is resolved beside it) and checks the contract. A graph this
   * project's builder wrote runs in its in-place-cache variant, rebuilt from the file's own
   * initializers (see {@link inPlaceVariantOf}).
   */
  static async load(modelPath: string, options: DecoderSessionOptions): Promise<OnnxDecoder> {
    const variant =
      options.inPlaceCache === false
        ? null
        : inPlaceVariantOf(readFileSync(modelPath), { aggregation: options.inGraphAggregation ?? true, ...(options.rotary ? { rotary: options.rotary } : {}) });
    const open = async (provider: ExecutionProvider): Promise<ort.InferenceSession> => {
      const sessionOptions: ort.InferenceSession.SessionOptions = {
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
        ...(options.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: options.profileFilePrefix } : {}),
      };
      try {
        return variant ? await ort.InferenceSession.create(variant, sessionOptions) : await ort.InferenceSession.create(modelPath, sessionOptions);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new GenerationError(
          provider === 'cuda' ? 'EXECUTION_PROVIDER_UNAVAILABLE' : 'MODEL_FORMAT_INVALID',
          `${modelPath} could not be opened by ONNX Runtime (${provider}): ${reason}`,
        );
      }
    };
    let session: ort.InferenceSession | null = null;
    let provider = options.executionProvider;
    let fallback: string | null = null;
    if (provider === 'cuda') {
      // Without the provider library ORT would print its own error lines before failing: check first.
      const problem = cudaProviderProblem();
      let reason: string | null = problem;
      if (!problem) {
        try {
          session = await open('cuda');
        } catch (error) {
          if (!(error instanceof GenerationError)) throw error;
          reason = error.message;
        }
      }
      if (reason !== null) {
        // CUDA asked for but unusable here: run on the CPU and say why, in one line, once.
        fallback = cudaUnavailableMessage(reason);
        if (options.cpuFallback === false) throw new GenerationError('EXECUTION_PROVIDER_UNAVAILABLE', fallback);
        provider = 'cpu';
      }
    }
    session ??= await open(provider);
    try {
      return new OnnxDecoder(session, inspectSignature(modelPath, session), provider, fallback);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** Runs the graph once. */
  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const { rows, newTokens } = input;
    const signature = this.signature;
    const pastLength = input.past?.length ?? 0;
    const total = pastLength + newTokens;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', input.inputIds, [rows, newTokens]),
      attention_mask: new ort.Tensor('int64', input.attentionMask, [rows, total]),
    };
    if (signature.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', input.positionIds, [rows, newTokens]);
    if (signature.hasNumLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.of(BigInt(input.keep)), []);
    if (signature.hasUseCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.of(pastLength > 0 ? 1 : 0), [1]);
    const kvShape = [rows, signature.numKvHeads, pastLength, signature.headDim];
    for (let i = 0; i < signature.numLayers; i += 1) {
      feeds[DECODER_IO.pastKey(i)] = input.past ? new ort.Tensor('float32', input.past.tensors[2 * i]!, kvShape) : this.empty(rows, 2 * i);
      feeds[DECODER_IO.pastValue(i)] = input.past ? new ort.Tensor('float32', input.past.tensors[2 * i + 1]!, kvShape) : this.empty(rows, 2 * i + 1);
    }
    const aggregation = input.aggregation ?? null;
    if (signature.aggregationOutputs.length > 0) {
      feeds[AGGREGATION_IO.rows] = aggregation ? new ort.Tensor('int64', aggregation.rows, [aggregation.rows.length]) : this.noRows;
      for (const name of signature.aggregationParameters) {
        const value = aggregation?.request.parameters[name];
        feeds[AGGREGATION_IO.parameter(name)] = value === undefined ? this.zero : new ort.Tensor('float32', Float32Array.of(value), []);
      }
    } else if (aggregation) {
      throw new GenerationError('INVALID_GENERATION_INPUT', 'this decoder graph does not aggregate in the graph');
    }
    const fetchCache = input.fetchCache ?? true;
    const fetchLogits = input.fetchLogits ?? true;
    const logitsTarget = fetchLogits && input.logits && signature.hasNumLogitsToKeep && signature.vocabSize ? input.logits : null;
    const fetches: Record<string, ort.Tensor | null> = {};
    if (logitsTarget) fetches.logits = new ort.Tensor('float32', logitsTarget, [rows, input.keep, signature.vocabSize!]);
    else if (fetchLogits) fetches.logits = null;
    if (fetchCache) for (const name of this.cacheOutputs) fetches[name] = null;
    if (aggregation) for (const name of aggregation.request.outputs) fetches[AGGREGATION_IO.output(name)] = null;
    const started = performance.now();
    const out = await this.session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    const ortMs = performance.now() - started;
    if (aggregation) {
      for (const name of aggregation.request.outputs) {
        const target = aggregation.into[name];
        if (!target) throw new GenerationError('INVALID_GENERATION_INPUT', `no buffer for the aggregate ${name}`);
        const sums = (out[AGGREGATION_IO.output(name)] as ort.Tensor).data as Float64Array;
        // Row chunks of one step add up here, in float64 (exact for the clipped sums: token-aggregation.ts).
        for (let j = 0; j < sums.length; j += 1) target[j] += sums[j]!;
      }
    }
    if (!fetchLogits) {
      const vocab = signature.vocabSize ?? 0;
      const cache = fetchCache ? this.cacheBlock(out, rows, signature.cacheLayout === 'in-place' ? newTokens : total) : null;
      return { logits: input.logits ?? new Float32Array(0), vocabSize: vocab, cache, ortMs };
    }
    const logitsTensor = out.logits as ort.Tensor;
    const vocabSize = logitsTensor.dims[2]!;
    const positions = logitsTensor.dims[1]!;
    let logits = logitsTarget ?? (logitsTensor.data as Float32Array);
    if (positions !== input.keep) {
      // A graph without num_logits_to_keep returns every position: keep the last `keep` per row.
      const kept = new Float32Array(rows * input.keep * vocabSize);
      for (let r = 0; r < rows; r += 1) {
        const from = (r * positions + positions - input.keep) * vocabSize;
        kept.set(logits.subarray(from, from + input.keep * vocabSize), r * input.keep * vocabSize);
      }
      logits = kept;
    }
    if (!fetchCache) return { logits, vocabSize, cache: null, ortMs };
    return { logits, vocabSize, cache: this.cacheBlock(out, rows, signature.cacheLayout === 'in-place' ? newTokens : total), ortMs };
  }

  private cacheBlock(out: ort.InferenceSession.OnnxValueMapType, rows: number, length: number): KvBlock {
    const tensors = this.cacheOutputs.map((name) => (out[name] as ort.Tensor).data as Float32Array);
    return { rows, length, tensors };
  }

  /** Benchmarks only: ends ONNX Runtime's profiling (the trace is written under the configured prefix). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  /** Releases the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }

  private empty(rows: number, slot: number): ort.Tensor {
    let tensor = this.emptyPast[slot];
    if (!tensor || tensor.dims[0] !== rows) {
      this.pastShape[0] = rows;
      tensor = new ort.Tensor('float32', new Float32Array(0), [...this.pastShape]);
      this.emptyPast[slot] = tensor;
    }
    return tensor;
  }
}

function violation(path: string, message: string): never {
  throw new GenerationError('MODEL_CONTRACT_VIOLATION', `${path}: ${message}`);
}

/** Reads the decoder's shape facts from its declared inputs and outputs, checking the contract. */
function inspectSignature(path: string, session: ort.InferenceSession): DecoderSignature {
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  for (const required of ['input_ids', 'attention_mask']) {
    if (!inputs.has(required)) violation(path, `the graph has no input ${required} (inputs: ${[...inputs.keys()].join(', ')})`);
  }
  if (!outputs.has('logits')) violation(path, `the graph has no output logits (outputs: ${[...outputs.keys()].join(', ')})`);
  const layers = [...inputs.keys()].map((name) => PAST.exec(name)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
  if (layers.length === 0) violation(path, 'the graph has no past_key_values.{i}.key inputs (export it with the KV cache, e.g. optimum task text-generation-with-past)');
  const numLayers = Math.max(...layers) + 1;
  let numKvHeads = 0;
  let headDim = 0;
  for (let i = 0; i < numLayers; i += 1) {
    for (const kind of ['key', 'value']) {
      const meta = inputs.get(`past_key_values.${i}.${kind}`);
      if (!meta) violation(path, `input past_key_values.${i}.${kind} is missing`);
      if (!outputs.has(`present.${i}.${kind}`) && !outputs.has(`new_key_values.${i}.${kind}`)) violation(path, `output present.${i}.${kind} is missing`);
      if (!meta.isTensor || meta.type !== 'float32') violation(path, `input past_key_values.${i}.${kind} must be a float32 tensor`);
      const [, heads, , dim] = meta.shape;
      if (meta.shape.length !== 4 || typeof heads !== 'number' || typeof dim !== 'number') {
        violation(path, `input past_key_values.${i}.${kind} must be [batch, kvHeads, past, headDim] with fixed kvHeads and headDim, got [${meta.shape.join(', ')}]`);
      }
      if ((numKvHeads && heads !== numKvHeads) || (headDim && dim !== headDim)) violation(path, `layers disagree on the key/value shape at past_key_values.${i}.${kind}`);
      numKvHeads = heads;
      headDim = dim;
    }
  }
  const logits = outputs.get('logits')!;
  const vocab = logits.isTensor ? logits.shape[2] : undefined;
  for (const name of inputs.keys()) {
    if (
      !['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep', 'use_cache_branch', AGGREGATION_IO.rows].includes(name) &&
      !/^past_key_values\.\d+\.(key|value)$/.test(name) &&
      !/^aggregation\.\w+$/.test(name)
    ) {
      violation(path, `unexpected graph input ${name}`);
    }
  }
  return {
    numLayers,
    numKvHeads,
    headDim,
    vocabSize: typeof vocab === 'number' ? vocab : null,
    hasPositionIds: inputs.has('position_ids'),
    hasNumLogitsToKeep: inputs.has('num_logits_to_keep'),
    hasUseCacheBranch: inputs.has('use_cache_branch'),
    cacheLayout: outputs.has(DECODER_IO.newKey(0)) ? 'in-place' : 'concat',
    aggregationOutputs: [...outputs.keys()].map((name) => /^aggregate\.(\w+)$/.exec(name)?.[1]).filter((name): name is AggregationOutputName => name !== undefined),
    aggregationParameters: [...inputs.keys()].map((name) => /^aggregation\.(\w+)$/.exec(name)?.[1]).filter((name): name is AggregationParameterName => name !== undefined),
  };
}
