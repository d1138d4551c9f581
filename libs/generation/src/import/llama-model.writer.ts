import { closeSync, openSync, writeSync } from 'node:fs';
import { type LlamaArchitecture, type LlamaWeights } from '../model/llama-architecture';
import { buildLlamaOnnx, decoderVariantOf } from '../model/llama-graph.builder';
import { type ExternalDataSink } from '../model/onnx-graph.writer';
import { type WeightStorage } from '../model/weight-storage';
import { MODEL_FILES, type ModelFileContent, ModelFolderWriter, type ModelManifest, type ModelSource } from './model-folder';

/** Name of the ONNX external-data file written beside `model.onnx` for large models. */
export const EXTERNAL_DATA_FILE = 'model.onnx_data';
/** Past this many weight bytes the weights go to external data (protobuf stops at 2 GiB). */
const EXTERNAL_DATA_THRESHOLD_BYTES = 1.5 * 1024 * 1024 * 1024;

/** Identifies graphs written by {@link buildLlamaOnnx}; recorded in config.json. */
export const SYNTHGATE_GRAPH = 'synthgate-llama/1';

/** Everything an importer hands over to become a model folder. */
export interface LlamaModelParts {
  readonly arch: LlamaArchitecture;
  readonly weights: LlamaWeights;
  readonly tokenizerJson: object;
  readonly tokenizerConfig: object | null;
  /** Hugging Face generation_config.json, copied when the source has one. */
  readonly generationConfig?: object | null;
  /** The architecture name recorded in config.json (`LlamaForCausalLM`, `Qwen2ForCausalLM`). */
  readonly architectureName: string;
  readonly modelType: string;
  /** Tensor types of the source file and their counts (GGUF), recorded in config.json for the catalogue. */
  readonly sourceTypes?: Readonly<Record<string, number>> | null;
}

/** Parameters of a Llama model as its source holds them (a tied head counted once). */
export function countParameters(weights: LlamaWeights): number {
  let total = weights.tokenEmbedding.length + weights.finalNorm.length + (weights.outputHead?.length ?? 0);
  for (const layer of weights.layers) {
    total += layer.attentionNorm.length + layer.mlpNorm.length + layer.query.length + layer.key.length + layer.value.length + layer.output.length;
    total += layer.gate.length + layer.up.length + layer.down.length;
    total += (layer.queryBias?.length ?? 0) + (layer.keyBias?.length ?? 0) + (layer.valueBias?.length ?? 0);
    total += (layer.queryNorm?.length ?? 0) + (layer.keyNorm?.length ?? 0) + (layer.postAttentionNorm?.length ?? 0) + (layer.postMlpNorm?.length ?? 0);
  }
  return total;
}

/** Bytes per stored weight: int4 is 4 bits plus a float32 scale and a 4-bit zero point per 32. */
const BYTES_PER_WEIGHT: Record<WeightStorage, number> = { fp32: 4, fp16: 2, int4: 0.5 + 4.5 / 32 };

/** Bytes the graph's initializers will take (the tied head and rotated q/k columns included). */
function weightBytes(weights: LlamaWeights, storage: WeightStorage): number {
  const embedding = weights.tokenEmbedding.length * (storage === 'fp32' ? 4 : 2);
  // A tied head is read through the table in fp32/fp16 (ORT folds the Transpose into a float32 copy
  // at load, not in the file); int4 stores a quantised copy.
  let matrices = weights.outputHead?.length ?? (storage === 'int4' ? weights.tokenEmbedding.length : 0);
  for (const layer of weights.layers) {
    matrices += layer.query.length * 2 + layer.key.length * 2 + layer.value.length + layer.output.length;
    matrices += layer.gate.length + layer.up.length + layer.down.length;
  }
  return embedding + matrices * BYTES_PER_WEIGHT[storage] + weights.finalNorm.length * 4;
}

/**
 * A Hugging Face style `config.json` describing the graph. The runtime reads special token ids and
 * the context length from it; `synthgate` records what transformers would not know (the rotary
 * layout baked into the graph).
 */
