import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AggregationRequest,
  aggregationOf,
  type MechanismParameters,
  type MechanismRegistry,
  mechanismRegistry,
  type PublicOnlyParameters,
  type Rng,
  TOKEN_AGGREGATION,
  type TokenSampler,
} from '@synthgate/privacy';
import { type FieldValue, type RecordSchema, type StructuredRecord } from '@synthgate/records';
import { createLogitsSource, DECODING_MODES, type DecodingMode } from './decoding/decoding-modes';
import { type DecodingOutcome, type DecodingSettings, runPrivateDecoding, type StepTimings, type StepTrace, type StopReason } from './decoding/private-decoding';
import { runSpeculativeDecoding } from './decoding/speculative-decoding';
import { recordTokenBound } from './decoding/record-grammar';
import { RecordTokenMask, VocabularyTrie } from './decoding/record-token-mask';
import { dropIncompleteTail, Utf8Guard, Utf8TokenTable } from './decoding/utf8-token-mask';
import { GenerationError } from './generation.errors';
import { describeModelFolder, type ModelConfigJson } from './import/model-description';
import { MODEL_FILES, modelFingerprint, type ModelFileEntry } from './import/model-folder';
import { prefillChunkRows } from './runtime/batch-prefill';
import { kvCacheBuffers, kvCacheBytes, KvCacheBatch } from './runtime/kv-cache-batch';
import { type ExecutionProvider, OnnxDecoder } from './runtime/onnx-decoder';
import { TextTokenizer } from './tokenizer/text-tokenizer';

/** Options of {@link loadModel}; the worker fills them from `@synthgate/config`. */
export interface LoadModelOptions {
  /** ONNX Runtime intra-op threads (default 1: one single-thread worker per core, docs/benchmarks/engine.md). */
  readonly threads?: number;
  /**
   * Default `cpu`. `cuda` falls back to the CPU when CUDA cannot be opened (see
   * {@link GenerationModel.providerFallback}) unless `cpuFallback` is false.
   */
  readonly executionProvider?: ExecutionProvider;
  readonly cpuFallback?: boolean;
  /** Check every file against the manifest's sha256 (default true). */
  readonly verifyHashes?: boolean;
  /** Largest KV cache a batch may allocate (default 4 GiB); larger requests are refused up front. */
  readonly kvCacheLimitBytes?: number;
  /**
   * Tokens per prefill call (rows x padded width), bounding prefill memory (default 1024: at 4,096
   * ONNX Runtime's arena kept ~160 MiB more resident, for no faster prefill; docs/benchmarks/engine.md).
   */
  readonly prefillChunkTokens?: number;
  /**
   * Run graphs this project built with the in-place KV cache (default true). false runs the
   * stored concat layout: benchmarks and tests compare the two.
   */
  readonly inPlaceCache?: boolean;
  /** Benchmarks only: ONNX Runtime profiling, trace files under this prefix. */
  readonly profileFilePrefix?: string;
}

/** Shape and special tokens of a loaded model. */
export interface ModelInfo {
  readonly vocabSize: number;
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  /** Longest sequence (prompt plus generated) a row may hold; Infinity when the model declares none. */
  readonly maxPositions: number;
  readonly bosTokenId: number | null;
  /** Generation stops when one of these is sampled; empty when the model declares none. */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number;
  /** How the engine runs the graph's KV cache (`in-place` for graphs this project built). */
  readonly cacheLayout: 'concat' | 'in-place';
}

/**
 * Parameters of one synthetic example: its mechanism's (discriminated by `mechanism`, including the
 * cap `r` on private tokens, `privateTokenCap`) plus the engine's bounds.
 */
export type ExampleParams = MechanismParameters & {
  /** `T`: stop after this many generated tokens. */
  readonly maxNewTokens: number;
  /**
   * A public bound on every prompt's length in tokens (a release parameter): prompts are cut to it
   * (callers cut the record text with {@link GenerationModel.fitPrompt} first, keeping the label
   * part), and the batch's memory is planned from it and `maxNewTokens`, never from the actual
   * prompts. When absent (benchmarks, tests) the longest prompt of the batch stands in for it.
   */
  readonly maxPromptTokens?: number;
};

