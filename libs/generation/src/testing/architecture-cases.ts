import { join } from 'node:path';
import { type LlamaArchitecture, type LlamaWeights } from '../model/llama-architecture';
import { type GgufMeta, TINY_VOCAB_SIZE, writeTinyHuggingFaceFolder, writeTinyLlamaGguf } from './model-files';
import { tinyArchitecture, tinyWeights } from './tiny-llama';

/**
 * One tiny random model per supported architecture, written both as a Hugging Face folder and as
 * a GGUF file the way each format stores that architecture (llama.cpp's q/k row permutation for
 * `llama`, Gemma's `weight = factor - 1` norms in Hugging Face files, fused Phi-3 tensors, the
 * metadata keys of each). Both must import to the logits of tools/model-reference's PyTorch pass
 * on the Hugging Face folder. Not part of the public API.
 */
export interface ArchitectureCase {
  readonly name: string;
  /** The model as the importers should read it (rotate-half layout, norms as factors). */
  readonly arch: LlamaArchitecture;
  readonly seed: number;
  readonly huggingFace: { readonly architecture: string; readonly config: Record<string, unknown>; readonly fused?: boolean; readonly gemma?: boolean };
  readonly gguf: {
    readonly architecture: 'llama' | 'qwen3' | 'phi3' | 'gemma2' | 'gemma3';
    readonly metadata: readonly GgufMeta[];
    /** llama.cpp permutes Llama q/k rows to its interleaved rotary layout. */
    readonly permuteQk?: boolean;
    readonly ropeFrequencyFactors?: Float32Array;
  };
}

/** Prompts of unequal lengths (left padding), longer than the sliding windows below. */
export const CASE_ROWS: readonly (readonly number[])[] = [
  [1, 300, 301, 280, 262, 270, 290, 265, 264, 263],
  [1, 270, 290, 262, 300, 301],
  [1, 260, 261],
];
/** Tokens appended one by one after the prefill (the cached decoding path). */
export const CASE_SUFFIX: readonly number[] = [280, 299, 262];

const llama3 = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } as const;
const base = { vocabSize: TINY_VOCAB_SIZE, ropeLayout: 'rotate-half', intermediateSize: 64, maxPositions: 128 } as const;

/** llama.cpp's `rope_freqs.weight` for a llama3 scaling: 1 for short wavelengths, factor for long ones, blended between. */
function llama3FrequencyFactors(arch: LlamaArchitecture): Float32Array {
  return Float32Array.from({ length: arch.headDim / 2 }, (_, i) => {
    const wavelen = 2 * Math.PI * Math.pow(arch.ropeTheta, (2 * i) / arch.headDim);
    if (wavelen < llama3.originalMaxPositions / llama3.highFreqFactor) return 1;
    if (wavelen > llama3.originalMaxPositions / llama3.lowFreqFactor) return llama3.factor;
    const smooth = (llama3.originalMaxPositions / wavelen - llama3.lowFreqFactor) / (llama3.highFreqFactor - llama3.lowFreqFactor);
    return 1 / ((1 - smooth) / llama3.factor + smooth);
  });
}

const llama31 = tinyArchitecture({ ...base, ropeScaling: llama3 });
const mistral = tinyArchitecture({ ...base, slidingWindow: 4 });
const qwen3 = tinyArchitecture({ ...base, qkNorm: true, headDim: 16, ropeTheta: 1000000 });
const phi3 = tinyArchitecture({ ...base, rotaryDim: 6 });
const gemmaCommon = { ...base, tiedEmbeddings: true, embeddingScale: Math.fround(Math.sqrt(32)), activation: 'gelu-tanh', postNorms: true, rmsNormEps: 1e-6 } as const;
const gemma2 = tinyArchitecture({
  ...gemmaCommon,
  attentionScale: Math.pow(8, -0.5),
  attentionSoftcap: 2,
  finalLogitSoftcap: 3,
  slidingWindow: 3,
  slidingLayers: [true, false],
});
const gemma3 = tinyArchitecture({
  ...gemmaCommon,
  numLayers: 3,
  qkNorm: true,
  attentionScale: Math.pow(8, -0.5),
  ropeTheta: 1000000,
  ropeScaling: { type: 'linear', factor: 2 },
  localRopeTheta: 10000,
  slidingWindow: 3,
  slidingLayers: [true, true, false],
});

function hfBase(arch: LlamaArchitecture): Record<string, unknown> {
  return { rms_norm_eps: arch.rmsNormEps, rope_theta: arch.ropeTheta, max_position_embeddings: arch.maxPositions };
}

