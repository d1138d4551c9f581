import { GenerationError } from '../generation.errors';
import { type LlamaArchitecture, type LlamaLayerWeights, type LlamaWeights, type RopeLayout } from '../model/llama-architecture';
import { buildTokenizerJson, type GgufVocabulary } from './gguf-tokenizer';
import { MAX_IMPORTED_POSITIONS } from './huggingface.importer';
import { GgufFile, type GgufValue, SUPPORTED_GGML_TYPES } from './gguf.reader';
import { type LlamaModelParts } from './llama-model.writer';

/** GGUF architectures the importer turns into graphs, with their rotary layout and biases. */
const ARCHITECTURES: Record<string, { ropeLayout: RopeLayout; attentionBias: boolean; name: string; modelType: string; qkNorm?: boolean; fused?: boolean; gemma?: 2 | 3 } | undefined> = {
  // llama.cpp's converter permutes Llama q/k rows so the interleaved ("normal") rope applies.
  llama: { ropeLayout: 'interleaved', attentionBias: false, name: 'LlamaForCausalLM', modelType: 'llama' },
  // Qwen2 keeps Hugging Face's layout (llama.cpp's NEOX rope) and has q/k/v biases.
  qwen2: { ropeLayout: 'rotate-half', attentionBias: true, name: 'Qwen2ForCausalLM', modelType: 'qwen2' },
  // Qwen3: NEOX rope, per-head q/k RMSNorm (attn_q_norm, attn_k_norm), no biases.
  qwen3: { ropeLayout: 'rotate-half', attentionBias: false, name: 'Qwen3ForCausalLM', modelType: 'qwen3', qkNorm: true },
  // Phi-3: NEOX rope, fused attn_qkv (rows q, k, v) and ffn_up (rows gate, up), as Hugging Face stores them.
  phi3: { ropeLayout: 'rotate-half', attentionBias: false, name: 'Phi3ForCausalLM', modelType: 'phi3', fused: true },
  // Gemma 2/3: NEOX rope; llama.cpp's converter stores norms as 1 + weight already.
  gemma2: { ropeLayout: 'rotate-half', attentionBias: false, name: 'Gemma2ForCausalLM', modelType: 'gemma2', gemma: 2 },
  gemma3: { ropeLayout: 'rotate-half', attentionBias: false, name: 'Gemma3ForCausalLM', modelType: 'gemma3_text', qkNorm: true, gemma: 3 },
};

/**
 * Layers of the 27B Gemma models (46 in Gemma 2, 62 in Gemma 3), whose query scale is
 * `(hidden / heads)^-0.5` rather than `headDim^-0.5`. GGUF has no query_pre_attn_scalar key;
 * llama.cpp tells the sizes apart by layer count, and so does this importer.
 */
const GEMMA_27B_LAYERS: Record<2 | 3, number> = { 2: 46, 3: 62 };

/** Gemma's differences from Llama as a GGUF file states them (llama.cpp's gemma2/gemma3 graphs). */
function gemmaVariant(file: GgufFile, gemma: 2 | 3, p: string, hiddenSize: number, numHeads: number, headDim: number, numLayers: number): Partial<LlamaArchitecture> {
  const window = optionalNumber(file, `${p}attention.sliding_window`);
  const pattern = gemma === 2 ? 2 : (optionalNumber(file, `${p}attention.sliding_window_pattern`) ?? 6);
  const queryScalar = numLayers === GEMMA_27B_LAYERS[gemma] ? hiddenSize / numHeads : headDim;
  return {
    embeddingScale: Math.fround(Math.sqrt(hiddenSize)),
    activation: 'gelu-tanh',
    postNorms: true,
    attentionScale: Math.pow(queryScalar, -0.5),
    attentionSoftcap: gemma === 2 ? optionalNumber(file, `${p}attn_logit_softcapping`) : null,
    finalLogitSoftcap: gemma === 2 ? optionalNumber(file, `${p}final_logit_softcapping`) : null,
    // Gemma 3's local layers: base 10000, unscaled (llama.cpp's rope_freq_base_train_swa).
    localRopeTheta: gemma === 3 ? 10000 : null,
    ...(window ? { slidingWindow: window, slidingLayers: Array.from({ length: numLayers }, (_, i) => (i + 1) % pattern !== 0) } : {}),
  };
}

