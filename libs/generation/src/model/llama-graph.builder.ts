import { type AggregationSpec } from '@synthgate/privacy';
import { writeAggregation } from './aggregation-graph';
import { type DecoderVariant, isSlidingLayer, type LlamaArchitecture, type LlamaWeights, validateArchitecture, validateWeights } from './llama-architecture';
import { type ExternalDataSink, OnnxGraphWriter } from './onnx-graph.writer';
import { inverseFrequencies, ropePairs } from './rope';
import { transposeMatrix, type WeightStorage, WeightWriter } from './weight-storage';

/** Names of the graph's inputs and outputs: the Optimum / transformers.js decoder layout. */
export const DECODER_IO = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  /** Optional extension (as in transformers): how many trailing positions get logits. */
  numLogitsToKeep: 'num_logits_to_keep',
  logits: 'logits',
  pastKey: (layer: number): string => `past_key_values.${layer}.key`,
  pastValue: (layer: number): string => `past_key_values.${layer}.value`,
  presentKey: (layer: number): string => `present.${layer}.key`,
  presentValue: (layer: number): string => `present.${layer}.value`,
  /** In-place layout only: the keys and values of this call's new positions. */
  newKey: (layer: number): string => `new_key_values.${layer}.key`,
  newValue: (layer: number): string => `new_key_values.${layer}.value`,
} as const;

/**
 * How a graph reads and returns the KV cache.
 * - `concat` (the Optimum / transformers.js layout, what model folders store): `past` holds the
 *   used positions, `present = Concat(past, new)` is returned. Every step copies the whole cache
 *   in the Concat, and onnxruntime-node 1.30 copies every output once more into a fresh buffer.
 * - `in-place` (what the engine runs): `past` is the engine's cache buffer at its current capacity,
 *   empty slots masked by `attention_mask`; only the new positions' keys and values come back
 *   (`new_key_values.*`), and the engine writes them into its buffer. Past and new keys are scored
 *   by two MatMuls, so the cache is never copied inside the graph either.
 */
export type CacheLayout = 'concat' | 'in-place';

/** Options of {@link buildLlamaOnnx}. */
export interface LlamaGraphOptions {
  /**
   * Write float initializers to this sink (ONNX external data) instead of inside the protobuf;
   * required for models over protobuf's 2 GiB limit.
   */
  readonly externalData?: ExternalDataSink | null;
  /** Stored in the model's metadata_props (e.g. the source the weights came from). */
  readonly metadata?: Record<string, string>;
  /**
   * Leave out the `num_logits_to_keep` input and return logits for every position, exactly as an
   * Optimum export does (tests use it to check the runtime handles such graphs).
   */
  readonly allPositionLogits?: boolean;
  /** Default `concat`. */
  readonly cacheLayout?: CacheLayout;
  /** How weight matrices are stored (default `fp32`); see {@link WeightStorage}. */
  readonly weightStorage?: WeightStorage;
  /** Compute this aggregation of the logits in the graph too (see {@link writeDecoderGraph}); default none. */
  readonly aggregation?: AggregationSpec | null;
  /** How q and k are rotated; default {@link defaultRotaryForm} of the layout. */
  readonly rotary?: RotaryForm;
}

/**
 * How the graph applies rotary embeddings to q and k.
 * - `folded` (standard ONNX ops, what model files store): `x cos + (x R) sin`, with the signed
 *   permutation `R` folded into extra columns of the q/k/v projection (`qkv_rotary.weight`).
 * - `contrib` (onnxruntime only): the projection computes plain `[q | k | v]` columns
 *   (`qkv.weight`, the folded matrix without its rotated copies) and one com.microsoft
 *   RotaryEmbedding node rotates q and k from `[maxPositions, rotaryDim / 2]` tables. Measured
 *   (docs/benchmarks/engine.md): 4% off a decode step and 11% off prefill on the default model.
 */
export type RotaryForm = 'folded' | 'contrib';

/** `contrib` for the in-place graph (run only by this engine, on onnxruntime), `folded` for the stored layout other tools read. */
export function defaultRotaryForm(layout: CacheLayout): RotaryForm {
  return layout === 'in-place' ? 'contrib' : 'folded';
}

/**
 * The decoder's shape, everything the graph needs besides its weights (from a
 * {@link LlamaArchitecture}, or read back from a graph this builder wrote).
 */
export type DecoderShape = DecoderVariant &
  Pick<LlamaArchitecture, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'maxPositions' | 'rmsNormEps' | 'attentionBias' | 'qkNorm' | 'rotaryDim'> &
  Partial<Pick<LlamaArchitecture, 'ropeLayout'>> & {
    /** The head reads the embedding (no `lm_head.weight_t` initializer). */
    readonly tiedHead: boolean;
  };

/**
 * Supplies a named float initializer of `dims` and returns its name: computed by `compute` when
 * building from weights, or taken over unchanged from an existing graph.
 */
export type InitializerSource = (name: string, dims: readonly number[], compute: () => Float32Array) => string;

