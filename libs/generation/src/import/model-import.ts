import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GenerationError } from '../generation.errors';
import { readGgufModel } from './gguf.importer';
import { readHuggingFaceModel } from './huggingface.importer';
import { writeLlamaModelFolder } from './llama-model.writer';
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
}

/** What an import produced. */
export interface ImportModelResult {
  readonly kind: ModelSource['kind'];
  readonly dir: string;
  readonly manifest: ModelManifest;
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
  const writeOptions = { overwrite: options.overwrite ?? false };
  if (statSync(path).isFile()) {
    if (!isGguf(path)) throw new GenerationError('UNSUPPORTED_MODEL', `${source} is a file but not GGUF; pass a GGUF file or a model folder`);
    const parts = readGgufModel(path);
    const manifest = writeLlamaModelFolder(destination, options.name, { kind: 'gguf', file: basename(path), sha256: sha256File(path) }, parts, writeOptions);
    return { kind: 'gguf', dir: destination, manifest };
  }
  const hasSafetensors = existsSync(join(path, 'config.json')) && (existsSync(join(path, 'model.safetensors')) || existsSync(join(path, 'model.safetensors.index.json')));
  const onnx = findOnnxModel(path);
  if (hasSafetensors || (!onnx && existsSync(join(path, 'config.json')))) {
    const parts = readHuggingFaceModel(path);
    const manifest = writeLlamaModelFolder(destination, options.name, { kind: 'huggingface', file: basename(path), sha256: null }, parts, writeOptions);
    return { kind: 'huggingface', dir: destination, manifest };
  }
  if (onnx) {
    const manifest = await importOnnxFolder(path, destination, options.name, writeOptions);
    return { kind: 'onnx', dir: destination, manifest };
  }
  throw new GenerationError(
    'MODEL_FILE_MISSING',
    `${source}: not a GGUF file, a Hugging Face folder (config.json + *.safetensors + tokenizer.json) or an ONNX folder (model.onnx + tokenizer.json + config.json)`,
  );
}
