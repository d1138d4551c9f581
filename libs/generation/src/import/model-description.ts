import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GenerationError } from '../generation.errors';
import { type DecoderVariant, type LlamaArchitecture } from '../model/llama-architecture';
import { type WeightStorage } from '../model/weight-storage';
import { chatTemplateOf, specialTokenOf } from '../tokenizer/chat-template';
import { MODEL_FILES, modelFingerprint, type ModelFileEntry, type ModelManifest, readManifest } from './model-folder';

/**
 * The one reading of a model folder's `config.json` (and `generation_config.json`): the fields
 * the catalogue, the gateway's admission and the engine use. Hugging Face names; `synthgate`
 * holds what the graph builder recorded and transformers would not know. ORT-free: the gateway
 * reads folders through it without loading the runtime.
 */
export interface ModelConfigJson {
  readonly architectures?: readonly string[];
  readonly model_type?: string;
  readonly vocab_size?: number;
  readonly hidden_size?: number;
  readonly intermediate_size?: number;
  readonly num_hidden_layers?: number;
  readonly num_attention_heads?: number;
  readonly num_key_value_heads?: number;
  readonly head_dim?: number;
  readonly max_position_embeddings?: number;
  readonly n_positions?: number;
  readonly tie_word_embeddings?: boolean;
  readonly attention_bias?: boolean;
  readonly bos_token_id?: number | number[] | null;
  readonly eos_token_id?: number | number[] | null;
  readonly pad_token_id?: number | number[] | null;
  readonly synthgate?: {
    readonly graph?: string;
    readonly weight_storage?: WeightStorage;
    readonly source_types?: Record<string, number>;
    readonly qk_norm?: boolean;
    readonly variant?: DecoderVariant;
  };
}

/** The decoder's shape as config.json declares it. */
export type ModelShape = Pick<LlamaArchitecture, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'tiedEmbeddings'>;

/** Everything a model folder says about itself, read without loading its graph. */
export interface ModelFolderDescription {
  readonly name: string;
  /** Absolute path of the folder. */
  readonly dir: string;
  readonly manifest: ModelManifest;
  readonly files: readonly ModelFileEntry[];
  /** sha256 over the manifest's file hashes: the model identity a release records. */
  readonly fingerprint: string;
  readonly config: ModelConfigJson;
  readonly shape: ModelShape;
  /** Positions the model declares (`max_position_embeddings` or `n_positions`); null when none. */
  readonly maxPositions: number | null;
  readonly bosTokenId: number | null;
  /** config.json's and generation_config.json's end-of-sequence ids together (Llama 3 has several). */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  /** The Jinja chat template of tokenizer_config.json, or null. */
  readonly chatTemplate: string | null;
  /** tokenizer_config.json's `bos_token` and `eos_token` as text (what chat templates print), or null. */
  readonly bosTokenText: string | null;
  readonly eosTokenText: string | null;
  readonly tokenizerPath: string;
  readonly tokenizerConfigPath: string | null;
}

/** Reads a JSON file of a model folder; `MODEL_FORMAT_INVALID` naming the file when it is not JSON. */
export function readModelJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new GenerationError('MODEL_FORMAT_INVALID', `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Token ids of a config value (one id or a list), invalid entries dropped. */
export function tokenIds(value: number | number[] | null | undefined): number[] {
  if (value === null || value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v) => Number.isInteger(v) && v >= 0);
}

/** The shape declared by a config.json (missing sizes read as 0, the head size from hidden / heads). */
export function modelShape(config: ModelConfigJson): ModelShape {
  const heads = config.num_attention_heads ?? 1;
  const hiddenSize = config.hidden_size ?? 0;
  return {
    vocabSize: config.vocab_size ?? 0,
    hiddenSize,
    intermediateSize: config.intermediate_size ?? 0,
    numLayers: config.num_hidden_layers ?? 0,
    numHeads: heads,
    numKvHeads: config.num_key_value_heads ?? heads,
    headDim: config.head_dim ?? Math.floor(hiddenSize / heads),
    tiedEmbeddings: config.tie_word_embeddings ?? false,
  };
}

/**
 * Reads the model folder `dir`: its manifest (every file checked against its sha256 unless
 * `verify` is false), config.json, generation_config.json and tokenizer_config.json. Throws
 * `MODEL_FILE_MISSING` naming a missing folder or file, `MODEL_FORMAT_INVALID` naming a file that
 * is not JSON, `MODEL_HASH_MISMATCH` naming a changed file. Loads no ONNX Runtime.
 */
export function describeModelFolder(dir: string, options: { verify?: boolean; name?: string } = {}): ModelFolderDescription {
  const folder = resolve(dir);
  if (!existsSync(folder)) throw new GenerationError('MODEL_FILE_MISSING', `model folder ${dir} does not exist`);
  const manifest = readManifest(folder, { verify: options.verify ?? true });
  for (const required of [MODEL_FILES.tokenizer, MODEL_FILES.config]) {
    if (!existsSync(join(folder, required))) throw new GenerationError('MODEL_FILE_MISSING', `${join(dir, required)} is missing`);
  }
  const config = readModelJson<ModelConfigJson>(join(folder, MODEL_FILES.config));
  const generationConfigPath = join(folder, MODEL_FILES.generationConfig);
  const generationConfig = existsSync(generationConfigPath) ? readModelJson<ModelConfigJson>(generationConfigPath) : {};
  const tokenizerConfigPath = join(folder, MODEL_FILES.tokenizerConfig);
  const hasTokenizerConfig = existsSync(tokenizerConfigPath);
  const tokenizerConfig = hasTokenizerConfig ? readModelJson<unknown>(tokenizerConfigPath) : null;
  const eosTokenIds = [...new Set([...tokenIds(config.eos_token_id), ...tokenIds(generationConfig.eos_token_id)])];
  return {
    name: options.name ?? (manifest.name || basename(folder)),
    dir: folder,
    manifest,
    files: manifest.files,
    fingerprint: modelFingerprint(manifest.files),
    config,
    shape: modelShape(config),
    maxPositions: config.max_position_embeddings ?? config.n_positions ?? null,
    bosTokenId: tokenIds(config.bos_token_id)[0] ?? tokenIds(generationConfig.bos_token_id)[0] ?? null,
    eosTokenIds,
    padTokenId: tokenIds(config.pad_token_id)[0] ?? tokenIds(generationConfig.pad_token_id)[0] ?? null,
    chatTemplate: chatTemplateOf(tokenizerConfig),
    bosTokenText: specialTokenOf(tokenizerConfig, 'bos_token'),
    eosTokenText: specialTokenOf(tokenizerConfig, 'eos_token'),
    tokenizerPath: join(folder, MODEL_FILES.tokenizer),
    tokenizerConfigPath: hasTokenizerConfig ? tokenizerConfigPath : null,
  };
}