const INT64_MAX = Number.MAX_SAFE_INTEGER;
/**
 * Additive attention bias of a masked key. Finite on purpose: a padded query row masks every key,
 * and softmax over all -Infinity would be NaN, which would then reach real rows as 0 * NaN through
 * the padded slots' values. With -1e9 those rows stay finite and real rows give them weight 0.
 */
const MASKED = -1e9;

/**
 * Builds a Llama-family decoder as ONNX bytes with dynamic batch and sequence axes.
 *
 * Inputs: `input_ids [batch, seq]`, `attention_mask [batch, past + seq]`, `position_ids [batch,
 * seq]`, `past_key_values.{i}.key|value [batch, kvHeads, past, headDim]` (zero-length `past` on
 * the first call) and `num_logits_to_keep` (int64 scalar). Outputs: `logits [batch, keep, vocab]`
 * for the last `keep` positions, `present.{i}.key|value [batch, kvHeads, past + seq, headDim]`.
 *
 * Choices that keep the op count per step low (small models are bound by per-op overhead):
 * - q, k, v and the rotated copies `q R`, `k R` come out of one MatMul: RoPE is
 *   `x cos + (x R) sin` for a fixed signed permutation `R`, so `R` is folded into extra weight
 *   columns. The same folding handles both pair layouts and partial rotary dimensions, and the
 *   attention scale `1/sqrt(headDim)` is folded into the query weights.
 *   (The in-place layout defaults to the {@link RotaryForm} `contrib` instead: plain q, k, v from
 *   one MatMul and one com.microsoft RotaryEmbedding; the stored layout stays in standard ops.)
 * - Grouped-query attention without repeating keys: the queries of each key/value head are
 *   stacked into one `[group * seq, headDim]` matrix per (row, kv head), so attention is two
 *   batched MatMuls over `[batch, kvHeads]`, and the keys' transpose fuses into the first.
 * - gate and up projections share one MatMul.
 * - The causal and padding mask is one additive bias built once per call from `attention_mask`;
 *   slots are causal by cache index, positions come from `position_ids`, so left padding is exact.
 */
export function buildLlamaOnnx(arch: LlamaArchitecture, weights: LlamaWeights, options: LlamaGraphOptions = {}): Uint8Array {
  validateArchitecture(arch);
  validateWeights(arch, weights);
  const g = new OnnxGraphWriter(options.externalData ?? null);
  const shape: DecoderShape = { ...arch, tiedHead: !weights.outputHead };
  const storage = options.weightStorage ?? 'fp32';
  const cacheLayout = options.cacheLayout ?? 'concat';
  const rotary = options.rotary ?? defaultRotaryForm(cacheLayout);
  writeDecoderGraph(g, shape, (name, dims, compute) => g.floatTensor(name, dims, compute()), {
    allPositionLogits: options.allPositionLogits ?? false,
    cacheLayout,
    weightStorage: storage,
    weights: { arch, weights },
    aggregation: options.aggregation ?? null,
    rotary,
  });
  const opsetImports: Record<string, number> = storage === 'int4' || rotary === 'contrib' ? { '': 17, 'com.microsoft': 1 } : { '': 17 };
  const variant = decoderVariantOf(arch);
  return g.encode({
    graphName: DECODER_GRAPH_NAME,
    opsetImports,
    metadata: { ...options.metadata, 'synthgate.weight_storage': storage, ...(variant ? { [DECODER_VARIANT_METADATA]: JSON.stringify(variant) } : {}) },
  });
}

/** metadata_props key holding a graph's {@link DecoderVariant} (JSON), read back by the in-place rebuild. */
export const DECODER_VARIANT_METADATA = 'synthgate.decoder_variant';

/** The variant fields of `arch` that are set, or null for a plain Llama decoder. */
export function decoderVariantOf(arch: DecoderVariant): DecoderVariant | null {
  const keys: (keyof DecoderVariant)[] = ['embeddingScale', 'activation', 'postNorms', 'attentionScale', 'attentionSoftcap', 'finalLogitSoftcap', 'slidingWindow', 'slidingLayers', 'localRopeTheta'];
  const set = keys.filter((key) => arch[key] !== undefined && arch[key] !== null && arch[key] !== false && !(key === 'activation' && arch[key] === 'silu'));
  return set.length ? (Object.fromEntries(set.map((key) => [key, arch[key]])) as DecoderVariant) : null;
}

/** The graph name {@link buildLlamaOnnx} writes; marks graphs whose initializers it knows by name. */
export const DECODER_GRAPH_NAME = 'llama_decoder';

/**
 * Writes the decoder's nodes, inputs and outputs into `g`, taking every float initializer from
 * `initializer` (by its fixed name). `weights` is only needed when `initializer` computes them.
 * `fp16` and `int4` storage (default `fp32`) write their weight matrices and embedding from
 * `weights` through a {@link WeightWriter}, so they need `weights`; norms, rotary tables and biases
 * still come from `initializer`.
 */
