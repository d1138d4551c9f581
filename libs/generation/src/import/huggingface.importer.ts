import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenerationError } from '../generation.errors';
import { type LlamaArchitecture, type LlamaLayerWeights, type LlamaWeights, type RopeScaling } from '../model/llama-architecture';
import { type LlamaModelParts } from './llama-model.writer';
import { SafetensorsFile } from './safetensors.reader';

/**
 * Hugging Face architectures the importer accepts, with their q/k/v biases and whether q/k/v and
 * gate/up come fused in one tensor each (Phi-3: `qkv_proj` rows q, k, v; `gate_up_proj` rows
 * gate, up), which the importer splits: the graph is the same Llama decoder.
 */
const ARCHITECTURES: Record<string, { modelType: string; attentionBias: boolean; fused: boolean; qkNorm?: boolean; gemma?: 2 | 3 } | undefined> = {
  LlamaForCausalLM: { modelType: 'llama', attentionBias: false, fused: false },
  // Gemma 2/3: see gemmaVariant; norms multiply by 1 + weight, which the importer adds.
  Gemma2ForCausalLM: { modelType: 'gemma2', attentionBias: false, fused: false, gemma: 2 },
  Gemma3ForCausalLM: { modelType: 'gemma3_text', attentionBias: false, fused: false, qkNorm: true, gemma: 3 },
  MistralForCausalLM: { modelType: 'mistral', attentionBias: false, fused: false },
  Qwen2ForCausalLM: { modelType: 'qwen2', attentionBias: true, fused: false },
  // Qwen3: per-head RMSNorm of queries and keys (q_norm, k_norm) before RoPE; no q/k/v biases.
  Qwen3ForCausalLM: { modelType: 'qwen3', attentionBias: false, fused: false, qkNorm: true },
  Phi3ForCausalLM: { modelType: 'phi3', attentionBias: false, fused: true },
};

/**
 * Rotary tables grow with the context; past this many positions the graph's table is capped (and
 * config.json says so, so the engine refuses longer sequences). Synthetic examples are far shorter.
 */
export const MAX_IMPORTED_POSITIONS = 8192;

/** The standard keys of a Hugging Face Llama / Mistral / Qwen2 `config.json`. */
interface HfConfig {
  architectures?: string[];
  vocab_size?: number;
  hidden_size?: number;
  intermediate_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_dim?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  rope_scaling?: { rope_type?: string; type?: string; factor?: number; low_freq_factor?: number; high_freq_factor?: number; original_max_position_embeddings?: number } | null;
  partial_rotary_factor?: number;
  max_position_embeddings?: number;
  sliding_window?: number | null;
  use_sliding_window?: boolean;
  max_window_layers?: number;
  layer_types?: string[];
  sliding_window_pattern?: number;
  query_pre_attn_scalar?: number;
  attn_logit_softcapping?: number | null;
  final_logit_softcapping?: number | null;
  rope_local_base_freq?: number;
  hidden_activation?: string;
  tie_word_embeddings?: boolean;
  attention_bias?: boolean;
  mlp_bias?: boolean;
  hidden_act?: string;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
}

