import { type WeightStorage } from '../model/weight-storage';
import { kvCacheBytes } from '../runtime/kv-cache-batch';
import { describeModelFolder, type ModelFolderDescription, type ModelShape } from './model-description';
import { type ModelSource } from './model-folder';

/**
 * What the catalogue shows of a model folder, read from its manifest, config.json and
 * tokenizer_config.json without loading the graph.
 */
export interface ModelCard {
  readonly name: string;
  /** `LlamaForCausalLM`, `Qwen2ForCausalLM`, ... (config.json `architectures[0]`), or null. */
  readonly architecture: string | null;
  /** Parameters of the source model, from config.json's shapes (a tied head counted once). */
  readonly parameters: number;
  /** How the graph stores its weights; null for a copied ONNX folder (unknown). */
  readonly weightStorage: WeightStorage | null;
  /** The source file's tensor types and their counts (GGUF imports), e.g. `{ Q4_K: 14, Q6_K: 3 }`. */
  readonly sourceTypes: Readonly<Record<string, number>> | null;
  readonly source: ModelSource;
  /** Positions the model takes (prompt + generated tokens). */
  readonly contextLength: number;
  readonly chatTemplate: boolean;
  /** Bytes of every file of the folder. */
  readonly diskBytes: number;
  /** Memory a loaded session holds for the weights (an estimate: {@link weightMemoryBytes}). */
  readonly weightMemoryBytes: number;
  readonly shape: ModelShape;
}

/** Parameters of a Llama-family model from its shapes. */
export function parameterCount(shape: ModelCard['shape'], attentionBias = false, qkNorm = false, postNorms = false): number {
  const d = shape.hiddenSize;
  const q = shape.numHeads * shape.headDim;
  const kv = shape.numKvHeads * shape.headDim;
  const perLayer = d * (q + 2 * kv) + q * d + 3 * d * shape.intermediateSize + 2 * d + (attentionBias ? q + 2 * kv : 0) + (qkNorm ? 2 * shape.headDim : 0) + (postNorms ? 2 * d : 0);
  return shape.vocabSize * d * (shape.tiedEmbeddings ? 1 : 2) + shape.numLayers * perLayer + d;
}

/**
 * Context the catalogue and the gateway assume for a folder that declares none (every folder this
 * project imports declares one; a copied ONNX folder might not).
 */
export const DEFAULT_CONTEXT_LENGTH = 2048;

/** Resident memory a loaded session takes beyond its weights (arena, graph, kernels); measured. */
const SESSION_OVERHEAD_BYTES = 34 * 2 ** 20;
/**
 * Bytes an int4 weight occupies once loaded: 4.5 bits + a 4-byte scale per 32 in the file, but
 * MatMulNBits at accuracy level 4 prepacks its own copy; measured 1.03 on a 1B-shaped layer.
 */
const INT4_LOADED_BYTES_PER_WEIGHT = 1.03;

/**
 * Memory of a loaded session, from the graph's layout calibrated on `npm run bench:weights`
 * (docs/benchmarks/weights.md: within 5% of the measured resident growth on a 1B-shaped layer,
 * 13% on the default model's small shapes, where the fixed session overhead dominates). The
 * fused attention projection holds q and k twice (plain and rotated); the embedding is float32
 * in fp32 graphs and float16 otherwise; matrices are float32 once an fp32 or fp16 graph is
 * loaded (ORT folds fp16's Cast and a tied head's Transpose into float32 copies); int4 matrices
 * (a tied head has its own int4 copy) take {@link INT4_LOADED_BYTES_PER_WEIGHT}. A copied ONNX
 * folder (unknown layout) counts its file size.
 */
export function weightMemoryBytes(shape: ModelCard['shape'], storage: WeightStorage | null, diskBytes: number): number {
  if (storage === null) return diskBytes + SESSION_OVERHEAD_BYTES;
  const d = shape.hiddenSize;
  const q = shape.numHeads * shape.headDim;
  const kv = shape.numKvHeads * shape.headDim;
  const matrices = shape.numLayers * (d * (2 * (q + kv) + kv) + q * d + 3 * d * shape.intermediateSize) + shape.vocabSize * d; // + head
  const embedding = shape.vocabSize * d * (storage === 'fp32' ? 4 : 2);
  return SESSION_OVERHEAD_BYTES + embedding + matrices * (storage === 'int4' ? INT4_LOADED_BYTES_PER_WEIGHT : 4);
}

/** The card of a described model folder (see {@link describeModelFolder}). */
export function modelCard(folder: ModelFolderDescription): ModelCard {
  const { config, shape, manifest } = folder;
  const diskBytes = manifest.files.reduce((sum, file) => sum + file.bytes, 0);
  const weightStorage = manifest.source.kind === 'onnx' ? null : (config.synthgate?.weight_storage ?? 'fp32');
  return {
    name: folder.name,
    architecture: config.architectures?.[0] ?? null,
    parameters: parameterCount(shape, config.attention_bias ?? false, config.synthgate?.qk_norm ?? false, config.synthgate?.variant?.postNorms ?? false),
    weightStorage,
    sourceTypes: config.synthgate?.source_types ?? null,
    source: manifest.source,
    contextLength: folder.maxPositions ?? DEFAULT_CONTEXT_LENGTH,
    chatTemplate: folder.chatTemplate !== null,
    diskBytes,
    weightMemoryBytes: Math.round(weightMemoryBytes(shape, weightStorage, diskBytes)),
    shape,
  };
}

/** Reads the card of the model folder `dir` (named `name`) without checking file hashes. */
export function readModelCard(dir: string, name: string): ModelCard {
  return modelCard(describeModelFolder(dir, { verify: false, name }));
}

/**
 * Memory a release batch needs on a worker: the weights plus the KV cache of `rows` sequences of
 * `positions` tokens, twice (the engine alternates between two cache buffers).
 */
export function releaseMemoryBytes(card: Pick<ModelCard, 'weightMemoryBytes' | 'shape'>, rows: number, positions: number): { weights: number; kvCache: number; total: number } {
  const kvCache = 2 * kvCacheBytes(card.shape, rows, positions);
  return { weights: card.weightMemoryBytes, kvCache, total: card.weightMemoryBytes + kvCache };
}