export function writeDecoderGraph(
  g: OnnxGraphWriter,
  shape: DecoderShape,
  initializer: InitializerSource,
  options: {
    readonly allPositionLogits: boolean;
    readonly cacheLayout: CacheLayout;
    readonly weightStorage?: WeightStorage;
    readonly weights?: { arch: LlamaArchitecture; weights: LlamaWeights };
    /**
     * Also compute libs/privacy's aggregation of the logits in the graph (aggregation-graph.ts):
     * extra inputs `aggregation_rows` and `aggregation.*`, outputs `aggregate.*`. Needs
     * `num_logits_to_keep` (ignored with `allPositionLogits`).
     */
    readonly aggregation?: AggregationSpec | null;
    /** Default `folded`; `contrib` needs the shape's `ropeLayout`. */
    readonly rotary?: RotaryForm;
  },
): void {
  const contribRotary = options.rotary === 'contrib';
  if (contribRotary && !shape.ropeLayout) throw new Error('writeDecoderGraph: the contrib rotary form needs the rope layout');
  const arch = shape;
  const source = (): { arch: LlamaArchitecture; weights: LlamaWeights } => {
    if (!options.weights) throw new Error('writeDecoderGraph: an initializer asked for weights that were not given');
    return options.weights;
  };
  const inPlace = options.cacheLayout === 'in-place';
  const storage = options.weightStorage ?? 'fp32';
  const w = new WeightWriter(g, storage);
  // `x W` for the named `[inFeatures, outFeatures]` matrix: fp32 takes it from `initializer`.
  const matMul = (x: string, name: string, inFeatures: number, outFeatures: number, compute: () => Float32Array, output?: string): string =>
    storage === 'fp32'
      ? g.op1('MatMul', [x, initializer(name, [inFeatures, outFeatures], compute)], {}, output ? { name: output } : {})
      : w.matMul(x, name, inFeatures, outFeatures, compute(), output);
  const d = arch.hiddenSize;
  const hd = arch.headDim;
  const nH = arch.numHeads;
  const nKv = arch.numKvHeads;
  const group = nH / nKv;
  const inter = arch.intermediateSize;

  const inputIds = g.input(DECODER_IO.inputIds, 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = g.input(DECODER_IO.attentionMask, 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = g.input(DECODER_IO.positionIds, 'int64', ['batch_size', 'sequence_length']);
  for (let i = 0; i < arch.numLayers; i += 1) {
    const pastAxis = inPlace ? 'past_capacity' : 'past_sequence_length';
    g.input(DECODER_IO.pastKey(i), 'float32', ['batch_size', nKv, pastAxis, hd]);
    g.input(DECODER_IO.pastValue(i), 'float32', ['batch_size', nKv, pastAxis, hd]);
  }
  const keep = options.allPositionLogits ? null : g.input(DECODER_IO.numLogitsToKeep, 'int64', []);

  // Embedding and rotary tables.
  const embedding =
    storage === 'fp32'
      ? initializer('model.embed_tokens.weight', [arch.vocabSize, d], () => source().weights.tokenEmbedding)
      : w.embeddingTable('model.embed_tokens.weight', arch.vocabSize, d, source().weights.tokenEmbedding);
  let hidden = w.gather(embedding, inputIds);
  // Gemma scales the embedding by sqrt(hidden) (a float32 constant, as transformers rounds it).
  if (arch.embeddingScale) hidden = g.op1('Mul', [hidden, g.floatConstant([arch.embeddingScale])]);
  // The folded form gathers each position's row of the [maxPositions, headDim] tables; the contrib
  // form reads its own half tables (see rotaryHalfTables) and never these.
  let globalRotary = { cos: '', sin: '' };
  let localRotary = globalRotary;
  if (!contribRotary) {
    initializer('rotary.cos', [arch.maxPositions, hd], () => rotaryTables(source().arch).cos);
    initializer('rotary.sin', [arch.maxPositions, hd], () => rotaryTables(source().arch).sin);
    const axis2 = g.int64Tensor([1], [2]);
    const tableAt = (table: string): string => g.op1('Unsqueeze', [g.op1('Gather', [table, positionIds], { axis: { int: 0 } }), axis2]);
    globalRotary = { cos: tableAt('rotary.cos'), sin: tableAt('rotary.sin') };
    localRotary = globalRotary;
    // Gemma 3's sliding layers rotate with their own base and no scaling: a second pair of tables.
    if (arch.localRopeTheta) {
      const local = (): { cos: Float32Array; sin: Float32Array } => rotaryTables({ ...source().arch, ropeTheta: arch.localRopeTheta!, ropeScaling: null });
      initializer('rotary_local.cos', [arch.maxPositions, hd], () => local().cos);
      initializer('rotary_local.sin', [arch.maxPositions, hd], () => local().sin);
      localRotary = { cos: tableAt('rotary_local.cos'), sin: tableAt('rotary_local.sin') };
    }
  }

  // Attention bias [batch, 1, group * seq, total] (queries are grouped per key/value head, group
  // major): key slot t is visible to query slot p + s iff t <= p + s (causal by slot) and
  // attention_mask[b, t] = 1.
  const total = g.op1('Shape', [attentionMask], { start: { int: 1 } });
  const seq = g.op1('Shape', [inputIds], { start: { int: 1 } });
  const past = g.op1('Sub', [total, seq]);
  const axis0 = g.int64Tensor([1], [0]);
  const totalScalar = g.op1('Squeeze', [total, axis0]);
  const pastScalar = g.op1('Squeeze', [past, axis0]);
  const zero = g.int64Tensor([], [0]);
  const one = g.int64Tensor([], [1]);
  const keySlots = g.op1('Range', [zero, totalScalar, one]);
  const querySlots = g.op1('Unsqueeze', [
    g.op1('Tile', [g.op1('Range', [pastScalar, totalScalar, one]), g.int64Tensor([1], [group])]),
    g.int64Tensor([1], [1]),
  ]);
  const causal = g.op1('LessOrEqual', [keySlots, querySlots]);
  const keyVisible = g.op1('Unsqueeze', [g.op1('Cast', [attentionMask], { to: { int: 9 } }), g.int64Tensor([2], [1, 2])]);
  const visible = g.op1('And', [keyVisible, causal]);
  const bias = g.op1('Where', [visible, g.floatConstant([0]), g.floatConstant([MASKED])]);
  // Sliding layers also hide keys `window` or more positions behind the query. Positions, not
  // slots: a key's position is its row's count of unmasked slots before it (empty cache slots and
  // left padding do not count), the query's is position_ids, tiled like the grouped queries.
  let slidingBias = bias;
  if (arch.slidingWindow && Array.from({ length: arch.numLayers }, (_, i) => isSlidingLayer(arch, i)).some(Boolean)) {
    const keyPositions = g.op1('Unsqueeze', [g.op1('CumSum', [attentionMask, g.int64Tensor([], [1])]), g.int64Tensor([1], [1])]); // [batch, 1, total], position + 1
    const queryPositions = g.op1('Unsqueeze', [g.op1('Tile', [positionIds, g.int64Tensor([2], [1, group])]), g.int64Tensor([1], [2])]); // [batch, group * seq, 1]
    // position(key) = keyPositions - 1 > position(query) - window
    const inWindow = g.op1('Greater', [keyPositions, g.op1('Sub', [queryPositions, g.int64Tensor([], [arch.slidingWindow - 1])])]);
    const slidingVisible = g.op1('And', [visible, g.op1('Unsqueeze', [inWindow, g.int64Tensor([1], [1])])]);
    slidingBias = g.op1('Where', [slidingVisible, g.floatConstant([0]), g.floatConstant([MASKED])]);
  }
  const softcap = (scores: string): string =>
    arch.attentionSoftcap ? g.op1('Mul', [g.op1('Tanh', [g.op1('Div', [scores, g.floatConstant([arch.attentionSoftcap])])]), g.floatConstant([arch.attentionSoftcap])]) : scores;
  // In-place layout: `past` is the cache's capacity (used slots plus masked empty ones); every
  // past slot precedes the new positions, so the causal rule above holds unchanged.
  const pastAndNew = g.op1('Concat', [past, seq], { axis: { int: 0 } });

  const qkWidth = (nH + nKv) * hd;
  const splitQkv = contribRotary
    ? g.int64Tensor([arch.qkNorm ? 3 : 2], arch.qkNorm ? [qkWidth, nKv * hd, qkWidth] : [qkWidth, nKv * hd])
    : g.int64Tensor([arch.qkNorm ? 4 : 3], arch.qkNorm ? [qkWidth, qkWidth, nKv * hd, qkWidth] : [qkWidth, qkWidth, nKv * hd]);
  const splitHeads = g.int64Tensor([2], [nH, nKv]);
  const splitMlp = g.int64Tensor([2], [inter, inter]);
  const headsShape = g.int64Tensor([4], [0, 0, -1, hd]);
  const groupedShape = g.int64Tensor([5], [0, 0, nKv, group, hd]);
  const queriesShape = g.int64Tensor([4], [0, 0, -1, hd]);
  const ungroupShape = g.int64Tensor([5], [0, 0, group, -1, hd]);
  const mergeShape = g.int64Tensor([3], [0, 0, -1]);
  const kvShape = g.int64Tensor([4], [0, 0, nKv, hd]);

  const halfTables = contribRotary ? rotaryHalfTables(shape, initializer, source) : null;

  for (let i = 0; i < arch.numLayers; i += 1) {
    const layer = (): LlamaWeights['layers'][number] => source().weights.layers[i]!;
    const prefix = `model.layers.${i}`;
    const x = rmsNorm(g, hidden, initializer(`${prefix}.input_layernorm.weight`, [d], () => layer().attentionNorm), arch.rmsNormEps);
    let fusedOnce: ReturnType<typeof fusedAttentionProjection> | null = null;
    const fused = (): ReturnType<typeof fusedAttentionProjection> => (fusedOnce ??= fusedAttentionProjection(source().arch, layer()));
    const qkvWidth = 2 * qkWidth + nKv * hd + (arch.qkNorm ? qkWidth : 0);
    const sliding = isSlidingLayer(arch, i);
    const rotary = sliding ? localRotary : globalRotary;
    const layerBias = sliding ? slidingBias : bias;
    let rotated: string;
    let value: string;
    let qkRaw: string | undefined;
    if (halfTables) {
      // [q | k | v (| raw q | raw k)]: the folded projection without its rotated copies.
      const plainWidth = qkvWidth - qkWidth;
      let qkv = matMul(x, `${prefix}.self_attn.qkv.weight`, d, plainWidth, () => unrotatedColumns(fused().weight, shape));
      if (arch.attentionBias) qkv = g.op1('Add', [qkv, initializer(`${prefix}.self_attn.qkv.bias`, [plainWidth], () => unrotatedColumns(fused().bias!, shape))]);
      const [qk, v, raw] = g.op('Split', [qkv, splitQkv], { axis: { int: -1 } }, { outputs: arch.qkNorm ? 3 : 2 }) as [string, string, string | undefined];
      value = v;
      qkRaw = raw;
      // q and k as nH + nKv heads of one [batch, seq, (nH + nKv) headDim] tensor.
      const tables = sliding && halfTables.local ? halfTables.local : halfTables.global;
      const attributes = { interleaved: { int: shape.ropeLayout === 'interleaved' ? 1 : 0 }, num_heads: { int: nH + nKv }, rotary_embedding_dim: { int: halfTables.rotaryDim } };
      rotated = g.op1('Reshape', [g.op1('RotaryEmbedding', [qk, positionIds, tables.cos, tables.sin], attributes, { domain: 'com.microsoft' }), headsShape]);
    } else {
      let qkv = matMul(x, `${prefix}.self_attn.qkv_rotary.weight`, d, qkvWidth, () => fused().weight);
      if (arch.attentionBias) qkv = g.op1('Add', [qkv, initializer(`${prefix}.self_attn.qkv_rotary.bias`, [qkvWidth], () => fused().bias!)]);
      const [qk, qkRotated, v, raw] = g.op('Split', [qkv, splitQkv], { axis: { int: -1 } }, { outputs: arch.qkNorm ? 4 : 3 }) as [string, string, string, string | undefined];
      value = v;
      qkRaw = raw;
      rotated = g.op1('Add', [
        g.op1('Mul', [g.op1('Reshape', [qk, headsShape]), rotary.cos]),
        g.op1('Mul', [g.op1('Reshape', [qkRotated, headsShape]), rotary.sin]),
      ]);
    }
    if (qkRaw) {
      // Each head's RMS from the raw q and k: the norm's division, after the (linear) rotation.
      const raw = g.op1('Reshape', [qkRaw, headsShape]);
      const meanSquare = g.op1('ReduceMean', [g.op1('Mul', [raw, raw])], { axes: { ints: [-1] }, keepdims: { int: 1 } });
      rotated = g.op1('Div', [rotated, g.op1('Sqrt', [g.op1('Add', [meanSquare, g.floatConstant([arch.rmsNormEps])])])]);
    }
    const [query, key] = g.op('Split', [rotated, splitHeads], { axis: { int: 2 } }, { outputs: 2 }) as [string, string];
    // [batch, kvHeads, group * seq, headDim]: each key/value head's queries in one matrix.
    const queries = g.op1('Reshape', [g.op1('Transpose', [g.op1('Reshape', [query, groupedShape])], { perm: { ints: [0, 2, 3, 1, 4] } }), queriesShape]);
    const newKey = g.op1('Transpose', [key], { perm: { ints: [0, 2, 1, 3] } }, inPlace ? { name: DECODER_IO.newKey(i) } : {});
    const newValue = g.op1('Transpose', [g.op1('Reshape', [value, kvShape])], { perm: { ints: [0, 2, 1, 3] } }, inPlace ? { name: DECODER_IO.newValue(i) } : {});
    let context: string;
    if (inPlace) {
      // Past slots and new positions are scored by separate MatMuls (ORT fuses each key Transpose
      // into a FusedMatMul with transB), so the cache buffer is only read, never copied. Only the
      // [group * seq, capacity + seq] scores are joined for one Softmax.
      const scores = g.op1('Add', [
        softcap(
          g.op1(
            'Concat',
            [
              g.op1('MatMul', [queries, g.op1('Transpose', [DECODER_IO.pastKey(i)], { perm: { ints: [0, 1, 3, 2] } })]),
              g.op1('MatMul', [queries, g.op1('Transpose', [newKey], { perm: { ints: [0, 1, 3, 2] } })]),
            ],
            { axis: { int: -1 } },
          ),
        ),
        layerBias,
      ]);
      const [pastProbs, newProbs] = g.op('Split', [g.op1('Softmax', [scores], { axis: { int: -1 } }), pastAndNew], { axis: { int: -1 } }, { outputs: 2 }) as [string, string];
      context = g.op1('Add', [g.op1('MatMul', [pastProbs, DECODER_IO.pastValue(i)]), g.op1('MatMul', [newProbs, newValue])]);
    } else {
      const presentKey = g.op1('Concat', [DECODER_IO.pastKey(i), newKey], { axis: { int: 2 } }, { name: DECODER_IO.presentKey(i) });
      const presentValue = g.op1('Concat', [DECODER_IO.pastValue(i), newValue], { axis: { int: 2 } }, { name: DECODER_IO.presentValue(i) });
      // ORT fuses Transpose + MatMul into one FusedMatMul (transB): the cache is not copied again.
      const scores = g.op1('Add', [softcap(g.op1('MatMul', [queries, g.op1('Transpose', [presentKey], { perm: { ints: [0, 1, 3, 2] } })])), layerBias]);
      context = g.op1('MatMul', [g.op1('Softmax', [scores], { axis: { int: -1 } }), presentValue]);
    }
    context = g.op1('Reshape', [context, ungroupShape]);
    const merged = g.op1('Reshape', [g.op1('Transpose', [context], { perm: { ints: [0, 3, 1, 2, 4] } }), mergeShape]);
    let attnOut = matMul(merged, `${prefix}.self_attn.o_proj.weight_t`, nH * hd, d, () => transposeMatrix(layer().output, d, nH * hd));
    if (arch.postNorms) attnOut = rmsNorm(g, attnOut, initializer(`${prefix}.post_attention_output_norm.weight`, [d], () => layer().postAttentionNorm!), arch.rmsNormEps);
    hidden = g.op1('Add', [hidden, attnOut]);

    const y = rmsNorm(g, hidden, initializer(`${prefix}.post_attention_layernorm.weight`, [d], () => layer().mlpNorm), arch.rmsNormEps);
    const gateUp = matMul(y, `${prefix}.mlp.gate_up.weight_t`, d, 2 * inter, () => concatTransposed([layer().gate, layer().up], inter, d));
    const [gate, up] = g.op('Split', [gateUp, splitMlp], { axis: { int: -1 } }, { outputs: 2 }) as [string, string];
    const activated = g.op1('Mul', [arch.activation === 'gelu-tanh' ? geluTanh(g, gate) : g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]), up]);
    let down = matMul(activated, `${prefix}.mlp.down_proj.weight_t`, inter, d, () => transposeMatrix(layer().down, d, inter));
    if (arch.postNorms) down = rmsNorm(g, down, initializer(`${prefix}.post_mlp_output_norm.weight`, [d], () => layer().postMlpNorm!), arch.rmsNormEps);
    hidden = g.op1('Add', [hidden, down]);
  }

  // Only the last `num_logits_to_keep` positions reach the head: prefill of a long prompt needs
  // one row of logits, not seq x vocab of them.
  const tail = keep ? g.op1('Slice', [hidden, g.op1('Neg', [g.op1('Unsqueeze', [keep, axis0])]), g.int64Tensor([1], [INT64_MAX]), g.int64Tensor([1], [1])]) : hidden;
  const normed = rmsNorm(g, tail, initializer('model.norm.weight', [d], () => source().weights.finalNorm), arch.rmsNormEps);
  // A tied head reads the embedding table (through a Transpose, folded by ORT when the session
  // loads, in fp32 and fp16), so the file holds the matrix once; int4 stores a quantised copy.
  const cap = arch.finalLogitSoftcap;
  const headOutput = cap ? 'logits_before_softcap' : DECODER_IO.logits;
  if (!arch.tiedHead) matMul(normed, 'lm_head.weight_t', d, arch.vocabSize, () => transposeMatrix(source().weights.outputHead!, arch.vocabSize, d), headOutput);
  else {
    // Only int4 reads the matrix (to quantise it); fp32 and fp16 read `embedding` in the graph.
    const table = storage === 'int4' ? source().weights.tokenEmbedding : new Float32Array(0);
    w.matMulTransposed(normed, 'lm_head.weight', arch.vocabSize, d, table, embedding, headOutput);
  }
  if (cap) g.op1('Mul', [g.op1('Tanh', [g.op1('Div', [headOutput, g.floatConstant([cap])])]), g.floatConstant([cap])], {}, { name: DECODER_IO.logits });

  g.output(DECODER_IO.logits, 'float32', ['batch_size', 'num_logits', arch.vocabSize]);
  if (options.aggregation && keep) writeAggregation(g, options.aggregation, DECODER_IO.logits, arch.vocabSize);
  for (let i = 0; i < arch.numLayers; i += 1) {
    if (inPlace) {
      g.output(DECODER_IO.newKey(i), 'float32', ['batch_size', nKv, 'sequence_length', hd]);
      g.output(DECODER_IO.newValue(i), 'float32', ['batch_size', nKv, 'sequence_length', hd]);
    } else {
      g.output(DECODER_IO.presentKey(i), 'float32', ['batch_size', nKv, 'total_sequence_length', hd]);
      g.output(DECODER_IO.presentValue(i), 'float32', ['batch_size', nKv, 'total_sequence_length', hd]);
    }
  }
}

