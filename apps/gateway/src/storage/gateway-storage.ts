import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { MODEL_FILES } from '@synthgate/generation/catalog';

/**
 * The gateway's file system, in one place: the model folders under MODELS_DIR (read only) and the
 * private files under DATA_DIR (the bootstrap admin's token). Services ask it by intent and never
 * build paths or call node:fs themselves.
 */
@Injectable()
export class GatewayStorage {
  constructor(@Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig) {}

  /** Names of the folders of MODELS_DIR that hold a manifest, sorted; none when MODELS_DIR is missing. */
  modelNames(): string[] {
    const dir = resolve(this.config.models.dir);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, MODEL_FILES.manifest)))
      .map((entry) => entry.name)
      .sort();
  }

  /** The absolute folder of a model (a name from `modelNames`), for the readers of libs/generation. */
  modelFolder(name: string): string {
    return join(resolve(this.config.models.dir), name);
  }

  /** When the model's manifest last changed (ms since the epoch): a changed folder is read again. */
  modelModifiedAt(name: string): number {
    return statSync(join(this.modelFolder(name), MODEL_FILES.manifest)).mtimeMs;
  }

  /** The path of a file of a model folder for a reader of libs/generation, or null when the folder has no such file. */
  optionalModelFile(name: string, file: string): string | null {
    const path = join(this.modelFolder(name), file);
    return existsSync(path) ? path : null;
  }

  /** A JSON file of a model folder (e.g. config.json), parsed. */
  readModelJson(name: string, file: string): unknown {
    return JSON.parse(readFileSync(join(this.modelFolder(name), file), 'utf8')) as unknown;
  }

  /** Where a private file of DATA_DIR lives (for a log line; it says where, never what). */
  privateFilePath(name: string): string {
    return join(resolve(this.config.dataDir), name);
  }

  /**
   * Writes a private file under DATA_DIR (created if missing), readable by its owner only (0600
   * even when the file already existed with wider rights); returns its path.
   */
  writePrivateFile(name: string, content: string): string {
    mkdirSync(resolve(this.config.dataDir), { recursive: true });
    const path = this.privateFilePath(name);
    writeFileSync(path, content, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  }
}
