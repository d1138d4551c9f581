import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GenerationError } from '../generation.errors';
import { WEIGHT_STORAGES, type WeightStorage } from '../model/weight-storage';
import { readGgufModel } from './gguf.importer';
import { readHuggingFaceModel } from './huggingface.importer';
import { countParameters, type LlamaModelParts, writeLlamaModelFolder } from './llama-model.writer';
import { type ModelManifest, type ModelSource, sha256File } from './model-folder';
import { findOnnxModel, importOnnxFolder } from './onnx-folder.importer';

/** Model folder names: one path segment, no surprises in shells or URLs. */
const MODEL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/;

/** Options of {@link importModel}. */
export interface ImportModelOptions {
  /** Folder name under `modelsDir`. */
  readonly name: string;
  /** Parent folder of model folders (default `models`). */
  readonly modelsDir?: string;
  /** Replace an existing folder of the same name. */
  readonly overwrite?: boolean;
  /**
   * How the graph stores weight matrices (GGUF and Hugging Face sources; an ONNX folder is copied
   * as it is). `auto` (the default) applies {@link chooseWeightStorage}.
   */
  readonly weightStorage?: WeightStorage | 'auto';
}

/** Models with more parameters than this get int4 weights under `auto`. */
export const AUTO_INT4_PARAMETERS = 250_000_000;

/**
 * The storage `auto` picks, from `npm run bench:weights` (docs/benchmarks/weights.md): at the
 * default model's size the three decode at about the same speed (per-op overhead dominates), so
 * fp32 keeps the weights exact; at 1B shapes int4 (MatMulNBits) needs about a third of fp32's
 * memory and decodes 2-4x faster, which decides it past {@link AUTO_INT4_PARAMETERS} parameters
 * (1 GB in fp32). fp16 is never chosen: ORT casts it back to float32 at load, so it saves disk only.
 */
export function chooseWeightStorage(parameters: number): WeightStorage {
  return parameters > AUTO_INT4_PARAMETERS ? 'int4' : 'fp32';
}

/** What an import produced. */
export interface ImportModelResult {
  readonly kind: ModelSource['kind'];
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** How the graph stores its weights; null for a copied ONNX folder. */
  readonly weightStorage: WeightStorage | null;
}

function isGguf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.toString('latin1') === 'GGUF';
  } finally {
    closeSync(fd);
  }
}

/**
 * Imports a model into `<modelsDir>/<name>/` (model.onnx, tokenizer.json, config.json,
 * manifest.json). The source kind is detected: a GGUF file; a Hugging Face folder (config.json
 * and safetensors); or an already-exported ONNX folder. Nothing is left behind on failure.
 */
export async function importModel(source: string, options: ImportModelOptions): Promise<ImportModelResult> {
  if (!MODEL_NAME.test(options.name)) {
    throw new GenerationError('INVALID_GENERATION_INPUT', `name must be 1-64 letters, digits, dots, dashes or underscores, got "${options.name}"`);
  }
  const path = resolve(source);
  if (!existsSync(path)) throw new GenerationError('MODEL_FILE_MISSING', `${source} does not exist`);
  const destination = resolve(options.modelsDir ?? 'models', options.name);
  const requested = options.weightStorage ?? 'auto';
  if (requested !== 'auto' && !WEIGHT_STORAGES.includes(requested)) {
    throw new GenerationError('INVALID_GENERATION_INPUT', `weightStorage must be auto or one of ${WEIGHT_STORAGES.join(', ')}, got "${String(requested)}"`);
  }
  const writeOptions = (parts: LlamaModelParts): { overwrite: boolean; weightStorage: WeightStorage } => ({
    overwrite: options.overwrite ?? false,
    weightStorage: requested === 'auto' ? chooseWeightStorage(countParameters(parts.weights)) : requested,
  });
  if (statSync(path).isFile()) {
    if (!isGguf(path)) throw new GenerationError('UNSUPPORTED_MODEL', `${source} is a file but not GGUF; pass a GGUF file or a model folder`);
    const parts = readGgufModel(path);
    const write = writeOptions(parts);
    const manifest = writeLlamaModelFolder(destination, options.name, { kind: 'gguf', file: basename(path), sha256: sha256File(path) }, parts, write);
    return { kind: 'gguf', dir: destination, manifest, weightStorage: write.weightStorage };
  }
  const hasSafetensors = existsSync(join(path, 'config.json')) && (existsSync(join(path, 'model.safetensors')) || existsSync(join(path, 'model.safetensors.index.json')));
  const onnx = findOnnxModel(path);
  if (hasSafetensors || (!onnx && existsSync(join(path, 'config.json')))) {
    const parts = readHuggingFaceModel(path);
    const write = writeOptions(parts);
    const manifest = writeLlamaModelFolder(destination, options.name, { kind: 'huggingface', file: basename(path), sha256: null }, parts, write);
    return { kind: 'huggingface', dir: destination, manifest, weightStorage: write.weightStorage };
  }
  if (onnx) {
    if (requested !== 'auto') {
      throw new GenerationError('INVALID_GENERATION_INPUT', `${source} is an ONNX folder, copied as it is: weightStorage applies to GGUF and Hugging Face imports only`);
    }
    const manifest = await importOnnxFolder(path, destination, options.name, { overwrite: options.overwrite ?? false });
    return { kind: 'onnx', dir: destination, manifest, weightStorage: null };
  }
  throw new GenerationError(
    'MODEL_FILE_MISSING',
    `${source}: not a GGUF file, a Hugging Face folder (config.json + *.safetensors + tokenizer.json) or an ONNX folder (model.onnx + tokenizer.json + config.json)`,
  );
}