export function llamaConfigJson(parts: Pick<LlamaModelParts, 'arch' | 'architectureName' | 'modelType' | 'sourceTypes'>, weightStorage: WeightStorage = 'fp32'): object {
  const { arch } = parts;
  const scaling = arch.ropeScaling;
  const variant = decoderVariantOf(arch);
  return {
    architectures: [parts.architectureName],
    model_type: parts.modelType,
    vocab_size: arch.vocabSize,
    hidden_size: arch.hiddenSize,
    intermediate_size: arch.intermediateSize,
    num_hidden_layers: arch.numLayers,
    num_attention_heads: arch.numHeads,
    num_key_value_heads: arch.numKvHeads,
    head_dim: arch.headDim,
    rms_norm_eps: arch.rmsNormEps,
    rope_theta: arch.ropeTheta,
    rope_scaling: !scaling
      ? null
      : scaling.type === 'linear'
        ? { rope_type: 'linear', factor: scaling.factor }
        : scaling.type === 'frequency-factors'
          ? { rope_type: 'frequency_factors', factors: [...scaling.factors] }
          : {
            rope_type: 'llama3',
            factor: scaling.factor,
            low_freq_factor: scaling.lowFreqFactor,
            high_freq_factor: scaling.highFreqFactor,
            original_max_position_embeddings: scaling.originalMaxPositions,
          },
    partial_rotary_factor: (arch.rotaryDim ?? arch.headDim) / arch.headDim,
    max_position_embeddings: arch.maxPositions,
    tie_word_embeddings: arch.tiedEmbeddings,
    attention_bias: arch.attentionBias,
    sliding_window: arch.slidingWindow ?? null,
    bos_token_id: arch.bosTokenId,
    eos_token_id: arch.eosTokenIds.length === 1 ? arch.eosTokenIds[0] : [...arch.eosTokenIds],
    pad_token_id: arch.padTokenId,
    torch_dtype: 'float32',
    synthgate: {
      graph: SYNTHGATE_GRAPH,
      rope_layout: arch.ropeLayout,
      weight_storage: weightStorage,
      ...(arch.qkNorm ? { qk_norm: true } : {}),
      // Gemma's and Mistral's differences from Llama, as the graph was built with them.
      ...(variant ? { variant } : {}),
      ...(parts.sourceTypes ? { source_types: parts.sourceTypes } : {}),
    },
  };
}

/**
 * Builds the ONNX graph of `parts` and writes a complete model folder (graph, tokenizer, config,
 * manifest) at `destination`, atomically.
 */
export function writeLlamaModelFolder(
  destination: string,
  name: string,
  source: ModelSource,
  parts: LlamaModelParts,
  options: { overwrite?: boolean; weightStorage?: WeightStorage } = {},
): ModelManifest {
  const storage = options.weightStorage ?? 'fp32';
  const writer = new ModelFolderWriter(destination, options);
  try {
    const files: ModelFileContent[] = [];
    let sink: (ExternalDataSink & { close(): void }) | null = null;
    if (weightBytes(parts.weights, storage) > EXTERNAL_DATA_THRESHOLD_BYTES) {
      sink = openExternalDataFile(writer.stagedPath(EXTERNAL_DATA_FILE), EXTERNAL_DATA_FILE);
    }
    const onnxBytes = buildLlamaOnnx(parts.arch, parts.weights, {
      externalData: sink,
      weightStorage: storage,
      metadata: { 'synthgate.source': `${source.kind}:${source.file}` },
    });
    if (sink) {
      sink.close();
      files.push({ path: EXTERNAL_DATA_FILE, written: true });
    }
    files.push({ path: MODEL_FILES.onnx, data: onnxBytes });
    files.push({ path: MODEL_FILES.tokenizer, data: `${JSON.stringify(parts.tokenizerJson)}\n` });
    if (parts.tokenizerConfig) files.push({ path: MODEL_FILES.tokenizerConfig, data: `${JSON.stringify(parts.tokenizerConfig, null, 2)}\n` });
    if (parts.generationConfig) files.push({ path: MODEL_FILES.generationConfig, data: `${JSON.stringify(parts.generationConfig, null, 2)}\n` });
    files.push({ path: MODEL_FILES.config, data: `${JSON.stringify(llamaConfigJson(parts, storage), null, 2)}\n` });
    return writer.commit(name, source, files);
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/**
 * An ONNX external-data file opened for writing at `path`, named `location` in the graph: each
 * tensor appended 64-byte aligned, as ONNX external data writers do. The caller closes it.
 */
export function openExternalDataFile(path: string, location: string): ExternalDataSink & { close(): void } {
  const fd = openSync(path, 'w');
  let offset = 0;
  return {
    location,
    append(bytes: Uint8Array): number {
      const padding = (64 - (offset % 64)) % 64;
      if (padding) writeSync(fd, new Uint8Array(padding));
      offset += padding;
      const at = offset;
      writeSync(fd, bytes);
      offset += bytes.byteLength;
      return at;
    },
    close: () => closeSync(fd),
  };
}
