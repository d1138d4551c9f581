/*
 * Seeded random weights for the benchmarks' generated models (bench:weights, bench:gpu): uniform,
 * scaled like an initialised network so logits stay O(1), filled by a plain LCG loop (a 0.5B
 * model's 500M floats take seconds, not the minutes of a closure per element).
 */
import { type LlamaArchitecture, type LlamaWeights } from '@synthgate/generation';

/** Random weights of `arch` from `seed` (the same seed gives the same model). */
export function randomWeights(arch: LlamaArchitecture, seed = 12345): LlamaWeights {
  let state = seed >>> 0;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  const matrix = (rows: number, cols: number): Float32Array => {
    const bound = Math.sqrt(3 / cols);
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < out.length; i += 1) out[i] = (2 * next() - 1) * bound;
    return out;
  };
  const bias = (n: number): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 1) out[i] = 0.2 * (2 * next() - 1);
    return out;
  };
  const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
  const d = arch.hiddenSize;
  const q = arch.numHeads * arch.headDim;
  const kv = arch.numKvHeads * arch.headDim;
  return {
    tokenEmbedding: matrix(arch.vocabSize, d),
    layers: Array.from({ length: arch.numLayers }, () => ({
      attentionNorm: ones(d),
      query: matrix(q, d),
      key: matrix(kv, d),
      value: matrix(kv, d),
      output: matrix(d, q),
      ...(arch.attentionBias ? { queryBias: bias(q), keyBias: bias(kv), valueBias: bias(kv) } : {}),
      mlpNorm: ones(d),
      gate: matrix(arch.intermediateSize, d),
      up: matrix(arch.intermediateSize, d),
      down: matrix(d, arch.intermediateSize),
    })),
    finalNorm: ones(d),
    outputHead: arch.tiedEmbeddings ? null : matrix(arch.vocabSize, d),
  };
}