/**
 * The folded projection `[rows, 2 (nH + nKv) hd + nKv hd (+ (nH + nKv) hd)]` (a matrix, or its
 * bias with `rows` 1) without the rotated q/k columns: `[q | k | v (| raw q | raw k)]`, the
 * {@link RotaryForm} `contrib` projection. Exact copies of the folded matrix's columns, so the
 * in-place rebuild derives it from a stored graph.
 */
export function unrotatedColumns(folded: Float32Array, shape: Pick<DecoderShape, 'numHeads' | 'numKvHeads' | 'headDim' | 'qkNorm'>): Float32Array {
  const qk = (shape.numHeads + shape.numKvHeads) * shape.headDim;
  const width = 2 * qk + shape.numKvHeads * shape.headDim + (shape.qkNorm ? qk : 0);
  const rows = folded.length / width;
  const kept = width - qk;
  const out = new Float32Array(rows * kept);
  for (let r = 0; r < rows; r += 1) {
    out.set(folded.subarray(r * width, r * width + qk), r * kept);
    out.set(folded.subarray(r * width + 2 * qk, (r + 1) * width), r * kept + qk);
  }
  return out;
}

/**
 * A `[maxPositions, headDim]` rotary table (both members of a pair hold the pair's value) as the
 * `[maxPositions, rotaryDim / 2]` cache com.microsoft RotaryEmbedding reads: one column per pair.
 */
