import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { GenerationError } from '../generation.errors';

/** Where ONNX Runtime runs the graph. `cuda` needs onnxruntime-node's CUDA binaries installed. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** Session settings: configuration, never hard-coded. */
export interface DecoderSessionOptions {
  /** Intra-op threads of the session (`GENERATION_THREADS`). */
  readonly threads: number;
  readonly executionProvider: ExecutionProvider;
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

/** One call of the decoder. Arrays are row-major and may be reused by the caller afterwards. */
export interface ForwardInput {
  readonly rows: number;
  /** New positions per row in this call (`sequence_length`). */
  readonly newTokens: number;
  readonly inputIds: BigInt64Array;
  /** `[rows, past + newTokens]`. */
  readonly attentionMask: BigInt64Array;
  readonly positionIds: BigInt64Array;
  /** null: no past (a zero-length cache is fed). */
  readonly past: KvBlock | null;
  /** How many trailing positions need logits (1 except for speculative verification). */
  readonly keep: number;
  /**
   * Preallocated outputs: ONNX Runtime writes the logits (`rows * keep * vocab` floats) and the
   * present keys/values (`rows * kvHeads * (past + newTokens) * headDim` floats each) straight into
   * these arrays, so a decoding step allocates nothing and copies the cache once (inside Concat).
   * Logits are only preallocated for graphs with `num_logits_to_keep`.
   */
  readonly outputs?: { readonly logits: Float32Array | null; readonly present: readonly Float32Array[] } | null;
}

/** Result of one call; `logits` holds `rows * keep * vocab` floats. */
export interface ForwardOutput {
  readonly logits: Float32Array;
  readonly vocabSize: number;
  readonly present: KvBlock;
  /** Wall time spent inside `session.run`. */
  readonly ortMs: number;
}

const PAST = /^past_key_values\.(\d+)\.key$/;

/**
 * An ONNX Runtime session of a decoder in the Optimum layout. The only place ORT types exist:
 * callers pass typed arrays in and get typed arrays back.
 */
export class OnnxDecoder {
  private readonly emptyPast: ort.Tensor[] = [];
  private readonly pastShape: number[];

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly signature: DecoderSignature,
  ) {
    this.pastShape = [0, signature.numKvHeads, 0, signature.headDim];
  }

  /** Opens `modelPath` (external data is resolved beside it) and checks the contract. */
  static async load(modelPath: string, options: DecoderSessionOptions): Promise<OnnxDecoder> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelPath, {
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        executionProviders: options.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new GenerationError(
        options.executionProvider === 'cuda' ? 'EXECUTION_PROVIDER_UNAVAILABLE' : 'MODEL_FORMAT_INVALID',
        `${modelPath} could not be opened by ONNX Runtime (${options.executionProvider}): ${reason}`,
      );
    }
    try {
      return new OnnxDecoder(session, inspectSignature(modelPath, session));
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
      feeds[`past_key_values.${i}.key`] = input.past ? new ort.Tensor('float32', input.past.tensors[2 * i]!, kvShape) : this.empty(rows, 2 * i);
      feeds[`past_key_values.${i}.value`] = input.past ? new ort.Tensor('float32', input.past.tensors[2 * i + 1]!, kvShape) : this.empty(rows, 2 * i + 1);
    }
    let fetches: Record<string, ort.Tensor | null> | null = null;
    if (input.outputs) {
      fetches = { logits: null };
      const presentShape = [rows, signature.numKvHeads, total, signature.headDim];
      if (input.outputs.logits && signature.hasNumLogitsToKeep && signature.vocabSize) {
        fetches.logits = new ort.Tensor('float32', input.outputs.logits, [rows, input.keep, signature.vocabSize]);
      }
      for (let i = 0; i < signature.numLayers; i += 1) {
        fetches[`present.${i}.key`] = new ort.Tensor('float32', input.outputs.present[2 * i]!, presentShape);
        fetches[`present.${i}.value`] = new ort.Tensor('float32', input.outputs.present[2 * i + 1]!, presentShape);
      }
    }
    const started = performance.now();
    const out = fetches ? await this.session.run(feeds, fetches) : await this.session.run(feeds);
    const ortMs = performance.now() - started;
    const logitsTensor = (fetches?.logits ?? out.logits) as ort.Tensor;
    const vocabSize = logitsTensor.dims[2]!;
    const positions = logitsTensor.dims[1]!;
    let logits = logitsTensor.data as Float32Array;
    if (positions !== input.keep) {
      // A graph without num_logits_to_keep returns every position: keep the last `keep` per row.
      const kept = new Float32Array(rows * input.keep * vocabSize);
      for (let r = 0; r < rows; r += 1) {
        const from = (r * positions + positions - input.keep) * vocabSize;
        kept.set(logits.subarray(from, from + input.keep * vocabSize), r * input.keep * vocabSize);
      }
      logits = kept;
    }
    const tensors: Float32Array[] = [];
    if (input.outputs) {
      tensors.push(...input.outputs.present);
      if (fetches?.logits) logits = input.outputs.logits!;
    } else {
      for (let i = 0; i < signature.numLayers; i += 1) {
        tensors.push((out[`present.${i}.key`] as ort.Tensor).data as Float32Array);
        tensors.push((out[`present.${i}.value`] as ort.Tensor).data as Float32Array);
      }
    }
    return { logits, vocabSize, present: { rows, length: total, tensors }, ortMs };
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
      if (!outputs.has(`present.${i}.${kind}`)) violation(path, `output present.${i}.${kind} is missing`);
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
    if (!['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep', 'use_cache_branch'].includes(name) && !/^past_key_values\.\d+\.(key|value)$/.test(name)) {
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
  };
}
