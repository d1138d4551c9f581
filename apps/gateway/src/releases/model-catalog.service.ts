import { Inject, Injectable } from '@nestjs/common';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { DEFAULT_CONTEXT_LENGTH, describeModelFolder, kvCacheBytes, type ModelCard, modelCard, type ModelFileEntry, releaseMemoryBytes, TextTokenizer } from '@synthgate/generation/catalog';
import { DomainError } from '../gateway.errors';
import { GatewayStorage } from '../storage/gateway-storage';
import { type ReleaseFit, releaseFit } from './release-fit';

/** What the gateway knows of a model folder without loading it into onnxruntime (read by the engine's own {@link describeModelFolder}). */
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
  /** The chat template and end-of-sequence text, for datasets whose prompt is a chat; null without a template. */
  readonly chat: { readonly template: string; readonly eosToken: string } | null;
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

  constructor(
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
    private readonly storage: GatewayStorage,
  ) {}

  get defaultModel(): string {
    return this.config.models.defaultModel;
  }

  /** Names of the model folders present (those with a manifest). */
  available(): string[] {
    return this.storage.modelNames();
  }

  /** The model, or BAD_USER_INPUT naming `field` when there is no such model. */
  describe(name: string, field: string): ModelDescription {
    const known = this.available();
    if (!modelName.test(name) || !known.includes(name)) {
      throw DomainError.badInput(field, `unknown model "${name}"; available: ${known.length ? known.join(', ') : 'none (see models/README.md)'}`);
    }
    const dir = this.storage.modelFolder(name);
    const modified = this.storage.modelModifiedAt(name);
    const cached = this.cache.get(name);
    if (cached && cached.modified === modified) return cached.description;
    const folder = describeModelFolder(dir, { name });
    const description: ModelDescription = {
      name,
      fingerprint: folder.fingerprint,
      files: folder.files,
      vocabSize: folder.shape.vocabSize,
      maxPositions: folder.maxPositions ?? DEFAULT_CONTEXT_LENGTH,
      numLayers: folder.shape.numLayers,
      numKvHeads: folder.shape.numKvHeads,
      headDim: folder.shape.headDim,
      tokenizer: TextTokenizer.fromFiles(folder.tokenizerPath, folder.tokenizerConfigPath),
      card: modelCard(folder),
      chat: folder.chatTemplate ? { template: folder.chatTemplate, eosToken: folder.eosTokenText ?? '' } : null,
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
