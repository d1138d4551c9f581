import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { kvCacheBytes, MODEL_FILES, type ModelCard, modelFingerprint, type ModelFileEntry, readManifest, readModelCard, releaseMemoryBytes, TextTokenizer } from '@synthgate/generation';
import { DomainError } from '../gateway.errors';
import { type ReleaseFit, releaseFit } from './release-fit';

/** What the gateway knows of a model folder without loading it into onnxruntime. */
export interface ModelDescription {
  readonly name: string;
  readonly fingerprint: string;
  readonly files: readonly ModelFileEntry[];
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly tokenizer: TextTokenizer;
  /** The catalogue's view: architecture, parameters, storage, sizes, weight memory. */
  readonly card: ModelCard;
}

interface LlamaConfigJson {
  readonly vocab_size?: number;
  readonly max_position_embeddings?: number;
  readonly num_hidden_layers?: number;
  readonly num_attention_heads?: number;
  readonly num_key_value_heads?: number;
  readonly hidden_size?: number;
  readonly head_dim?: number;
}

const modelName = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The models in MODELS_DIR, read from their manifest and config.json: enough to validate a
 * release's model, record its file hashes, and size the KV cache of a batch. Workers load the same
 * folders into onnxruntime and check the fingerprint matches the release's.
 */
@Injectable()
export class ModelCatalogService {
  private readonly cache = new Map<string, { modified: number; description: ModelDescription }>();

  constructor(@Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig) {}

  get defaultModel(): string {
    return this.config.models.defaultModel;
  }

  /** Names of the model folders present (those with a manifest). */
  available(): string[] {
    const dir = resolve(this.config.models.dir);
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, MODEL_FILES.manifest)))
      .map((entry) => entry.name)
      .sort();
  }

  /** The model, or BAD_USER_INPUT naming `field` when there is no such model. */
  describe(name: string, field: string): ModelDescription {
    const known = this.available();
    if (!modelName.test(name) || !known.includes(name)) {
      throw DomainError.badInput(field, `unknown model "${name}"; available: ${known.length ? known.join(', ') : 'none (see models/README.md)'}`);
    }
    const dir = join(resolve(this.config.models.dir), name);
    const manifestPath = join(dir, MODEL_FILES.manifest);
    const modified = statSync(manifestPath).mtimeMs;
    const cached = this.cache.get(name);
    if (cached && cached.modified === modified) return cached.description;
    const manifest = readManifest(dir);
    const configJson = JSON.parse(readFileSync(join(dir, MODEL_FILES.config), 'utf8')) as LlamaConfigJson;
    const heads = configJson.num_attention_heads ?? 1;
    const tokenizerConfig = join(dir, MODEL_FILES.tokenizerConfig);
    const description: ModelDescription = {
      name,
      fingerprint: modelFingerprint(manifest.files),
      files: manifest.files,
      vocabSize: configJson.vocab_size ?? 0,
      maxPositions: configJson.max_position_embeddings ?? 2048,
      numLayers: configJson.num_hidden_layers ?? 0,
      numKvHeads: configJson.num_key_value_heads ?? heads,
      headDim: configJson.head_dim ?? Math.floor((configJson.hidden_size ?? 0) / heads),
      tokenizer: TextTokenizer.fromFiles(join(dir, MODEL_FILES.tokenizer), existsSync(tokenizerConfig) ? tokenizerConfig : null),
      card: readModelCard(dir, name),
    };
    this.cache.set(name, { modified, description });
    return description;
  }

  /** The cards of every model folder present, by name. */
  catalogue(): ModelCard[] {
    return this.available().map((name) => this.describe(name, 'name').card);
  }

  /**
   * Memory a batch of `expectedBatchSize` records (plus the public row) of `promptTokens + maxTokens`
   * positions needs on a worker, and whether it fits; BAD_USER_INPUT naming the argument when
   * one is not a positive whole number or the positions exceed the model's context.
   */
  releaseMemory(name: string, expectedBatchSize: number, promptTokens: number, maxTokens: number): ReleaseFit {
    const card = this.describe(name, 'name').card;
    for (const [field, value] of [['expectedBatchSize', expectedBatchSize], ['promptTokens', promptTokens], ['maxTokens', maxTokens]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw DomainError.badInput(field, `must be a whole number >= 1, got ${value}`);
    }
    if (promptTokens + maxTokens > card.contextLength) {
      throw DomainError.badInput('maxTokens', `promptTokens + maxTokens = ${promptTokens + maxTokens} exceeds the model's context of ${card.contextLength} positions`);
    }
    const kvCacheBytesPerBatch = releaseMemoryBytes(card, expectedBatchSize + 1, promptTokens + maxTokens).kvCache;
    return releaseFit(card.weightMemoryBytes, kvCacheBytesPerBatch, this.config.worker.concurrency, this.config.generation.memoryLimitBytes);
  }

  /** KV-cache bytes of one batch: `rows` sequences of `positions` tokens. */
  kvCacheBytes(model: ModelDescription, rows: number, positions: number): number {
    return kvCacheBytes({ numLayers: model.numLayers, numKvHeads: model.numKvHeads, headDim: model.headDim }, rows, positions);
  }

  get kvCacheLimitBytes(): number {
    return this.config.generation.kvCacheLimitBytes;
  }
}