/** {@link ExampleParams} of private prediction, the production mechanism over records. */
export type PrivateExampleParams = Extract<ExampleParams, { readonly mechanism: 'private-prediction' }>;

/** One synthetic example to generate from one batch of sensitive prompts. */
export interface GenerateExampleRequest {
  /** The batch's private prompts (one per sensitive record); may be empty. */
  readonly privatePrompts: readonly string[];
  /** The template with no record; its row is the public drafter's and the decoding context. */
  readonly publicPrompt: string;
  readonly params: ExampleParams;
  /**
   * Where the sampler of `params.mechanism` comes from; default libs/privacy's production
   * registry. The worker passes its injected one.
   */
  readonly mechanisms?: MechanismRegistry;
  /** CryptoRng in production, SeededRng in tests. */
  readonly rng: Rng;
  /** Default `kv-cache` (the only production mode). */
  readonly mode?: DecodingMode;
  /** `resample-per-token` only: the prompts to draw each step's sample from. */
  readonly resamplePool?: readonly string[];
  /** Test and diagnostics hook, called after each step's decision. */
  readonly onStep?: (trace: StepTrace) => void;
  /** Benchmarks only: keep decoding past end-of-sequence so every run has the same length. */
  readonly ignoreEndOfSequence?: boolean;
  /**
   * Aggregate the private rows inside the graph when the mechanism has a specification for it
   * (libs/privacy's token-aggregation.ts) and the decoder computes it (graphs this project builds,
   * `kv-cache` mode, not speculative): only the aggregate and the public row's logits come back,
   * and {@link StepTrace.logits} is null. Default true; false returns every row's logits (traces
   * that read them, comparisons of the two paths).
   */
  readonly inGraphAggregation?: boolean;
  /**
   * `kv-cache` mode only: speculative verification with drafts of up to `maxDraftTokens` (>= 2)
   * public tokens scored in one batched pass (same output distribution and privacy cost; fewer
   * forward passes when most steps are public). Off by default.
   */
  readonly speculative?: { readonly maxDraftTokens: number } | null;
  /**
   * Generate one record of this declared schema (public metadata): every step may draw only tokens
   * that continue a valid JSON record (decoding/record-token-mask.ts), a record still open at the
   * private-token cap is finished by public steps, and the example's `record` holds the parsed
   * values. `fixed`: values chosen for the batch (the condition field's). `maxNewTokens` must be at
   * least {@link GenerationModel.recordTokenBound}.
   */
  readonly record?: { readonly schema: RecordSchema; readonly fixed?: Readonly<Record<string, FieldValue>> } | null;
}

/**
 * A generated example. `text` and `tokenIds` are the release's content; `privateSteps`,
 * `publicSteps`, `stopReason` and `stepTimings` are computed from sensitive data and are for
 * benchmarks and internal metrics only: never store them with a release or show them to consumers
 * (DESIGN.md section 4).
 */
export interface GeneratedExample {
  /** The continuation after the public prompt, decoded with the prompt as context (may start with a space). */
  readonly text: string;
  /** Generated ids, end-of-sequence excluded. */
  readonly tokenIds: readonly number[];
  readonly privateSteps: number;
  readonly publicSteps: number;
  /** Public steps whose token a record's constraint forced (its syntax): written, not sampled. */
  readonly forcedSteps: number;
  readonly stopReason: StopReason;
  readonly stepTimings: StepTimings;
  /** With `record`: the generated record's values, which always parse and satisfy the schema; otherwise null. */
  readonly record: StructuredRecord | null;
}

/** Non-private generation from one prompt (public-only releases, CLI checks, smoke tests). */
export interface GenerateTextRequest {
  readonly prompt: string;
  readonly maxNewTokens: number;
  /** Argmax at every step (ties to the smaller id). Otherwise samples at `temperature` with `rng`. */
  readonly greedy?: boolean;
  readonly temperature?: number;
  readonly rng?: Rng;
  /**
   * Draws each token from the prompt's row (passed as the public row, with no private row), in
   * place of `greedy` / `temperature`: the worker passes the public-only sampler of its registry.
   */
  readonly sampler?: TokenSampler;
}

