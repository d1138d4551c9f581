import { GenerationError } from '../generation.errors';
import { type LlamaArchitecture, type LlamaLayerWeights, type LlamaWeights, type RopeLayout } from '../model/llama-architecture';
import { buildTokenizerJson, type GgufVocabulary } from './gguf-tokenizer';
import { MAX_IMPORTED_POSITIONS } from './huggingface.importer';
import { GgufFile, type GgufValue, SUPPORTED_GGML_TYPES } from './gguf.reader';
import { type LlamaModelParts } from './llama-model.writer';

/** GGUF architectures the importer turns into graphs, with their rotary layout and biases. */
const ARCHITECTURES: Record<string, { ropeLayout: RopeLayout; attentionBias: boolean; name: string; modelType: string; qkNorm?: boolean } | undefined> = {
  // llama.cpp's converter permutes Llama q/k rows so the interleaved ("normal") rope applies.
  llama: { ropeLayout: 'interleaved', attentionBias: false, name: 'LlamaForCausalLM', modelType: 'llama' },
  // Qwen2 keeps Hugging Face's layout (llama.cpp's NEOX rope) and has q/k/v biases.
  qwen2: { ropeLayout: 'rotate-half', attentionBias: true, name: 'Qwen2ForCausalLM', modelType: 'qwen2' },
  // Qwen3: NEOX rope, per-head q/k RMSNorm (attn_q_norm, attn_k_norm), no biases.
  qwen3: { ropeLayout: 'rotate-half', attentionBias: false, name: 'Qwen3ForCausalLM', modelType: 'qwen3', qkNorm: true },
};

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
 * Reads a GGUF v2/v3 file of a Llama-architecture model (`general.architecture` `llama` or
 * `qwen2`) into an architecture, float32 weights (every type in {@link SUPPORTED_GGML_TYPES}:
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
    if (file.tensors.has('rope_freqs.weight')) {
      // Llama 3.1+ files carry their llama3 scaling as per-frequency divisors.
      if (ropeScaling) throw new GenerationError('UNSUPPORTED_MODEL', `${path}: rope_freqs.weight together with rope scaling "${String(scalingType)}" is not supported`);
      ropeScaling = { type: 'frequency-factors', factors: Array.from(file.readTensor('rope_freqs.weight')) };
    }
    const bos = tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.bos_token_id'), tokens.length);
    const eos = tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.eos_token_id'), tokens.length);
    // Chat models end a turn with their own token (Llama 3's <|eot_id|>, ChatML's <|im_end|>): both stop decoding.
    const endOfTurn = tokenIdOrNull(optionalNumber(file, 'tokenizer.ggml.eot_token_id'), tokens.length);
    const stopIds = [...new Set([eos, endOfTurn].filter((id): id is number => id !== null))];
    const numKvHeads = optionalNumber(file, `${p}attention.head_count_kv`) ?? numHeads;
    const tied = !file.tensors.has('output.weight');
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
    };
    const layers: LlamaLayerWeights[] = [];
    for (let i = 0; i < numLayers; i += 1) {
      const t = (suffix: string): Float32Array => file.readTensor(`blk.${i}.${suffix}`);
      const maybe = (suffix: string): Float32Array | null => (file.tensors.has(`blk.${i}.${suffix}`) ? t(suffix) : null);
      layers.push({
        attentionNorm: t('attn_norm.weight'),
        query: t('attn_q.weight'),
        key: t('attn_k.weight'),
        value: t('attn_v.weight'),
        output: t('attn_output.weight'),
        queryBias: arch.attentionBias ? maybe('attn_q.bias') : null,
        keyBias: arch.attentionBias ? maybe('attn_k.bias') : null,
        valueBias: arch.attentionBias ? maybe('attn_v.bias') : null,
        queryNorm: arch.qkNorm ? t('attn_q_norm.weight') : null,
        keyNorm: arch.qkNorm ? t('attn_k_norm.weight') : null,
        mlpNorm: t('ffn_norm.weight'),
        gate: t('ffn_gate.weight'),
        up: t('ffn_up.weight'),
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
      tokenizerConfig: typeof chatTemplate === 'string' && chatTemplate.length > 0 ? { chat_template: chatTemplate } : null,
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
