import { GenerationError } from '../generation.errors';

/** Where rotary embeddings pair up the dimensions of a head. */
export type RopeLayout =
  /** Meta / llama2.c / GGUF `llama`: dimensions (2i, 2i+1) rotate together. */
  | 'interleaved'
  /** Hugging Face transformers: dimensions (i, i + rotaryDim/2) rotate together. */
  | 'rotate-half';

/** Frequency scaling of rotary embeddings, as in Hugging Face `rope_scaling`. */
export type RopeScaling =
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    }
  /**
   * llama.cpp's per-frequency divisors (GGUF `rope_freqs.weight`, how Llama 3.1+ files carry
   * their llama3 scaling): inverse frequency i is divided by `factors[i]`.
   */
  | { readonly type: 'frequency-factors'; readonly factors: readonly number[] };

/**
 * What sets Gemma 2/3 and the sliding-window models (Mistral) apart from a plain Llama decoder.
 * Every field is optional and absent means Llama's behaviour, so existing folders read unchanged.
 */
export interface DecoderVariant {
  /** Multiplies the token embedding before the first layer (Gemma: `sqrt(hiddenSize)`); a tied head reads the unscaled table. */
  readonly embeddingScale?: number | null;
  /** The gated MLP's activation: `silu` (SwiGLU, default) or `gelu-tanh` (GeGLU with tanh-approximated GELU, Gemma). */
  readonly activation?: 'silu' | 'gelu-tanh';
  /** RMSNorms on the attention output and the MLP output before each residual add (Gemma 2/3's sandwich norms). */
  readonly postNorms?: boolean;
  /** Multiplier of the attention scores; default `1/sqrt(headDim)` (Gemma: `query_pre_attn_scalar^-0.5`). */
  readonly attentionScale?: number | null;
  /** Attention scores become `cap * tanh(score / cap)` before the mask (Gemma 2). */
  readonly attentionSoftcap?: number | null;
  /** Logits become `cap * tanh(logit / cap)` (Gemma 2). */
  readonly finalLogitSoftcap?: number | null;
  /** A query at position p sees keys at positions p - window + 1 .. p in the sliding layers. */
  readonly slidingWindow?: number | null;
  /** Which layers slide (length numLayers); every layer when absent and a window is set (Mistral). */
  readonly slidingLayers?: readonly boolean[] | null;
  /** RoPE base of the sliding layers, which take no rope scaling (Gemma 3: 10000); others use ropeTheta. */
  readonly localRopeTheta?: number | null;
}

/** Whether layer `layer` of `arch` attends through its sliding window. */
export function isSlidingLayer(arch: DecoderVariant, layer: number): boolean {
  if (!arch.slidingWindow) return false;
  return arch.slidingLayers ? arch.slidingLayers[layer] === true : true;
}

/**
 * The hyper-parameters of a Llama-family decoder (Llama, TinyLlama, SmolLM, Mistral, Qwen2 with its
 * q/k/v biases, Qwen3, Phi-3, Gemma 2/3 through {@link DecoderVariant}). Everything the graph builder
 * and the reference forward pass need; nothing else.
 */
export interface LlamaArchitecture extends DecoderVariant {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Key/value heads; `numHeads` must be a multiple (grouped-query attention). */
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeLayout: RopeLayout;
  /** Dimensions of each head that rotate (partial rotary); defaults to `headDim`. */
  readonly rotaryDim?: number;
  readonly ropeScaling?: RopeScaling | null;
  /** Size of the rotary table: positions at or past it are refused by the engine. */
  readonly maxPositions: number;
  /** The output head is the token embedding (no separate `lm_head`). */
  readonly tiedEmbeddings: boolean;
  /** q, k and v projections carry biases (Qwen2). */
  readonly attentionBias: boolean;
  /** Queries and keys get a per-head RMSNorm (own weights, size headDim) before RoPE (Qwen3). */
  readonly qkNorm?: boolean;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
}

/** One decoder block's weights. Matrices are row-major `(out, in)`, as in PyTorch and GGUF. */
export interface LlamaLayerWeights {
  readonly attentionNorm: Float32Array;
  readonly query: Float32Array;
  readonly key: Float32Array;
  readonly value: Float32Array;
  readonly output: Float32Array;
  readonly queryBias?: Float32Array | null;
  readonly keyBias?: Float32Array | null;
  readonly valueBias?: Float32Array | null;
  readonly mlpNorm: Float32Array;
  readonly gate: Float32Array;
  readonly up: Float32Array;
  readonly down: Float32Array;
  /** Per-head RMSNorm weights of queries and keys (`headDim` each) when `qkNorm`. */
  readonly queryNorm?: Float32Array | null;
  readonly keyNorm?: Float32Array | null;
  /** With `postNorms`: the norms of the attention output and of the MLP output (Gemma 2/3). */
  readonly postAttentionNorm?: Float32Array | null;
  readonly postMlpNorm?: Float32Array | null;
}

/**
 * All weights of a Llama-family decoder, float32. Norm weights are the factors the norm multiplies
 * by: Gemma's `1 + weight` is added by the importer (llama.cpp's GGUF files store it added).
 */
export interface LlamaWeights {
  /** `(vocabSize, hiddenSize)`. */
  readonly tokenEmbedding: Float32Array;
  readonly layers: readonly LlamaLayerWeights[];
  readonly finalNorm: Float32Array;
  /** `(vocabSize, hiddenSize)`, or null when the head is tied to the embedding. */
  readonly outputHead: Float32Array | null;
}