/** Result of {@link GenerationModel.generateText}. */
export interface GeneratedText {
  /** Prompt and continuation, decoded together. */
  readonly text: string;
  readonly continuation: string;
  readonly tokenIds: readonly number[];
  readonly stopReason: 'eos' | 'max-new-tokens';
}

/**
 * How a batch's rows are laid out in memory, from public bounds only: each row's KV cache at
 * `maxPromptTokens + maxNewTokens` positions (one buffer in the in-place layout, two in the concat
 * layout of graphs run as stored), and how many rows keep one within the limit. Rows beyond `cachedRows` are decoded without a cache in row chunks (same logits, several
 * forward passes per step), so a batch larger than its bound never fails.
 */
export interface RowMemoryPlan {
  /** The cache buffers of one row at full length. */
  readonly bytesPerRow: number;
  /** Rows (the public row included) whose caches fit the limit. */
  readonly cachedRows: number;
  readonly limitBytes: number;
}

/** Memory a batch will need, computed before anything is allocated. */
export interface MemoryPlan {
  /** The batch's KV cache at full length: `2 * layers * rows * kvHeads * maxSequence * headDim * 4`. */
  readonly kvCacheBytes: number;
  /**
   * What the engine holds for it: `kvCacheBytes` in the in-place layout (one buffer, allocated for
   * the whole sequence); twice that in the concat layout (the past a step reads and the present
   * it returns). The limit applies here.
   */
  readonly kvBufferBytes: number;
  /** Rough peak of the batch: the cache buffers plus one prefill call's resident activations (see {@link GenerationModel.planMemory}). */
  readonly peakBytesEstimate: number;
  readonly limitBytes: number;
  /** `kvBufferBytes <= limitBytes`. */
  readonly fits: boolean;
}

/** Tokens per prefill call unless configured (see {@link LoadModelOptions.prefillChunkTokens}). */
const DEFAULT_PREFILL_CHUNK_TOKENS = 1024;

function requirePositiveInteger(field: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new GenerationError('INVALID_GENERATION_INPUT', `${field} must be a positive integer, got ${value}`);
}

/**
 * A model folder loaded once per process: its ONNX session, tokenizer, configuration and file
 * hashes. Create with {@link loadModel}. Calls may overlap but gain nothing: onnxruntime-node runs
 * each call on the event-loop thread. Run several worker processes for parallelism.
 */