export function halfRotaryTable(table: Float32Array, shape: Pick<LlamaArchitecture, 'maxPositions' | 'headDim' | 'ropeLayout' | 'rotaryDim'>): Float32Array {
  const pairs = ropePairs(shape);
  const out = new Float32Array(shape.maxPositions * pairs.length);
  for (let p = 0; p < shape.maxPositions; p += 1) pairs.forEach((pair, i) => (out[p * pairs.length + i] = table[p * shape.headDim + pair.first]!));
  return out;
}

/** The half tables of {@link RotaryForm} `contrib` (sliding layers of Gemma 3 get their own). */
function rotaryHalfTables(
  shape: DecoderShape,
  initializer: InitializerSource,
  source: () => { arch: LlamaArchitecture; weights: LlamaWeights },
): { global: { cos: string; sin: string }; local: { cos: string; sin: string } | null; rotaryDim: number } {
  const rope = { ...shape, ropeLayout: shape.ropeLayout! };
  const dims = [shape.maxPositions, ropePairs(rope).length];
  const half = (table: Float32Array): Float32Array => halfRotaryTable(table, rope);
  const global = { cos: initializer('rotary.cos_half', dims, () => half(rotaryTables(source().arch).cos)), sin: initializer('rotary.sin_half', dims, () => half(rotaryTables(source().arch).sin)) };
  let local: { cos: string; sin: string } | null = null;
  if (shape.localRopeTheta) {
    const tables = (): { cos: Float32Array; sin: Float32Array } => rotaryTables({ ...source().arch, ropeTheta: shape.localRopeTheta!, ropeScaling: null });
    local = { cos: initializer('rotary_local.cos_half', dims, () => half(tables().cos)), sin: initializer('rotary_local.sin_half', dims, () => half(tables().sin)) };
  }
  return { global, local, rotaryDim: 2 * dims[1]! };
}