/** The cases, Llama 3.1 to Gemma 3. */
export const ARCHITECTURE_CASES: readonly ArchitectureCase[] = [
  {
    name: 'llama3.1',
    arch: llama31,
    seed: 101,
    huggingFace: {
      architecture: 'LlamaForCausalLM',
      config: { ...hfBase(llama31), rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } },
    },
    gguf: { architecture: 'llama', metadata: [], permuteQk: true, ropeFrequencyFactors: llama3FrequencyFactors(llama31) },
  },
  {
    name: 'mistral',
    arch: mistral,
    seed: 102,
    huggingFace: { architecture: 'MistralForCausalLM', config: { ...hfBase(mistral), model_type: 'mistral', sliding_window: 4 } },
    gguf: { architecture: 'llama', metadata: [{ key: 'llama.attention.sliding_window', type: 'u32', value: 4 }], permuteQk: true },
  },
  {
    name: 'qwen3',
    arch: qwen3,
    seed: 103,
    huggingFace: { architecture: 'Qwen3ForCausalLM', config: { ...hfBase(qwen3), model_type: 'qwen3', head_dim: 16 } },
    gguf: { architecture: 'qwen3', metadata: [] },
  },
  {
    name: 'phi3',
    arch: phi3,
    seed: 104,
    huggingFace: { architecture: 'Phi3ForCausalLM', config: { ...hfBase(phi3), model_type: 'phi3', partial_rotary_factor: 0.75, rope_scaling: null }, fused: true },
    gguf: { architecture: 'phi3', metadata: [] },
  },
  {
    name: 'gemma2',
    arch: gemma2,
    seed: 105,
    huggingFace: {
      architecture: 'Gemma2ForCausalLM',
      config: { ...hfBase(gemma2), model_type: 'gemma2', head_dim: 8, hidden_activation: 'gelu_pytorch_tanh', query_pre_attn_scalar: 8, attn_logit_softcapping: 2, final_logit_softcapping: 3, sliding_window: 3 },
      gemma: true,
    },
    gguf: {
      architecture: 'gemma2',
      metadata: [
        { key: 'gemma2.attn_logit_softcapping', type: 'f32', value: 2 },
        { key: 'gemma2.final_logit_softcapping', type: 'f32', value: 3 },
        { key: 'gemma2.attention.sliding_window', type: 'u32', value: 3 },
      ],
    },
  },
  {
    name: 'gemma3',
    arch: gemma3,
    seed: 106,
    huggingFace: {
      architecture: 'Gemma3ForCausalLM',
      config: {
        ...hfBase(gemma3),
        model_type: 'gemma3_text',
        head_dim: 8,
        hidden_activation: 'gelu_pytorch_tanh',
        query_pre_attn_scalar: 8,
        rope_local_base_freq: 10000,
        rope_scaling: { rope_type: 'linear', factor: 2 },
        sliding_window: 3,
        sliding_window_pattern: 3,
        attn_logit_softcapping: null,
        final_logit_softcapping: null,
      },
      gemma: true,
    },
    gguf: {
      architecture: 'gemma3',
      metadata: [
        { key: 'gemma3.attention.sliding_window', type: 'u32', value: 3 },
        { key: 'gemma3.attention.sliding_window_pattern', type: 'u32', value: 3 },
        { key: 'gemma3.rope.scaling.type', type: 'string', value: 'linear' },
        { key: 'gemma3.rope.scaling.factor', type: 'f32', value: 2 },
      ],
    },
  },
];

/** llama.cpp's converter permutation of q/k rows: per head, rotate-half pair (i, i + hd/2) becomes (2i, 2i + 1). */
function permuteRows(weight: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(weight.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h += 1) {
    for (let j = 0; j < 2; j += 1) {
      for (let i = 0; i < half; i += 1) {
        const from = (h * headDim + j * half + i) * cols;
        out.set(weight.subarray(from, from + cols), (h * headDim + 2 * i + j) * cols);
      }
    }
  }
  return out;
}

/** Writes the case's Hugging Face folder and GGUF file under `root`; returns their paths and the weights. */
export function writeArchitectureCase(root: string, c: ArchitectureCase): { huggingFaceDir: string; ggufPath: string; weights: LlamaWeights } {
  const weights = tinyWeights(c.arch, c.seed);
  const huggingFaceDir = join(root, `${c.name}-hf`);
  writeTinyHuggingFaceFolder(huggingFaceDir, c.arch, weights, {
    architecture: c.huggingFace.architecture,
    config: c.huggingFace.config,
    ...(c.huggingFace.fused ? { fusedProjections: true } : {}),
    ...(c.huggingFace.gemma ? { gemma: true } : {}),
  });
  const ggufPath = join(root, `${c.name}.gguf`);
  const { arch } = c;
  const ggufWeights: LlamaWeights = c.gguf.permuteQk
    ? {
        ...weights,
        layers: weights.layers.map((layer) => ({
          ...layer,
          query: permuteRows(layer.query, arch.numHeads, arch.headDim, arch.hiddenSize),
          key: permuteRows(layer.key, arch.numKvHeads, arch.headDim, arch.hiddenSize),
        })),
      }
    : weights;
  const factors = c.gguf.ropeFrequencyFactors;
  writeTinyLlamaGguf(ggufPath, { ...arch, ropeLayout: c.gguf.permuteQk ? 'interleaved' : 'rotate-half' }, ggufWeights, 'F32', {
    architecture: c.gguf.architecture,
    metadata: c.gguf.metadata,
    ...(factors ? { tensors: [{ name: 'rope_freqs.weight', shape: [factors.length], data: factors, type: 'F32' as const }] } : {}),
  });
  return { huggingFaceDir, ggufPath, weights };
}