function readJsonFile<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new GenerationError('MODEL_FORMAT_INVALID', `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function need(config: HfConfig, key: keyof HfConfig, dir: string): number {
  const value = config[key];
  if (typeof value !== 'number' || !(value > 0)) throw new GenerationError('MODEL_FILE_MISSING', `${dir}/config.json: ${key} is missing or not a positive number`);
  return value;
}

function tokenIds(value: number | number[] | null | undefined): number[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function ropeScaling(config: HfConfig, dir: string): RopeScaling | null {
  const scaling = config.rope_scaling;
  if (!scaling) return null;
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default' || type === undefined) return null;
  if (type === 'linear' && scaling.factor) return { type: 'linear', factor: scaling.factor };
  if (type === 'llama3' && scaling.factor && scaling.low_freq_factor && scaling.high_freq_factor && scaling.original_max_position_embeddings) {
    return {
      type: 'llama3',
      factor: scaling.factor,
      lowFreqFactor: scaling.low_freq_factor,
      highFreqFactor: scaling.high_freq_factor,
      originalMaxPositions: scaling.original_max_position_embeddings,
    };
  }
  throw new GenerationError('UNSUPPORTED_MODEL', `${dir}/config.json: rope_scaling type "${String(type)}" is not supported (default, linear and llama3 are)`);
}

/**
 * Which layers attend through the sliding window: `layer_types` when the config lists them (recent
 * transformers), else each architecture's rule: Gemma 2 every even layer, Gemma 3 all but every
 * `sliding_window_pattern`-th (6), Qwen2 the layers from `max_window_layers` on when
 * `use_sliding_window`, Mistral (and anything else with a window) every layer.
 */
function slidingLayers(config: HfConfig, gemma: 2 | 3 | undefined, numLayers: number, dir: string): boolean[] | null {
  const window = config.sliding_window;
  if (!window || config.use_sliding_window === false) return null;
  if (config.layer_types) {
    if (config.layer_types.length !== numLayers) throw new GenerationError('MODEL_FORMAT_INVALID', `${dir}/config.json: layer_types has ${config.layer_types.length} entries for ${numLayers} layers`);
    return config.layer_types.map((type) => type === 'sliding_attention');
  }
  const layers = Array.from({ length: numLayers }, (_, i) => i);
  if (gemma === 2) return layers.map((i) => i % 2 === 0);
  if (gemma === 3) return layers.map((i) => (i + 1) % (config.sliding_window_pattern ?? 6) !== 0);
  if (config.use_sliding_window === true && config.max_window_layers !== undefined) return layers.map((i) => i >= config.max_window_layers!);
  return layers.map(() => true);
}

/** Gemma's differences from Llama (Gemma 2 and 3 papers; transformers' Gemma2/Gemma3 configs). */
function gemmaVariant(config: HfConfig, gemma: 2 | 3, hiddenSize: number, headDim: number, dir: string): Partial<LlamaArchitecture> {
  const activation = config.hidden_activation ?? config.hidden_act;
  if (activation !== undefined && activation !== 'gelu_pytorch_tanh' && activation !== 'gelu') {
    throw new GenerationError('UNSUPPORTED_MODEL', `${dir}/config.json: hidden_activation ${activation} is not supported for Gemma (gelu_pytorch_tanh is)`);
  }
  return {
    embeddingScale: Math.fround(Math.sqrt(hiddenSize)),
    activation: 'gelu-tanh',
    postNorms: true,
    attentionScale: Math.pow(config.query_pre_attn_scalar ?? headDim, -0.5),
    attentionSoftcap: gemma === 2 ? (config.attn_logit_softcapping ?? null) : null,
    finalLogitSoftcap: gemma === 2 ? (config.final_logit_softcapping ?? null) : null,
    localRopeTheta: gemma === 3 ? (config.rope_local_base_freq ?? 10000) : null,
  };
}

/** Gemma norms multiply by `1 + weight`: the importer stores the factor. */
function plusOne(weight: Float32Array): Float32Array {
  return weight.map((w) => w + 1);
}

/** The safetensors files of a folder: the index's shards, `model.safetensors`, or every `*.safetensors`. */
function weightFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = readJsonFile<{ weight_map?: Record<string, string> }>(index).weight_map ?? {};
    return [...new Set(Object.values(map))].map((file) => join(dir, file));
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (files.length === 0) {
    const hasBin = readdirSync(dir).some((f) => f.endsWith('.bin') || f.endsWith('.pt'));
    throw new GenerationError(
      'MODEL_FILE_MISSING',
      `${dir}: no *.safetensors weights${hasBin ? ' (PyTorch .bin/.pt checkpoints are not read; save with safe_serialization=True)' : ''}`,
    );
  }
  return files.map((file) => join(dir, file));
}

/**
 * Reads a Hugging Face model folder (`config.json`, `*.safetensors` in F32/F16/BF16,
 * `tokenizer.json`) of a Llama-family architecture (LlamaForCausalLM, MistralForCausalLM,
 * Qwen2ForCausalLM, Qwen3ForCausalLM, Phi3ForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM). Rotary embeddings use transformers' rotate-half layout; a missing `lm_head`
 * (or `tie_word_embeddings: true`) means the head is the embedding.
 */
export function readHuggingFaceModel(dir: string): LlamaModelParts {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new GenerationError('MODEL_FILE_MISSING', `${dir}: config.json is missing`);
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) {
    throw new GenerationError('MODEL_FILE_MISSING', `${dir}: tokenizer.json is missing (a SentencePiece tokenizer.model alone is not enough; save the fast tokenizer)`);
  }
  const config = readJsonFile<HfConfig>(configPath);
  const archName = config.architectures?.[0];
  const known = archName ? ARCHITECTURES[archName] : undefined;
  if (!archName || !known) {
    throw new GenerationError(
      'UNSUPPORTED_MODEL',
      `${dir}/config.json: architecture ${archName ?? '(none)'} is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`,
    );
  }
  if (!known.gemma && config.hidden_act && config.hidden_act !== 'silu') {
    throw new GenerationError('UNSUPPORTED_MODEL', `${dir}/config.json: hidden_act ${config.hidden_act} is not supported (silu is)`);
  }
  if (config.mlp_bias) throw new GenerationError('UNSUPPORTED_MODEL', `${dir}/config.json: mlp_bias is not supported`);
  if (config.attention_bias && !known.attentionBias) {
    throw new GenerationError('UNSUPPORTED_MODEL', `${dir}/config.json: attention_bias (biases on every attention projection) is not supported for ${archName}`);
  }
  const files = weightFiles(dir).map((path) => SafetensorsFile.open(path));
  try {
    const locate = (name: string): SafetensorsFile | null => files.find((f) => f.tensors.has(name)) ?? null;
    // Checkpoints of the bare model omit the `model.` prefix.
    const prefix = locate('model.embed_tokens.weight') ? 'model.' : '';
    const read = (name: string): Float32Array => {
      const file = locate(name);
      if (!file) throw new GenerationError('MODEL_FILE_MISSING', `${dir}: tensor ${name} is missing from the safetensors files`);
      return file.readTensor(name);
    };
    const maybe = (name: string): Float32Array | null => (locate(name) ? read(name) : null);
    const hiddenSize = need(config, 'hidden_size', dir);
    const numHeads = need(config, 'num_attention_heads', dir);
    const headDim = config.head_dim ?? hiddenSize / numHeads;
    const numLayers = need(config, 'num_hidden_layers', dir);
    const embedding = read(`${prefix}embed_tokens.weight`);
    const vocabSize = config.vocab_size ?? embedding.length / hiddenSize;
    // Gemma ties its head always (its configs may leave the flag out).
    const head = config.tie_word_embeddings === true || (known.gemma && config.tie_word_embeddings !== false) ? null : maybe('lm_head.weight');
    const generationConfigPath = join(dir, 'generation_config.json');
    const generationConfig = existsSync(generationConfigPath) ? readJsonFile<{ eos_token_id?: number | number[] | null }>(generationConfigPath) : null;
    const eos = [...new Set([...tokenIds(config.eos_token_id), ...tokenIds(generationConfig?.eos_token_id)])].filter((id) => id >= 0 && id < vocabSize);
    const sliding = slidingLayers(config, known.gemma, numLayers, dir);
    const maxPositions = Math.min(config.max_position_embeddings ?? 2048, MAX_IMPORTED_POSITIONS);
    const validId = (id: number | null | undefined): number | null => (typeof id === 'number' && id >= 0 && id < vocabSize ? id : null);
    const arch: LlamaArchitecture = {
      vocabSize,
      hiddenSize,
      intermediateSize: need(config, 'intermediate_size', dir),
      numLayers,
      numHeads,
      numKvHeads: config.num_key_value_heads ?? numHeads,
      headDim,
      rmsNormEps: config.rms_norm_eps ?? 1e-6,
      ropeTheta: config.rope_theta ?? 10000,
      ropeLayout: 'rotate-half',
      rotaryDim: Math.round(headDim * (config.partial_rotary_factor ?? 1)),
      ropeScaling: ropeScaling(config, dir),
      maxPositions,
      tiedEmbeddings: head === null,
      attentionBias: known.attentionBias,
      qkNorm: known.qkNorm ?? false,
      bosTokenId: validId(config.bos_token_id),
      eosTokenIds: eos,
      padTokenId: validId(config.pad_token_id),
      ...(sliding && sliding.some(Boolean) ? { slidingWindow: config.sliding_window!, slidingLayers: sliding.every(Boolean) ? null : sliding } : {}),
      ...(known.gemma ? gemmaVariant(config, known.gemma, hiddenSize, headDim, dir) : {}),
    };
    // Gemma stores each norm's weight w and multiplies by 1 + w; Gemma 2/3 name their norms
    // input, post-attention, pre-feedforward and post-feedforward.
    const norm = (name: string): Float32Array => (known.gemma ? plusOne(read(name)) : read(name));
    const layers: LlamaLayerWeights[] = [];
    const qSize = arch.numHeads * headDim * hiddenSize;
    const kvSize = arch.numKvHeads * headDim * hiddenSize;
    const mlpSize = arch.intermediateSize * hiddenSize;
    /** Rows of a fused tensor, split at `sizes` (values), after checking its length. */
    const split = (name: string, sizes: readonly number[]): Float32Array[] => {
      const fused = read(name);
      const total = sizes.reduce((a, b) => a + b, 0);
      if (fused.length !== total) throw new GenerationError('MODEL_FORMAT_INVALID', `${dir}: tensor ${name} has ${fused.length} values, the config implies ${total}`);
      let at = 0;
      return sizes.map((size) => fused.subarray(at, (at += size)));
    };
    for (let i = 0; i < numLayers; i += 1) {
      const p = `${prefix}layers.${i}.`;
      const [query, key, value] = known.fused
        ? split(`${p}self_attn.qkv_proj.weight`, [qSize, kvSize, kvSize])
        : [read(`${p}self_attn.q_proj.weight`), read(`${p}self_attn.k_proj.weight`), read(`${p}self_attn.v_proj.weight`)];
      const [gate, up] = known.fused ? split(`${p}mlp.gate_up_proj.weight`, [mlpSize, mlpSize]) : [read(`${p}mlp.gate_proj.weight`), read(`${p}mlp.up_proj.weight`)];
      layers.push({
        attentionNorm: norm(`${p}input_layernorm.weight`),
        query: query!,
        key: key!,
        value: value!,
        output: read(`${p}self_attn.o_proj.weight`),
        queryBias: known.attentionBias ? read(`${p}self_attn.q_proj.bias`) : null,
        keyBias: known.attentionBias ? read(`${p}self_attn.k_proj.bias`) : null,
        valueBias: known.attentionBias ? read(`${p}self_attn.v_proj.bias`) : null,
        queryNorm: known.qkNorm ? norm(`${p}self_attn.q_norm.weight`) : null,
        keyNorm: known.qkNorm ? norm(`${p}self_attn.k_norm.weight`) : null,
        mlpNorm: norm(known.gemma ? `${p}pre_feedforward_layernorm.weight` : `${p}post_attention_layernorm.weight`),
        postAttentionNorm: known.gemma ? norm(`${p}post_attention_layernorm.weight`) : null,
        postMlpNorm: known.gemma ? norm(`${p}post_feedforward_layernorm.weight`) : null,
        gate: gate!,
        up: up!,
        down: read(`${p}mlp.down_proj.weight`),
      });
    }
    const weights: LlamaWeights = { tokenEmbedding: embedding, layers, finalNorm: norm(`${prefix}norm.weight`), outputHead: head };
    const tokenizerConfigPath = join(dir, 'tokenizer_config.json');
    return {
      arch,
      weights,
      tokenizerJson: readJsonFile<object>(tokenizerPath),
      tokenizerConfig: existsSync(tokenizerConfigPath) ? readJsonFile<object>(tokenizerConfigPath) : null,
      architectureName: archName,
      modelType: known.modelType,
      generationConfig,
    };
  } finally {
    for (const file of files) file.close();
  }
}