function fail(message: string): never {
  throw new GenerationError('MODEL_CONTRACT_VIOLATION', message);
}

/** Checks the architecture's internal consistency; throws naming the first broken rule. */
export function validateArchitecture(arch: LlamaArchitecture): void {
  const positive: (keyof LlamaArchitecture)[] = [
    'vocabSize',
    'hiddenSize',
    'intermediateSize',
    'numLayers',
    'numHeads',
    'numKvHeads',
    'headDim',
    'maxPositions',
  ];
  for (const key of positive) {
    const value = arch[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) fail(`${key} must be a positive integer, got ${String(value)}`);
  }
  if (arch.numHeads % arch.numKvHeads !== 0) fail(`numHeads (${arch.numHeads}) must be a multiple of numKvHeads (${arch.numKvHeads})`);
  const rotaryDim = arch.rotaryDim ?? arch.headDim;
  if (rotaryDim % 2 !== 0 || rotaryDim > arch.headDim || rotaryDim <= 0) fail(`rotaryDim must be even and within headDim, got ${rotaryDim}`);
  const scaling = arch.ropeScaling;
  if (scaling?.type === 'frequency-factors' && (scaling.factors.length !== rotaryDim / 2 || !scaling.factors.every((f) => Number.isFinite(f) && f > 0))) {
    fail(`rope frequency factors must be ${rotaryDim / 2} positive numbers (one per rotating pair), got ${scaling.factors.length}`);
  }
  for (const key of ['embeddingScale', 'attentionScale', 'attentionSoftcap', 'finalLogitSoftcap', 'localRopeTheta'] as const) {
    const value = arch[key];
    if (value !== undefined && value !== null && !(Number.isFinite(value) && value > 0)) fail(`${key} must be a positive number, got ${value}`);
  }
  if (arch.slidingWindow !== undefined && arch.slidingWindow !== null && !(Number.isInteger(arch.slidingWindow) && arch.slidingWindow > 0)) {
    fail(`slidingWindow must be a positive integer, got ${arch.slidingWindow}`);
  }
  if (arch.slidingLayers && arch.slidingLayers.length !== arch.numLayers) fail(`slidingLayers must have one entry per layer (${arch.numLayers}), got ${arch.slidingLayers.length}`);
  if (!(arch.rmsNormEps > 0)) fail(`rmsNormEps must be positive, got ${arch.rmsNormEps}`);
  if (!(arch.ropeTheta > 0)) fail(`ropeTheta must be positive, got ${arch.ropeTheta}`);
  for (const id of [...arch.eosTokenIds, arch.bosTokenId, arch.padTokenId]) {
    if (id !== null && (!Number.isInteger(id) || id < 0 || id >= arch.vocabSize)) fail(`special token id ${id} is outside the vocabulary of ${arch.vocabSize}`);
  }
}

/** Checks every weight has the size the architecture implies; throws naming the tensor. */
export function validateWeights(arch: LlamaArchitecture, weights: LlamaWeights): void {
  const d = arch.hiddenSize;
  const qDim = arch.numHeads * arch.headDim;
  const kvDim = arch.numKvHeads * arch.headDim;
  const expect = (name: string, tensor: Float32Array | null | undefined, size: number): void => {
    if (!tensor) fail(`weight ${name} is missing`);
    if (tensor.length !== size) fail(`weight ${name} has ${tensor.length} values, expected ${size}`);
  };
  expect('tokenEmbedding', weights.tokenEmbedding, arch.vocabSize * d);
  expect('finalNorm', weights.finalNorm, d);
  if (arch.tiedEmbeddings) {
    if (weights.outputHead) fail('outputHead must be null when the embeddings are tied');
  } else {
    expect('outputHead', weights.outputHead, arch.vocabSize * d);
  }
  if (weights.layers.length !== arch.numLayers) fail(`expected ${arch.numLayers} layers, got ${weights.layers.length}`);
  weights.layers.forEach((layer, i) => {
    expect(`layers.${i}.attentionNorm`, layer.attentionNorm, d);
    expect(`layers.${i}.query`, layer.query, qDim * d);
    expect(`layers.${i}.key`, layer.key, kvDim * d);
    expect(`layers.${i}.value`, layer.value, kvDim * d);
    expect(`layers.${i}.output`, layer.output, d * qDim);
    expect(`layers.${i}.mlpNorm`, layer.mlpNorm, d);
    expect(`layers.${i}.gate`, layer.gate, arch.intermediateSize * d);
    expect(`layers.${i}.up`, layer.up, arch.intermediateSize * d);
    expect(`layers.${i}.down`, layer.down, d * arch.intermediateSize);
    if (arch.postNorms) {
      expect(`layers.${i}.postAttentionNorm`, layer.postAttentionNorm, d);
      expect(`layers.${i}.postMlpNorm`, layer.postMlpNorm, d);
    }
    if (arch.qkNorm) {
      expect(`layers.${i}.queryNorm`, layer.queryNorm, arch.headDim);
      expect(`layers.${i}.keyNorm`, layer.keyNorm, arch.headDim);
    }
    if (arch.attentionBias) {
      expect(`layers.${i}.queryBias`, layer.queryBias, qDim);
      expect(`layers.${i}.keyBias`, layer.keyBias, kvDim);
      expect(`layers.${i}.valueBias`, layer.valueBias, kvDim);
    }
  });
}