function requireNumber(file: GgufFile, key: string): number {
  const value = file.get(key);
  if (typeof value !== 'number') throw new GenerationError('MODEL_FILE_MISSING', `${file.path}: metadata ${key} is missing or not a number`);
  return value;
}

function optionalNumber(file: GgufFile, key: string): number | null {
  const value = file.get(key);
  return typeof value === 'number' ? value : null;
}

function stringArray(value: GgufValue | undefined): string[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : null;
}

function numberArray(value: GgufValue | undefined): number[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === 'number') ? (value as number[]) : null;
}

/**
 * Reads a GGUF v2/v3 file of a Llama-family model (`general.architecture` `llama` (Llama, Mistral,
 * TinyLlama), `qwen2`, `qwen3`, `phi3`, `gemma2` or `gemma3`) into an architecture, float32 weights (every type in {@link SUPPORTED_GGML_TYPES}:
 * F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS
 * dequantised) and a rebuilt `tokenizer.json`. Anything else is refused with a
 * message naming what is unsupported or missing.
 */
export function readGgufModel(path: string): LlamaModelParts {
  const file = GgufFile.open(path);
  try {
    const archName = file.get('general.architecture');
    const known = typeof archName === 'string' ? ARCHITECTURES[archName] : undefined;
    if (!known) {
      throw new GenerationError(
        'UNSUPPORTED_MODEL',
        `${path}: general.architecture "${String(archName)}" is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`,
      );
    }
    // Refuse unsupported tensor types before dequantising anything.
    for (const tensor of file.tensors.values()) {
      if (!SUPPORTED_GGML_TYPES.includes(tensor.typeName)) {
        throw new GenerationError('UNSUPPORTED_MODEL', `${path}: tensor ${tensor.name} has type ${tensor.typeName}; supported types are ${SUPPORTED_GGML_TYPES.join(', ')}`);
      }
    }
    const p = `${String(archName)}.`;
    const hiddenSize = requireNumber(file, `${p}embedding_length`);
    const numHeads = requireNumber(file, `${p}attention.head_count`);
    const headDim = optionalNumber(file, `${p}attention.key_length`) ?? hiddenSize / numHeads;
    const numLayers = requireNumber(file, `${p}block_count`);
    const embedding = file.tensors.get('token_embd.weight');
    if (!embedding) throw new GenerationError('MODEL_FILE_MISSING', `${path}: tensor token_embd.weight is missing`);
    const vocabSize = embedding.dims[1]!;
    const tokens = stringArray(file.get('tokenizer.ggml.tokens'));
    if (!tokens) throw new GenerationError('MODEL_FILE_MISSING', `${path}: metadata tokenizer.ggml.tokens is missing (the tokenizer cannot be rebuilt)`);
    if (tokens.length !== vocabSize) {
      throw new GenerationError('MODEL_FORMAT_INVALID', `${path}: ${tokens.length} tokens in the metadata but an embedding of ${vocabSize} rows`);
    }
    const scalingType = file.get(`${p}rope.scaling.type`);
    let ropeScaling: LlamaArchitecture['ropeScaling'] = null;
    if (scalingType === 'linear') ropeScaling = { type: 'linear', factor: requireNumber(file, `${p}rope.scaling.factor`) };
    else if (scalingType !== undefined && scalingType !== 'none') {
      throw new GenerationError('UNSUPPORTED_MODEL', `${path}: rope scaling "${String(scalingType)}" is not supported (none and linear are)`);
    }
    if (file.tensors.has('rope_factors_long.weight') || file.tensors.has('rope_factors_short.weight')) {
      throw new GenerationError('UNSUPPORTED_MODEL', `${path}: LongRoPE factors (rope_factors_long/short, Phi-3's 128k-context models) are not supported`);
    }
    if (file.tensors.has('rope_freqs.weight')) {
      // Llama 3.1+ files carry their llama3 scaling as per-frequency divisors.
      if (ropeScaling) throw new GenerationError('UNSUPPORTED_MODEL', `${path}: rope_freqs.weight together with rope scaling "${String(scalingType)}" is not supported`);
      ropeScaling = { type: 'frequency-factors', factors: Array.from(file.readTensor('rope_freqs.weight')) };
    }
    const bos = tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.bos_token_id'), tokens.length);
    const eos = tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.eos_token_id'), tokens.length);
    // Chat models end a turn with their own token (Llama 3's <|eot_id|>, ChatML's <|im_end|>): both stop decoding.
    const endOfTurn = tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.eot_token_id'), tokens.length);
    // Llama 3.1's <|eom_id|> ends a message that awaits a tool's answer: it stops a release too.
    const endOfMessage = tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.eom_token_id'), tokens.length);
    const stopIds = [...new Set([eos, endOfTurn, endOfMessage].filter((id): id is number => id !== null))];
    const numKvHeads = optionalNumber(file, `${p}attention.head_count_kv`) ?? numHeads;
    const tied = !file.tensors.has('output.weight');
    // Mistral files are `llama`; a sliding window, when the file states one, covers every layer.
    const window = known.gemma ? null : optionalNumber(file, `${p}attention.sliding_window`);
    const arch: LlamaArchitecture = {
      vocabSize,
      hiddenSize,
      intermediateSize: requireNumber(file, `${p}feed_forward_length`),
      numLayers,
      numHeads,
      numKvHeads,
      headDim,
      rmsNormEps: requireNumber(file, `${p}attention.layer_norm_rms_epsilon`),
      ropeTheta: optionalNumber(file, `${p}rope.freq_base`) ?? 10000,
      ropeLayout: known.ropeLayout,
      rotaryDim: optionalNumber(file, `${p}rope.dimension_count`) ?? headDim,
      ropeScaling,
      // As for Hugging Face folders: the rotary table stops at MAX_IMPORTED_POSITIONS.
      maxPositions: Math.min(requireNumber(file, `${p}context_length`), MAX_IMPORTED_POSITIONS),
      tiedEmbeddings: tied,
      attentionBias: known.attentionBias && file.tensors.has('blk.0.attn_q.bias'),
      qkNorm: known.qkNorm ?? false,
      bosTokenId: bos,
      eosTokenIds: stopIds,
      padTokenId: tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.padding_token_id'), vocabSize),
      ...(window ? { slidingWindow: window } : {}),
      ...(known.gemma ? gemmaVariant(file, known.gemma, p, hiddenSize, numHeads, headDim, numLayers) : {}),
    };
    const q = numHeads * headDim;
    const kv = numKvHeads * headDim;
    const ff = arch.intermediateSize;
    const layers: LlamaLayerWeights[] = [];
    for (let i = 0; i < numLayers; i += 1) {
      const t = (suffix: string): Float32Array => file.readTensor(`blk.${i}.${suffix}`);
      const maybe = (suffix: string): Float32Array | null => (file.tensors.has(`blk.${i}.${suffix}`) ? t(suffix) : null);
      const fusedQkv = known.fused ? t('attn_qkv.weight') : null;
      const fusedGateUp = known.fused ? t('ffn_up.weight') : null;
      const rows = (tensor: Float32Array, name: string, from: number, count: number, total: number): Float32Array => {
        if (tensor.length !== total * hiddenSize) throw new GenerationError('MODEL_FORMAT_INVALID', `${path}: tensor blk.${i}.${name} has ${tensor.length} values, the metadata implies ${total * hiddenSize}`);
        return tensor.subarray(from * hiddenSize, (from + count) * hiddenSize);
      };
      layers.push({
        attentionNorm: t('attn_norm.weight'),
        query: fusedQkv ? rows(fusedQkv, 'attn_qkv.weight', 0, q, q + 2 * kv) : t('attn_q.weight'),
        key: fusedQkv ? rows(fusedQkv, 'attn_qkv.weight', q, kv, q + 2 * kv) : t('attn_k.weight'),
        value: fusedQkv ? rows(fusedQkv, 'attn_qkv.weight', q + kv, kv, q + 2 * kv) : t('attn_v.weight'),
        output: t('attn_output.weight'),
        queryBias: arch.attentionBias ? maybe('attn_q.bias') : null,
        keyBias: arch.attentionBias ? maybe('attn_k.bias') : null,
        valueBias: arch.attentionBias ? maybe('attn_v.bias') : null,
        queryNorm: arch.qkNorm ? t('attn_q_norm.weight') : null,
        keyNorm: arch.qkNorm ? t('attn_k_norm.weight') : null,
        mlpNorm: t('ffn_norm.weight'),
        postAttentionNorm: known.gemma ? t('post_attention_norm.weight') : null,
        postMlpNorm: known.gemma ? t('post_ffw_norm.weight') : null,
        gate: fusedGateUp ? rows(fusedGateUp, 'ffn_up.weight', 0, ff, 2 * ff) : t('ffn_gate.weight'),
        up: fusedGateUp ? rows(fusedGateUp, 'ffn_up.weight', ff, ff, 2 * ff) : t('ffn_up.weight'),
        down: t('ffn_down.weight'),
      });
    }
    const weights: LlamaWeights = {
      tokenEmbedding: file.readTensor('token_embd.weight'),
      layers,
      finalNorm: file.readTensor('output_norm.weight'),
      outputHead: tied ? null : file.readTensor('output.weight'),
    };
    const addBos = file.get('tokenizer.ggml.add_bos_token');
    const addEos = file.get('tokenizer.ggml.add_eos_token');
    const model = file.get('tokenizer.ggml.model');
    const vocabulary: GgufVocabulary = {
      model: typeof model === 'string' ? model : 'llama',
      tokens,
      scores: numberArray(file.get('tokenizer.ggml.scores')),
      tokenTypes: numberArray(file.get('tokenizer.ggml.token_type')),
      merges: stringArray(file.get('tokenizer.ggml.merges')),
      bosTokenId: bos,
      eosTokenId: eos,
      unknownTokenId: tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.unknown_token_id'), tokens.length),
      // SentencePiece Llama tokenizers add BOS unless the file says otherwise.
      addBos: typeof addBos === 'boolean' ? addBos : vocabularyDefaultsToBos(model),
      addEos: addEos === true,
    };
    const sourceTypes: Record<string, number> = {};
    for (const tensor of file.tensors.values()) sourceTypes[tensor.typeName] = (sourceTypes[tensor.typeName] ?? 0) + 1;
    const chatTemplate = file.get('tokenizer.chat_template');
    return {
      arch,
      weights,
      tokenizerJson: buildTokenizerJson(vocabulary),
      // The chat template travels in tokenizer_config.json, where Hugging Face folders keep it.
      // with the BOS and EOS texts templates print (bos_token, eos_token).
      tokenizerConfig:
        typeof chatTemplate === 'string' && chatTemplate.length > 0
          ? { chat_template: chatTemplate, ...(bos !== null ? { bos_token: tokens[bos] } : {}), ...(eos !== null ? { eos_token: tokens[eos] } : {}) }
          : null,
      sourceTypes,
      architectureName: known.name,
      modelType: known.modelType,
    };
  } finally {
    file.close();
  }
}

function vocabularyDefaultsToBos(model: GgufValue | undefined): boolean {
  return model === undefined || model === 'llama';
}


/** GGUF writes "no such token" as -1 in an unsigned field (4294967295): any id outside the vocabulary. */
function tokenIdOrNull(id: number | null, vocabSize: number): number | null {
  return id !== null && id >= 0 && id < vocabSize ? id : null;
}
