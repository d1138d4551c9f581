import { type LlamaArchitecture, type LlamaLayerWeights, type LlamaWeights } from '../model/llama-architecture';

/**
 * Seeded random Llama weights for tests: tiny models built at test time, so the suite needs no
 * binary fixtures. Not part of the library's public API.
 */
export function tinyArchitecture(overrides: Partial<LlamaArchitecture> = {}): LlamaArchitecture {
  return {
    vocabSize: 96,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'rotate-half',
    maxPositions: 128,
    tiedEmbeddings: false,
    attentionBias: false,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null,
    ...overrides,
  };
}

/** Deterministic weights; values are scaled so logits stay O(1). */
export function tinyWeights(arch: LlamaArchitecture, seed = 1): LlamaWeights {
  let state = seed >>> 0 || 1;
  // mulberry32: a small deterministic generator; test weights need no cryptographic quality.
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const matrix = (rows: number, cols: number): Float32Array => {
    const bound = Math.sqrt(3 / cols);
    return Float32Array.from({ length: rows * cols }, () => (2 * next() - 1) * bound);
  };
  const norm = (n: number): Float32Array => Float32Array.from({ length: n }, () => 0.8 + 0.4 * next());
  const bias = (n: number): Float32Array => Float32Array.from({ length: n }, () => 0.2 * (2 * next() - 1));
  const d = arch.hiddenSize;
  const q = arch.numHeads * arch.headDim;
  const kv = arch.numKvHeads * arch.headDim;
  const layers: LlamaLayerWeights[] = Array.from({ length: arch.numLayers }, () => ({
    attentionNorm: norm(d),
    query: matrix(q, d),
    key: matrix(kv, d),
    value: matrix(kv, d),
    output: matrix(d, q),
    queryBias: arch.attentionBias ? bias(q) : null,
    keyBias: arch.attentionBias ? bias(kv) : null,
    valueBias: arch.attentionBias ? bias(kv) : null,
    mlpNorm: norm(d),
    gate: matrix(arch.intermediateSize, d),
    up: matrix(arch.intermediateSize, d),
    down: matrix(d, arch.intermediateSize),
    queryNorm: arch.qkNorm ? norm(arch.headDim) : null,
    keyNorm: arch.qkNorm ? norm(arch.headDim) : null,
    postAttentionNorm: arch.postNorms ? norm(d) : null,
    postMlpNorm: arch.postNorms ? norm(d) : null,
  }));
  const tokenEmbedding = Float32Array.from({ length: arch.vocabSize * d }, () => 2 * next() - 1);
  return {
    tokenEmbedding,
    layers,
    finalNorm: norm(d),
    outputHead: arch.tiedEmbeddings ? null : matrix(arch.vocabSize, d),
  };
}