/** RMSNorm in basic ops, written as the Pow-ReduceMean-Add-Sqrt-Div-Mul pattern ORT fuses into one SimplifiedLayerNormalization. */
function rmsNorm(g: OnnxGraphWriter, x: string, weight: string, eps: number): string {
  const meanSquare = g.op1('ReduceMean', [g.op1('Pow', [x, g.floatConstant([2])])], { axes: { ints: [-1] }, keepdims: { int: 1 } });
  const rms = g.op1('Sqrt', [g.op1('Add', [meanSquare, g.floatConstant([eps])])]);
  return g.op1('Mul', [g.op1('Div', [x, rms]), weight]);
}

/** GELU with the tanh approximation (PyTorch's `gelu(approximate='tanh')`): `x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`. */
function geluTanh(g: OnnxGraphWriter, x: string): string {
  const cube = g.op1('Mul', [g.op1('Mul', [x, x]), x]);
  const inner = g.op1('Mul', [g.op1('Add', [x, g.op1('Mul', [cube, g.floatConstant([0.044715])])]), g.floatConstant([Math.sqrt(2 / Math.PI)])]);
  return g.op1('Mul', [g.op1('Mul', [x, g.floatConstant([0.5])]), g.op1('Add', [g.op1('Tanh', [inner]), g.floatConstant([1])])]);
}

