import { Field, Float, Int, ObjectType } from '@nestjs/graphql';
import { type ModelCard } from '@synthgate/generation';
import { type ReleaseFit } from '../releases/release-fit';

@ObjectType({ description: 'Memory a release batch of this model needs on a worker, and whether it fits.' })
export class ModelMemory {
  @Field(() => Float, { description: "The weights as a loaded session holds them (an estimate calibrated by npm run bench:weights)." })
  weightBytes!: number;

  @Field(() => Float, { description: 'KV cache of one batch: expectedBatchSize private rows and the public row, prompt plus maxTokens, in both engine buffers.' })
  kvCacheBytesPerBatch!: number;

  @Field(() => Int, { description: 'WORKER_CONCURRENCY: batches one worker runs at once.' })
  concurrentBatches!: number;

  @Field(() => Float)
  totalBytes!: number;

  @Field(() => Float, { description: 'GENERATION_MEMORY_LIMIT_BYTES.' })
  limitBytes!: number;

  @Field()
  fits!: boolean;

  @Field(() => String, { nullable: true })
  refusal!: string | null;
}

@ObjectType({ description: 'A model folder in MODELS_DIR, as the catalogue describes it (no weights are loaded).' })
export class Model {
  @Field()
  name!: string;

  @Field({ description: 'Whether releases use it when they name no model (DEFAULT_MODEL).' })
  isDefault!: boolean;

  @Field(() => String, { nullable: true, description: 'config.json architectures[0], e.g. LlamaForCausalLM or Qwen2ForCausalLM.' })
  architecture!: string | null;

  @Field(() => Float, { description: 'Parameters of the source model (a tied head counted once).' })
  parameters!: number;

  @Field(() => String, { nullable: true, description: 'How the graph stores weights: fp32, fp16 or int4 (MatMulNBits); null for a copied ONNX folder.' })
  weightStorage!: string | null;

  @Field(() => String, { nullable: true, description: 'Tensor types of a GGUF source and their counts, e.g. "Q4_K x13, Q6_K x3, F32 x5".' })
  sourceQuantization!: string | null;

  @Field({ description: 'gguf, huggingface or onnx.' })
  sourceKind!: string;

  @Field({ description: 'Base name of the imported file or folder.' })
  sourceFile!: string;

  @Field(() => Int, { description: 'Positions the model takes: prompt plus generated tokens.' })
  contextLength!: number;

  @Field({ description: 'Whether tokenizer_config.json carries a chat template.' })
  chatTemplate!: boolean;

  @Field(() => Float)
  diskBytes!: number;

  @Field(() => Float, { description: 'Memory a loaded session holds for the weights (estimate).' })
  weightMemoryBytes!: number;
}

export function toModel(card: ModelCard, defaultModel: string): Model {
  const types = card.sourceTypes
    ? Object.entries(card.sourceTypes)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([type, count]) => `${type} x${count}`)
        .join(', ')
    : null;
  return {
    name: card.name,
    isDefault: card.name === defaultModel,
    architecture: card.architecture,
    parameters: card.parameters,
    weightStorage: card.weightStorage,
    sourceQuantization: types,
    sourceKind: card.source.kind,
    sourceFile: card.source.file,
    contextLength: card.contextLength,
    chatTemplate: card.chatTemplate,
    diskBytes: card.diskBytes,
    weightMemoryBytes: card.weightMemoryBytes,
  };
}

export function toModelMemory(fit: ReleaseFit): ModelMemory {
  return {
    weightBytes: fit.weightBytes,
    kvCacheBytesPerBatch: fit.kvCacheBytesPerBatch,
    concurrentBatches: fit.concurrentBatches,
    totalBytes: fit.totalBytes,
    limitBytes: fit.limitBytes,
    fits: fit.fits,
    refusal: fit.refusal?.message ?? null,
  };
}
