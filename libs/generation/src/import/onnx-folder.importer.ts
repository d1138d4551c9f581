import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GenerationError } from '../generation.errors';
import { OnnxDecoder } from '../runtime/onnx-decoder';
import { MODEL_FILES, type ModelFileContent, ModelFolderWriter, type ModelManifest, type ModelSource } from './model-folder';

/** Where Optimum and transformers.js exports put the decoder, in order of preference. */
const ONNX_CANDIDATES = ['model.onnx', 'decoder_model_merged.onnx', 'onnx/model.onnx', 'onnx/decoder_model_merged.onnx'];

/** The decoder graph of an exported folder, or null. */
export function findOnnxModel(dir: string): string | null {
  for (const candidate of ONNX_CANDIDATES) {
    if (existsSync(join(dir, candidate))) return join(dir, candidate);
  }
  return null;
}

/**
 * Copies an already-exported ONNX decoder folder into a model folder after checking it against
 * the contract (DESIGN.md section 6): the graph must open in ONNX Runtime with `input_ids`,
 * `attention_mask`, `past_key_values.{i}.key|value` and `logits`, `present.{i}.key|value`;
 * `tokenizer.json` and `config.json` must sit beside it (or one folder up, as in transformers.js
 * repositories). External-data files keep their names, which the graph refers to.
 */
export async function importOnnxFolder(
  dir: string,
  destination: string,
  name: string,
  options: { overwrite?: boolean; threads?: number } = {},
): Promise<ModelManifest> {
  const modelPath = findOnnxModel(dir);
  if (!modelPath) throw new GenerationError('MODEL_FILE_MISSING', `${dir}: no ONNX decoder found (looked for ${ONNX_CANDIDATES.join(', ')})`);
  const metaDir = existsSync(join(dir, MODEL_FILES.config)) ? dir : dirname(modelPath);
  for (const required of [MODEL_FILES.tokenizer, MODEL_FILES.config]) {
    if (!existsSync(join(metaDir, required))) throw new GenerationError('MODEL_FILE_MISSING', `${dir}: ${required} is missing`);
  }
  const decoder = await OnnxDecoder.load(modelPath, { threads: options.threads ?? 1, executionProvider: 'cpu' });
  await decoder.release();
  const modelName = basename(modelPath);
  const dataFiles = readdirSync(dirname(modelPath)).filter(
    (file) => file !== modelName && file.startsWith(modelName) && (file.endsWith('_data') || file.endsWith('.data')) && statSync(join(dirname(modelPath), file)).isFile(),
  );
  const files: ModelFileContent[] = [
    { path: MODEL_FILES.onnx, copyFrom: modelPath },
    ...dataFiles.map((file) => ({ path: file, copyFrom: join(dirname(modelPath), file) })),
  ];
  for (const optional of [MODEL_FILES.tokenizer, MODEL_FILES.tokenizerConfig, MODEL_FILES.config, MODEL_FILES.generationConfig]) {
    if (existsSync(join(metaDir, optional))) files.push({ path: optional, copyFrom: join(metaDir, optional) });
  }
  const source: ModelSource = { kind: 'onnx', file: basename(dir), sha256: null };
  const writer = new ModelFolderWriter(destination, options);
  try {
    return writer.commit(name, source, files);
  } catch (error) {
    writer.abort();
    throw error;
  }
}