/**
 * cos/sin tables `[maxPositions, headDim]`: both members of a rotating pair share the pair's
 * angle; dimensions outside the rotary part get cos 1, sin 0 (they pass through unchanged).
 */
export function rotaryTables(arch: LlamaArchitecture): { cos: Float32Array; sin: Float32Array } {
  const hd = arch.headDim;
  const inv = inverseFrequencies(arch);
  const pairs = ropePairs(arch);
  const cos = new Float32Array(arch.maxPositions * hd).fill(1);
  const sin = new Float32Array(arch.maxPositions * hd);
  for (let p = 0; p < arch.maxPositions; p += 1) {
    for (const pair of pairs) {
      const angle = p * inv[pair.frequency]!;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * hd + pair.first] = c;
      cos[p * hd + pair.second] = c;
      sin[p * hd + pair.first] = s;
      sin[p * hd + pair.second] = s;
    }
  }
  return { cos, sin };
}

/**
 * The fused `[hidden, 2 (nH + nKv) hd + nKv hd]` projection `[q | k | qR | kR | v]` (input-major,
 * ready for MatMul) and its bias; with q/k norms `[q w | k w | (q w)R | (k w)R | v | q | k]`. `(xR)_first = -x_second`, `(xR)_second = x_first` per pair.
 */
