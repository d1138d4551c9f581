import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GenerationError } from '../generation.errors';

/** File names inside a model folder (DESIGN.md section 6). */
export const MODEL_FILES = {
  onnx: 'model.onnx',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  config: 'config.json',
  generationConfig: 'generation_config.json',
  manifest: 'manifest.json',
} as const;

/** Version tag of the manifest format. */
export const MANIFEST_FORMAT = 'synthgate-model/1';

/** One file of a model folder and its content hash. */
export interface ModelFileEntry {
  /** Path relative to the folder. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Where a folder's weights came from. `file` is a base name, never a machine path. */
export interface ModelSource {
  readonly kind: 'gguf' | 'huggingface' | 'onnx';
  readonly file: string;
  readonly sha256: string | null;
}

/** `manifest.json`: the folder's file hashes, which releases record as the model's identity. */
export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly name: string;
  readonly source: ModelSource;
  readonly files: readonly ModelFileEntry[];
}

/** sha256 of a file, read in chunks (weights can be gigabytes). */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 22);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n <= 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** A file to place in a new model folder: bytes, text, or a copy of an existing file. */
export type ModelFileContent = { readonly path: string } & ({ readonly data: Uint8Array | string } | { readonly copyFrom: string } | { readonly written: true });

/**
 * Stages a model folder beside its destination and moves it into place in one rename, so a
 * failed import leaves nothing behind and readers never see a half-written folder.
 */
export class ModelFolderWriter {
  readonly stagingDir: string;

  constructor(
    readonly destination: string,
    options: { overwrite?: boolean } = {},
  ) {
    if (existsSync(destination) && !options.overwrite) {
      throw new GenerationError('MODEL_EXISTS', `${destination} exists already; choose another --name or pass --force`);
    }
    mkdirSync(dirname(destination), { recursive: true });
    this.stagingDir = join(dirname(destination), `.${basename(destination)}.importing-${process.pid}`);
    rmSync(this.stagingDir, { recursive: true, force: true });
    mkdirSync(this.stagingDir, { recursive: true });
  }

  /** Absolute path of a file in the staging folder (for writers that stream into it). */
  stagedPath(path: string): string {
    return join(this.stagingDir, path);
  }

  /** Writes the files and the manifest, then renames the staging folder into place. */
  commit(name: string, source: ModelSource, files: readonly ModelFileContent[]): ModelManifest {
    const entries: ModelFileEntry[] = [];
    for (const file of files) {
      const target = this.stagedPath(file.path);
      mkdirSync(dirname(target), { recursive: true });
      if ('data' in file) writeFileSync(target, file.data);
      else if ('copyFrom' in file) copyFileSync(file.copyFrom, target);
      entries.push({ path: file.path, bytes: statSync(target).size, sha256: sha256File(target) });
    }
    entries.sort((a, b) => a.path.localeCompare(b.path));
    const manifest: ModelManifest = { format: MANIFEST_FORMAT, name, source, files: entries };
    writeFileSync(this.stagedPath(MODEL_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(this.destination)) {
      const old = `${this.stagingDir}.old`;
      renameSync(this.destination, old);
      renameSync(this.stagingDir, this.destination);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(this.stagingDir, this.destination);
    }
    return manifest;
  }

  /** Removes the staging folder (after a failure). */
  abort(): void {
    rmSync(this.stagingDir, { recursive: true, force: true });
  }
}

/**
 * Reads a folder's manifest and, unless told not to, checks every listed file against its
 * sha256. Throws `MODEL_FILE_MISSING` or `MODEL_HASH_MISMATCH` naming the file.
 */
export function readManifest(dir: string, options: { verify?: boolean } = {}): ModelManifest {
  const path = join(dir, MODEL_FILES.manifest);
  if (!existsSync(path)) {
    throw new GenerationError('MODEL_FILE_MISSING', `${path} is missing; import the model with \`synthgate model import\``);
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as ModelManifest;
  } catch (error) {
    throw new GenerationError('MODEL_FORMAT_INVALID', `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files)) {
    throw new GenerationError('MODEL_FORMAT_INVALID', `${path} is not a ${MANIFEST_FORMAT} manifest`);
  }
  if (options.verify ?? true) {
    for (const file of manifest.files) {
      const full = join(dir, file.path);
      if (!existsSync(full)) throw new GenerationError('MODEL_FILE_MISSING', `${full} is listed in the manifest but missing`);
      const actual = sha256File(full);
      if (actual !== file.sha256) {
        throw new GenerationError('MODEL_HASH_MISMATCH', `${full} has sha256 ${actual}, the manifest records ${file.sha256}`);
      }
    }
  }
  return manifest;
}

/** sha256 over the manifest's sorted `path:sha256` lines: one identifier for the whole folder. */
export function modelFingerprint(files: readonly ModelFileEntry[]): string {
  const lines = [...files].sort((a, b) => a.path.localeCompare(b.path)).map((f) => `${f.path}:${f.sha256}`);
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}