export class GenerationModel {
  /** sha256 over the manifest's file hashes: the model identity a release records. */
  readonly fingerprint: string;
  private utf8: Utf8TokenTable | null = null;
  private trie: VocabularyTrie | null = null;
  private readonly recordMasks = new Map<string, RecordTokenMask>();

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly files: readonly ModelFileEntry[],
    readonly tokenizer: TextTokenizer,
    readonly info: ModelInfo,
    private readonly decoder: OnnxDecoder,
    private readonly options: Required<Pick<LoadModelOptions, 'kvCacheLimitBytes' | 'prefillChunkTokens'>>,
    private readonly config: ModelConfigJson,
  ) {
    this.fingerprint = modelFingerprint(files);
  }

  /** @internal Use {@link loadModel}. */
  static async open(dir: string, options: LoadModelOptions = {}): Promise<GenerationModel> {
    const folder = describeModelFolder(dir, { verify: options.verifyHashes ?? true });
    if (!existsSync(join(folder.dir, MODEL_FILES.onnx))) throw new GenerationError('MODEL_FILE_MISSING', `${join(dir, MODEL_FILES.onnx)} is missing`);
    const config = folder.config;
    const tokenizer = TextTokenizer.fromFiles(folder.tokenizerPath, folder.tokenizerConfigPath);
    const decoder = await OnnxDecoder.load(join(folder.dir, MODEL_FILES.onnx), {
      threads: options.threads ?? 1,
      executionProvider: options.executionProvider ?? 'cpu',
      ...(options.cpuFallback === false ? { cpuFallback: false } : {}),
      ...(options.inPlaceCache === false ? { inPlaceCache: false } : {}),
      ...(options.profileFilePrefix ? { profileFilePrefix: options.profileFilePrefix } : {}),
    });
    const vocabSize = decoder.signature.vocabSize ?? config.vocab_size;
    if (!vocabSize) {
      await decoder.release();
      throw new GenerationError('MODEL_CONTRACT_VIOLATION', `${dir}: the vocabulary size is neither fixed in the logits output nor given as vocab_size in config.json`);
    }
    const eos = folder.eosTokenIds.filter((id) => id < vocabSize);
    const info: ModelInfo = {
      vocabSize,
      numLayers: decoder.signature.numLayers,
      numKvHeads: decoder.signature.numKvHeads,
      headDim: decoder.signature.headDim,
      maxPositions: folder.maxPositions ?? Number.POSITIVE_INFINITY,
      bosTokenId: folder.bosTokenId,
      eosTokenIds: eos,
      padTokenId: folder.padTokenId ?? eos[0] ?? 0,
      cacheLayout: decoder.signature.cacheLayout,
    };
    return new GenerationModel(
      folder.name,
      folder.dir,
      folder.files,
      tokenizer,
      info,
      decoder,
      { kvCacheLimitBytes: options.kvCacheLimitBytes ?? 4 * 1024 ** 3, prefillChunkTokens: options.prefillChunkTokens ?? DEFAULT_PREFILL_CHUNK_TOKENS },
      config,
    );
  }

  /**
   * The schema constraint of `schema` (with `fixed` values) over this model's vocabulary. The byte
   * trie is built once per model; masks are cached per constraint, the last few kept.
   */
  recordMask(schema: RecordSchema, fixed: Readonly<Record<string, FieldValue>> = {}): RecordTokenMask {
    this.trie ??= new VocabularyTrie(this.tokenizer.tokenBytes(), this.info.vocabSize);
    const key = JSON.stringify([schema, fixed]);
    let mask = this.recordMasks.get(key);
    if (!mask) {
      mask = new RecordTokenMask(schema, this.trie, this.info.eosTokenIds, this.tokenizer.tokenBytes(), { fixed, encode: (text) => this.tokenizer.encode(text, { addSpecialTokens: false }) });
      if (this.recordMasks.size >= 16) this.recordMasks.delete(this.recordMasks.keys().next().value!);
      this.recordMasks.set(key, mask);
    }
    return mask;
  }

  /**
   * The most tokens a record of `schema` can take (a public bound: the schema alone decides it);
   * `maxNewTokens` of a structured example must be at least this, so that every record closes.
   */
  recordTokenBound(schema: RecordSchema): number {
    return recordTokenBound(schema);
  }

  /** Where the model runs: `cpu` when `cuda` was asked for and could not be opened. */
  get executionProvider(): ExecutionProvider {
    return this.decoder.executionProvider;
  }

  /** Why `cuda` was asked for and the model runs on the CPU (one line for the operator's log); null otherwise. */
  get providerFallback(): string | null {
    return this.decoder.providerFallback;
  }

  /** What each token does to a UTF-8 decoder, computed once per model from its public tokenizer. */
  get utf8Table(): Utf8TokenTable {
    this.utf8 ??= new Utf8TokenTable(this.tokenizer.tokenBytes(), this.info.vocabSize);
    return this.utf8;
  }

  /** Bytes of a KV cache of `rows` rows holding `maxSequence` positions each. */
  kvCacheBytes(rows: number, maxSequence: number): number {
    return kvCacheBytes(this.info, rows, maxSequence);
  }

  /**
   * The memory a batch of `rows` rows (private prompts plus the public one) will need for prompts
   * of up to `promptTokens` tokens and `maxNewTokens` generated ones; `fits` is false past the
   * configured KV-cache limit, which {@link generateExample} refuses.
   */
  planMemory(rows: number, promptTokens: number, maxNewTokens: number): MemoryPlan {
    const sequence = Math.min(promptTokens + maxNewTokens, this.info.maxPositions);
    const kv = this.kvCacheBytes(rows, sequence);
    const chunkRows = Math.min(rows, prefillChunkRows({ ...this.decoderSignature() }, promptTokens, this.info.vocabSize, this.options.prefillChunkTokens));
    const hidden = this.config.hidden_size ?? this.info.numKvHeads * this.info.headDim;
    const heads = this.config.num_attention_heads ?? this.info.numKvHeads;
    const intermediate = this.config.intermediate_size ?? 4 * hidden;
    // Per prefill position: a layer's live activations (~8 hidden-sized and 4 intermediate-sized
    // rows, 5 rows of attention scores: scores, bias, joined, softmax, split), twice for ONNX
    // Runtime's arena, which grows in powers of two; plus every layer's new keys and values (outputs,
    // held to the end of the call). Per row, the last position's logits. Measured on the default
    // model (bench:generation --prefill-chunks, 512 to 4,096 tokens per call): the resident
    // high-water of a prefill is 0.7 to 1.2 times this.
    const { numLayers, numKvHeads, headDim } = this.info;
    const perPosition = 2 * (8 * hidden + 4 * intermediate + 5 * heads * promptTokens) + 2 * numLayers * numKvHeads * headDim;
    const activations = chunkRows * 4 * (promptTokens * perPosition + this.info.vocabSize);
    const buffers = kvCacheBuffers(this.decoder.signature.cacheLayout) * kv;
    return {
      kvCacheBytes: kv,
      kvBufferBytes: buffers,
      peakBytesEstimate: buffers + activations,
      limitBytes: this.options.kvCacheLimitBytes,
      fits: buffers <= this.options.kvCacheLimitBytes,
    };
  }

  /**
   * The row layout of a batch from public bounds (see {@link RowMemoryPlan}); the gateway admits a
   * release only if its expected batch (s private rows and the public one) keeps a cache.
   */
  planRows(maxPromptTokens: number, maxNewTokens: number): RowMemoryPlan {
    const bytesPerRow = kvCacheBuffers(this.decoder.signature.cacheLayout) * this.kvCacheBytes(1, Math.min(maxPromptTokens + maxNewTokens, this.info.maxPositions));
    return { bytesPerRow, cachedRows: Math.floor(this.options.kvCacheLimitBytes / bytesPerRow), limitBytes: this.options.kvCacheLimitBytes };
  }

  /**
   * The prompt `before + text + after` cut to at most `maxPromptTokens` tokens by shortening
   * `text` only: the template's parts around it (the label part) stay whole. Finds the longest
   * token prefix of `text` that fits (binary search on whole tokens). Depends on this record and
   * public values alone. When even an empty text does not fit, the engine's own cut (last tokens)
   * applies, which the gateway's admission rules out for every declared label.
   */
  fitPrompt(parts: { readonly before: string; readonly text: string; readonly after: string }, maxPromptTokens: number): string {
    requirePositiveInteger('maxPromptTokens', maxPromptTokens);
    const whole = `${parts.before}${parts.text}${parts.after}`;
    if (this.tokenizer.encode(whole).length <= maxPromptTokens) return whole;
    const textTokens = this.tokenizer.encode(parts.text, { addSpecialTokens: false });
    const candidate = (count: number): string => `${parts.before}${count > 0 ? this.tokenizer.decode(textTokens.slice(0, count)) : ''}${parts.after}`;
    let fits = 0;
    let tooLong = textTokens.length;
    while (tooLong - fits > 1) {
      const middle = (fits + tooLong) >> 1;
      if (this.tokenizer.encode(candidate(middle)).length <= maxPromptTokens) fits = middle;
      else tooLong = middle;
    }
    return candidate(fits);
  }

  /**
   * Token ids of a prompt as the engine feeds it: the tokenizer's special tokens added, and, when
   * longer than the context leaves room for (or than `maxPromptTokens`), cut to its last tokens
   * (keeping a leading BOS). The cut depends on the prompt and public bounds alone.
   */
  encodePrompt(text: string, maxNewTokens: number, maxPromptTokens = Number.POSITIVE_INFINITY): number[] {
    let tokens = this.tokenizer.encode(text);
    if (tokens.length === 0) {
      if (this.info.bosTokenId === null) throw new GenerationError('INVALID_GENERATION_INPUT', 'a prompt encodes to no tokens and the model has no BOS token to start from');
      tokens = [this.info.bosTokenId];
    }
    const room = Math.min(this.info.maxPositions - maxNewTokens, maxPromptTokens);
    if (room < 1) {
      throw new GenerationError('CONTEXT_LENGTH_EXCEEDED', `maxNewTokens (${maxNewTokens}) and maxPromptTokens (${maxPromptTokens}) leave no room for a prompt in the model's ${this.info.maxPositions} positions`);
    }
    if (tokens.length > room) {
      const keepBos = this.info.bosTokenId !== null && tokens[0] === this.info.bosTokenId;
      tokens = keepBos ? [tokens[0]!, ...tokens.slice(tokens.length - room + 1)] : tokens.slice(tokens.length - room);
    }
    return tokens;
  }

  /**
   * Generates one synthetic example from one batch (DESIGN.md section 5): the private prompts are
   * prefilled once (left-padded) and decoded together, the public prompt in a run of its own (so its
   * logits never depend on the records); at each step the sampler of the mechanism named by
   * `params.mechanism` (from `request.mechanisms`, libs/privacy) makes every privacy decision.
   * Reproducible with a seeded `rng`. Memory is planned from public bounds (`maxPromptTokens`,
   * `maxNewTokens`): private rows beyond what KV_CACHE_LIMIT_BYTES holds are decoded without a
   * cache, so the records can never make a batch fail. Throws
   * `KV_CACHE_LIMIT_EXCEEDED` before allocating anything only when not even one row's cache fits (a
   * matter of public bounds), `INVALID_GENERATION_INPUT` for bad caps or modes, and libs/privacy's
   * `PrivacyError` for invalid mechanism parameters (checked before any prompt is run).
   */
  async generateExample(request: GenerateExampleRequest): Promise<GeneratedExample> {
    const { params } = request;
    const mode = request.mode ?? 'kv-cache';
    if (!DECODING_MODES.includes(mode)) throw new GenerationError('INVALID_GENERATION_INPUT', `mode must be one of ${DECODING_MODES.join(', ')}, got ${String(mode)}`);
    requirePositiveInteger('params.maxNewTokens', params.maxNewTokens);
    // A mechanism that reads no record (public only) has no private token to cap.
    if (params.mechanism !== 'public-only') requirePositiveInteger('params.privateTokenCap', params.privateTokenCap);
    if (params.maxPromptTokens !== undefined) requirePositiveInteger('params.maxPromptTokens', params.maxPromptTokens);
    const privateRows = request.privatePrompts.map((prompt) => this.encodePrompt(prompt, params.maxNewTokens, params.maxPromptTokens));
    const publicRow = this.encodePrompt(request.publicPrompt, params.maxNewTokens, params.maxPromptTokens);
    // Memory comes from public bounds (the declared prompt bound and T), never from the records:
    // rows beyond what the limit holds are decoded without a cache instead of failing.
    const promptBound = params.maxPromptTokens ?? Math.max(publicRow.length, ...privateRows.map((r) => r.length));
    const rowPlan = this.planRows(promptBound, params.maxNewTokens);
    if (mode === 'kv-cache' && rowPlan.cachedRows < 1) {
      throw new GenerationError(
        'KV_CACHE_LIMIT_EXCEEDED',
        `one row's KV cache at ${promptBound + params.maxNewTokens} positions needs ${rowPlan.bytesPerRow} bytes, over the limit of ${rowPlan.limitBytes} (KV_CACHE_LIMIT_BYTES); use fewer prompt or generated tokens`,
      );
    }
    const cachedPrivateRows = rowPlan.cachedRows - 1;
    const recordMask = request.record ? this.recordMask(request.record.schema, request.record.fixed ?? {}) : null;
    if (recordMask && params.maxNewTokens < recordMask.grammar.maxRecordTokens()) {
      throw new GenerationError('INVALID_GENERATION_INPUT', `params.maxNewTokens must be at least ${recordMask.grammar.maxRecordTokens()} for this record schema (so that every record closes), got ${params.maxNewTokens}`);
    }
    // The registry entry validates the mechanism parameters before any prompt is run.
    const sampler = (request.mechanisms ?? mechanismRegistry).of(params).createSampler(params, this.info.vocabSize, request.rng);
    const settings: DecodingSettings = {
      sampler,
      vocabSize: this.info.vocabSize,
      privateRows: privateRows.length,
      eosTokenIds: new Set(request.ignoreEndOfSequence ? [] : this.info.eosTokenIds),
      privateTokenCap: params.privateTokenCap,
      maxNewTokens: params.maxNewTokens,
      // A record's mask also keeps its bytes valid UTF-8.
      constraint: recordMask ?? this.utf8Table,
      ...(request.onStep ? { onStep: request.onStep } : {}),
    };
    if (request.speculative) {
      if (mode !== 'kv-cache') throw new GenerationError('INVALID_GENERATION_INPUT', `speculative verification needs mode kv-cache, got ${mode}`);
      const draft = request.speculative.maxDraftTokens;
      if (!Number.isInteger(draft) || draft < 2) throw new GenerationError('INVALID_GENERATION_INPUT', `speculative.maxDraftTokens must be a whole number >= 2, got ${draft}`);
      // Benchmarks only: verification needs every private row cached.
      if (privateRows.length > cachedPrivateRows) {
        throw new GenerationError('KV_CACHE_LIMIT_EXCEEDED', `speculative verification needs all ${privateRows.length} private rows cached; the limit holds ${Math.max(0, cachedPrivateRows)}`);
      }
      const batchOptions = { chunkTokens: this.options.prefillChunkTokens, padTokenId: this.info.padTokenId, vocabSize: this.info.vocabSize, maxNewTokens: params.maxNewTokens };
      // The public row runs apart from the private rows, in its own batch.
      const batch = privateRows.length > 0 ? new KvCacheBatch(this.decoder, privateRows, batchOptions) : null;
      const publicBatch = new KvCacheBatch(this.decoder, [publicRow], batchOptions);
      try {
        const outcome = await runSpeculativeDecoding({ batch, publicBatch, ...settings, maxDraftTokens: draft });
        return this.example(publicRow, outcome, recordMask);
      } finally {
        // Their cache memory goes back to the decoder for the next batch.
        batch?.dispose();
        publicBatch.dispose();
      }
    }
    const source = createLogitsSource(mode, {
      decoder: this.decoder,
      privateRows,
      publicRow,
      cachedPrivateRows,
      aggregation: mode === 'kv-cache' && privateRows.length > 0 && request.inGraphAggregation !== false ? this.inGraphAggregation(sampler) : null,
      resamplePool: request.resamplePool?.map((prompt) => this.encodePrompt(prompt, params.maxNewTokens)),
      rng: request.rng,
      chunkTokens: this.options.prefillChunkTokens,
      padTokenId: this.info.padTokenId,
      vocabSize: this.info.vocabSize,
      maxNewTokens: params.maxNewTokens,
    });
    let outcome: DecodingOutcome;
    try {
      outcome = await runPrivateDecoding({
        ...settings,
        source,
      });
    } finally {
      source.dispose();
    }
    return this.example(publicRow, outcome, recordMask);
  }

  /** The sampler's aggregation request when this decoder's graph computes every output it reads; null otherwise. */
  private inGraphAggregation(sampler: TokenSampler): AggregationRequest | null {
    const request = aggregationOf(sampler);
    const computed = this.decoder.signature.aggregationOutputs;
    if (request === null || request.spec !== TOKEN_AGGREGATION || !request.outputs.every((name) => computed.includes(name))) return null;
    return request;
  }

  /** The example: its text, and with a schema its record, read from the very bytes the mask checked. */
  private example(publicRow: readonly number[], outcome: DecodingOutcome, recordMask: RecordTokenMask | null): GeneratedExample {
    if (!recordMask) return { ...outcome, text: this.continuationText(publicRow, outcome), record: null };
    const bytes = this.tokenizer.tokenBytes();
    const parts = outcome.tokenIds.map((id) => bytes[id]!);
    const joined = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    parts.reduce((offset, part) => (joined.set(part, offset), offset + part.length), 0);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(joined).trim();
    return { ...outcome, text, record: JSON.parse(text) as StructuredRecord };
  }

  /** The example's text; an example cut inside a character loses the character's incomplete bytes. */
  private continuationText(publicRow: readonly number[], outcome: DecodingOutcome): string {
    return dropIncompleteTail(this.tokenizer.decodeContinuation(publicRow, outcome.tokenIds), outcome.endsInsideCharacter);
  }

  /**
   * Plain (non-private) generation from one prompt with the KV cache: greedy, sampled at
   * `temperature` (libs/privacy's public-only sampler), or drawn by `request.sampler`, always from
   * the prompt's row alone.
   */
  async generateText(request: GenerateTextRequest): Promise<GeneratedText> {
    requirePositiveInteger('maxNewTokens', request.maxNewTokens);
    const prompt = this.encodePrompt(request.prompt, request.maxNewTokens);
    const vocab = this.info.vocabSize;
    let sampler = request.sampler ?? null;
    if (sampler === null && !request.greedy) {
      if (!request.rng) throw new GenerationError('INVALID_GENERATION_INPUT', 'sampling needs an rng (or greedy: true)');
      const publicTemperature = request.temperature ?? 1;
      const parameters: PublicOnlyParameters = { mechanism: 'public-only', expectedBatchSize: 1, publicTemperature, privateTokenCap: 0 };
      sampler = mechanismRegistry.of(parameters).createSampler(parameters, vocab, request.rng);
    }
    if (sampler !== null && sampler.vocabSize !== vocab) {
      throw new GenerationError('INVALID_GENERATION_INPUT', `the sampler is for a vocabulary of ${sampler.vocabSize} tokens; the model has ${vocab}`);
    }
    const source = createLogitsSource('kv-cache', {
      decoder: this.decoder,
      privateRows: [],
      publicRow: prompt,
      chunkTokens: this.options.prefillChunkTokens,
      padTokenId: this.info.padTokenId,
      vocabSize: vocab,
      maxNewTokens: request.maxNewTokens,
    });
    const eos = new Set(this.info.eosTokenIds);
    const generated: number[] = [];
    let stopReason: GeneratedText['stopReason'] = 'max-new-tokens';
    // The same UTF-8 restriction as generateExample: only tokens that keep the text decodable.
    const guard = new Utf8Guard(this.utf8Table);
    try {
      let logits = await source.start();
      for (;;) {
        const row = logits.subarray(0, vocab);
        const allowed = guard.allowed();
        sampler?.restrictTo(allowed);
        const token = sampler ? sampler.next(row, 0, row).token : argmax(row, allowed);
        if (eos.has(token)) {
          stopReason = 'eos';
          break;
        }
        generated.push(token);
        guard.accept(token);
        if (generated.length >= request.maxNewTokens) break;
        logits = await source.next(token);
      }
    } finally {
      source.dispose();
    }
    return {
      text: dropIncompleteTail(this.tokenizer.decode([...prompt, ...generated]), guard.incomplete),
      continuation: dropIncompleteTail(this.tokenizer.decodeContinuation(prompt, generated), guard.incomplete),
      tokenIds: generated,
      stopReason,
    };
  }

  /** Releases the ONNX Runtime session. */
  async release(): Promise<void> {
    await this.decoder.release();
  }

  private decoderSignature(): OnnxDecoder['signature'] {
    return this.decoder.signature;
  }
}

/** Index of the largest value among the allowed ones; ties go to the smaller index. */
function argmax(values: Float32Array, allowed: Uint8Array): number {
  let best = -1;
  for (let i = 0; i < values.length; i += 1) if (allowed[i] !== 0 && (best < 0 || values[i]! > values[best]!)) best = i;
  if (best >= 0) return best;
  // No token allowed (a vocabulary without byte tokens): unrestricted, as the sampler does.
  best = 0;
  for (let i = 1; i < values.length; i += 1) if (values[i]! > values[best]!) best = i;
  return best;
}

/**
 * Loads a model folder (DESIGN.md section 6) once per process: verifies the manifest's hashes,
 * opens the ONNX session with the configured threads and execution provider, and reads the
 * tokenizer and special tokens.
 */
export function loadModel(dir: string, options: LoadModelOptions = {}): Promise<GenerationModel> {
  return GenerationModel.open(dir, options);
}