function fusedAttentionProjection(
  arch: LlamaArchitecture,
  layer: LlamaWeights['layers'][number],
): { weight: Float32Array; bias: Float32Array | null } {
  const d = arch.hiddenSize;
  const hd = arch.headDim;
  const scale = arch.attentionScale ?? 1 / Math.sqrt(hd);
  const qRows = arch.numHeads * hd;
  const kvRows = arch.numKvHeads * hd;
  const width = 2 * (qRows + kvRows) + kvRows + (arch.qkNorm ? qRows + kvRows : 0);
  const weight = new Float32Array(d * width);
  const bias = arch.attentionBias ? new Float32Array(width) : null;
  // rotatedSource[j] = (source row, sign) feeding rotated dimension j of a head; sign 0 = none.
  const rotatedSource: { row: number; sign: number }[] = Array.from({ length: hd }, () => ({ row: 0, sign: 0 }));
  for (const pair of ropePairs(arch)) {
    rotatedSource[pair.first] = { row: pair.second, sign: -1 };
    rotatedSource[pair.second] = { row: pair.first, sign: 1 };
  }
  // With per-head q/k norms (Qwen3), the plain and rotated q/k columns carry the norm's weights
  // (a per-dimension factor commutes into the weights, and the rotation R only moves dimensions),
  // and raw q/k columns are appended so the graph can divide by each head's RMS.
  const norms = arch.qkNorm;
  const place = (
    source: Float32Array,
    sourceBias: Float32Array | null | undefined,
    rows: number,
    column: number,
    factor: number,
    rotate: boolean,
    norm: Float32Array | null | undefined = null,
  ): void => {
    for (let o = 0; o < rows; o += 1) {
      let row = o;
      let sign = 1;
      if (rotate) {
        const head = Math.floor(o / hd);
        const src = rotatedSource[o % hd]!;
        row = head * hd + src.row;
        sign = src.sign;
      }
      const f = sign * factor * (norm ? norm[row % hd]! : 1);
      const col = column + o;
      for (let j = 0; j < d; j += 1) weight[j * width + col] = f === 0 ? 0 : source[row * d + j]! * f;
      if (bias && sourceBias) bias[col] = f === 0 ? 0 : sourceBias[row]! * f;
    }
  };
  place(layer.query, layer.queryBias, qRows, 0, scale, false, norms ? layer.queryNorm : null);
  place(layer.key, layer.keyBias, kvRows, qRows, 1, false, norms ? layer.keyNorm : null);
  place(layer.query, layer.queryBias, qRows, qRows + kvRows, scale, true, norms ? layer.queryNorm : null);
  place(layer.key, layer.keyBias, kvRows, 2 * qRows + kvRows, 1, true, norms ? layer.keyNorm : null);
  place(layer.value, layer.valueBias, kvRows, 2 * (qRows + kvRows), 1, false);
  if (norms) {
    place(layer.query, layer.queryBias, qRows, 2 * (qRows + kvRows) + kvRows, 1, false);
    place(layer.key, layer.keyBias, kvRows, 3 * qRows + 3 * kvRows, 1, false);
  }
  return { weight, bias };
}

/** Several `(rows, cols)` matrices stacked by rows, then transposed: `[cols, k * rows]`. */
function concatTransposed(sources: readonly Float32Array[], rows: number, cols: number): Float32Array {
  const width = rows * sources.length;
  const out = new Float32Array(cols * width);
  sources.forEach((source, k) => {
    for (let r = 0; r < rows; r += 1) {
      for (let c = 0; c < cols; c += 1) out[c * width + k * rows + r] = source[r * cols + c]!;
    }
  });
  return out;
}
