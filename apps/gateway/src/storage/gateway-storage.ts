import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
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

  /** The absolute folder of a model (a name from `modelNames`), for libs/generation's folder reader. */
  modelFolder(name: string): string {
    return join(resolve(this.config.models.dir), name);
  }

  /** When the model's manifest last changed (ms since the epoch): a changed folder is read again. */
  modelModifiedAt(name: string): number {
    return statSync(join(this.modelFolder(name), MODEL_FILES.manifest)).mtimeMs;
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
