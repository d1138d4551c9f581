import { TOKEN_AGGREGATION } from '@synthgate/privacy';
import { onnx } from 'onnx-proto';
import { GenerationError } from '../generation.errors';
import { type DecoderVariant, type LlamaArchitecture, type RopeLayout } from './llama-architecture';
import { DECODER_GRAPH_NAME, DECODER_IO, DECODER_VARIANT_METADATA, type DecoderShape, halfRotaryTable, type RotaryForm, unrotatedColumns, writeDecoderGraph } from './llama-graph.builder';
import { OnnxGraphWriter } from './onnx-graph.writer';
import { ropePairs } from './rope';

/**
 * The in-place-cache variant (see {@link CacheLayout}) of a decoder graph that
 * {@link buildLlamaOnnx} wrote in the stored `concat` layout, built from the stored graph's own
 * initializers (taken over byte for byte, so the weights and the model's fingerprint are those of
 * the file). Model folders keep the standard layout other tools read; the engine runs this one.
 *
 * q and k rotate in com.microsoft RotaryEmbedding ({@link RotaryForm} `contrib`, faster on the
 * CPU): its projection and tables are exact column copies of the stored folded projection and
 * rotary tables, and which dimensions pair up is read back from them ({@link readRope}); when it
 * cannot be, or `options.rotary` is `folded` (benchmarks), the stored folded rotation is kept.
 *
 * Returns null for any other graph (an Optimum export, a graph whose weights live in external
 * data): those run in the `concat` layout as stored. So do graphs whose weights are stored in
 * fp16 or int4 (`synthgate.weight_storage`): their matrices are float16 tensors behind a Cast or
 * MatMulNBits inputs, which {@link writeDecoderGraph} only writes from weights, not from a file's
 * initializers; rebuilding them in place is not done yet. Qwen3 q/k norms are rebuilt (the norm's
 * weights live in the fused projection).
 *
 * Unless `options.aggregation` is false, the variant also computes libs/privacy's token aggregation
 * ({@link TOKEN_AGGREGATION}) from its logits, so the engine can fetch two vectors of length V per
 * step instead of the private rows' logits (aggregation-graph.ts).
 */
export function inPlaceVariantOf(modelBytes: Uint8Array, options: { readonly aggregation?: boolean; readonly rotary?: RotaryForm } = {}): Uint8Array | null {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(modelBytes);
  } catch {
    return null;
  }
  const graph = model.graph;
  if (!graph || graph.name !== DECODER_GRAPH_NAME || model.producerName !== 'synthgate') return null;
  const storage = model.metadataProps.find((p) => p.key === 'synthgate.weight_storage')?.value;
  if (storage !== undefined && storage !== null && storage !== 'fp32') return null;
  const initializers = graph.initializer ?? [];
  const tensors = new Map(initializers.map((t) => [t.name ?? '', t]));
  if (!tensors.has('model.layers.0.self_attn.qkv_rotary.weight')) return null;
  if (initializers.some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)) return null;
  if (tensors.get('model.embed_tokens.weight')?.dataType !== onnx.TensorProto.DataType.FLOAT) return null;
  // Gemma's and Mistral's differences from Llama are recorded by the builder, not guessed from nodes.
  const variantJson = model.metadataProps.find((p) => p.key === DECODER_VARIANT_METADATA)?.value;
  let variant: DecoderVariant = {};
  try {
    variant = variantJson ? (JSON.parse(variantJson) as DecoderVariant) : {};
  } catch {
    return null;
  }
  const stored: DecoderShape = { ...readShape(graph, tensors), ...variant };
  // RotaryEmbedding (the `contrib` rotary form) when the stored tables and the folded projection
  // say which dimensions rotate together; otherwise the folded form, as stored.
  const rope = options.rotary === 'folded' ? null : readRope(tensors, stored);
  const shape: DecoderShape = rope ? { ...stored, ...rope } : stored;
  const g = new OnnxGraphWriter();
  writeDecoderGraph(
    g,
    shape,
    (name, dims) => {
      const tensor = tensors.get(name);
      if (!tensor && rope) {
        const derived = derivedInitializer(tensors, name, { ...shape, ...rope });
        if (derived) return g.floatTensor(name, dims, derived);
      }
      const storedDims = tensor?.dims?.map(Number) ?? [];
      if (!tensor || storedDims.length !== dims.length || storedDims.some((d, i) => d !== dims[i])) {
        throw new GenerationError('MODEL_CONTRACT_VIOLATION', `the stored decoder's initializer ${name} is missing or not [${dims.join(', ')}]`);
      }
      return g.existingTensor(tensor);
    },
    {
      allPositionLogits: !(graph.input ?? []).some((i) => i.name === DECODER_IO.numLogitsToKeep),
      cacheLayout: 'in-place',
      weightStorage: 'fp32',
      aggregation: options.aggregation === false ? null : TOKEN_AGGREGATION,
      rotary: rope ? 'contrib' : 'folded',
    },
  );
  const metadata = Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  const opset = Object.fromEntries(model.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]));
  if (rope) opset['com.microsoft'] ??= 1;
  return g.encode({ graphName: DECODER_GRAPH_NAME, opsetImports: opset, metadata });
}

/** A stored float32 initializer's values (a copy). */
function floatsOf(tensors: Map<string, onnx.ITensorProto>, name: string): Float32Array | null {
  const tensor = tensors.get(name);
  if (!tensor || tensor.dataType !== onnx.TensorProto.DataType.FLOAT) return null;
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    const bytes = Uint8Array.from(tensor.rawData); // a copy, aligned (rawData may be a view into the file)
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
  return tensor.floatData ? Float32Array.from(tensor.floatData) : null;
}

/**
 * The initializers of the `contrib` rotary form, taken from the stored folded ones: the projection
 * without its rotated columns, and one column per rotating pair of the rotary tables.
 */
function derivedInitializer(tensors: Map<string, onnx.ITensorProto>, name: string, shape: DecoderShape & Pick<LlamaArchitecture, 'ropeLayout'>): Float32Array | null {
  const projection = /^(model\.layers\.\d+\.self_attn)\.qkv\.(weight|bias)$/.exec(name);
  if (projection) {
    const folded = floatsOf(tensors, `${projection[1]}.qkv_rotary.${projection[2]}`);
    return folded && unrotatedColumns(folded, shape);
  }
  const table = /^(rotary(?:_local)?)\.(cos|sin)_half$/.exec(name);
  if (table) {
    const full = floatsOf(tensors, `${table[1]}.${table[2]}`);
    return full && halfRotaryTable(full, shape);
  }
  return null;
}

/**
 * Which dimensions rotate together, read back from a stored graph: the rotary dimensions are
 * those whose sine is not 0 at position 1, and the layout is the one whose pairs the folded
 * projection of layer 0 holds exactly (the rotated column of a pair's first dimension is the
 * negated column of its second, and the other way round with a plus) and whose pairs share their
 * angle in every table. Null when no layout fits: the graph then keeps its folded rotation.
 */
function readRope(tensors: Map<string, onnx.ITensorProto>, shape: DecoderShape): { ropeLayout: RopeLayout; rotaryDim: number } | null {
  const hd = shape.headDim;
  const sin = floatsOf(tensors, 'rotary.sin');
  const weight = floatsOf(tensors, 'model.layers.0.self_attn.qkv_rotary.weight');
  if (!sin || !weight || shape.maxPositions < 2 || sin.length !== shape.maxPositions * hd) return null;
  let rotaryDim = 0;
  while (rotaryDim < hd && sin[hd + rotaryDim] !== 0) rotaryDim += 1;
  if (rotaryDim === 0 || rotaryDim % 2 !== 0) return null;
  for (let j = rotaryDim; j < hd; j += 1) if (sin[hd + j] !== 0) return null;
  const tables = ['rotary.cos', 'rotary.sin', 'rotary_local.cos', 'rotary_local.sin'].map((name) => floatsOf(tensors, name)).filter((t): t is Float32Array => t !== null);
  const heads = shape.numHeads + shape.numKvHeads;
  const qk = heads * hd;
  const width = weight.length / shape.hiddenSize;
  for (const ropeLayout of ['rotate-half', 'interleaved'] as const) {
    const pairs = ropePairs({ headDim: hd, rotaryDim, ropeLayout });
    const tablesFit = (): boolean => {
      for (const t of tables) {
        for (let at = 0; at < t.length; at += hd) for (const p of pairs) if (t[at + p.first] !== t[at + p.second]) return false;
      }
      return true;
    };
    const foldedFits = (): boolean => {
      for (let row = 0; row < shape.hiddenSize; row += 1) {
        const at = row * width;
        for (let h = 0; h < heads; h += 1) {
          for (const p of pairs) {
            const plain = at + h * hd;
            const rotated = at + qk + h * hd;
            if (weight[rotated + p.first] !== -weight[plain + p.second]! || weight[rotated + p.second] !== weight[plain + p.first]) return false;
          }
        }
      }
      return true;
    };
    if (tablesFit() && foldedFits()) return { ropeLayout, rotaryDim };
  }
  return null;
}

function dimsOf(tensors: Map<string, onnx.ITensorProto>, name: string): number[] {
  const tensor = tensors.get(name);
  if (!tensor) throw new GenerationError('MODEL_CONTRACT_VIOLATION', `the stored decoder has no initializer ${name}`);
  return tensor.dims!.map(Number);
}

/** The shape facts {@link writeDecoderGraph} needs, read from the initializers and the graph's inputs. */
function readShape(graph: onnx.IGraphProto, tensors: Map<string, onnx.ITensorProto>): DecoderShape {
  const [vocabSize, hiddenSize] = dimsOf(tensors, 'model.embed_tokens.weight') as [number, number];
  const [maxPositions, headDim] = dimsOf(tensors, 'rotary.cos') as [number, number];
  let numLayers = 0;
  while (tensors.has(`model.layers.${numLayers}.input_layernorm.weight`)) numLayers += 1;
  const past = graph.input!.find((i) => i.name === DECODER_IO.pastKey(0));
  const numKvHeads = Number(past?.type?.tensorType?.shape?.dim?.[1]?.dimValue ?? 0);
  const qkvWidth = dimsOf(tensors, 'model.layers.0.self_attn.qkv_rotary.weight')[1]!;
  // With q/k norms the fused projection also carries the raw q and k, split in four.
  const qkNorm = graph.node!.some((n) => n.opType === 'Split' && n.output?.length === 4);
  const numHeads = (qkvWidth - numKvHeads * headDim) / ((qkNorm ? 3 : 2) * headDim) - numKvHeads;
  const intermediateSize = dimsOf(tensors, 'model.layers.0.mlp.gate_up.weight_t')[1]! / 2;
  if (!Number.isInteger(numHeads) || numHeads <= 0 || numKvHeads <= 0 || !Number.isInteger(intermediateSize)) {
    throw new GenerationError('MODEL_CONTRACT_VIOLATION', 'the stored decoder graph does not have the shape its builder writes');
  }
  return {
    vocabSize,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    maxPositions,
    rmsNormEps: rmsNormEps(graph, tensors),
    attentionBias: tensors.has('model.layers.0.self_attn.qkv_rotary.bias'),
    qkNorm,
    tiedHead: !tensors.has('lm_head.weight_t'),
  };
}

/** The epsilon of the first RMSNorm: the float constant added to the first ReduceMean's output. */
function rmsNormEps(graph: onnx.IGraphProto, tensors: Map<string, onnx.ITensorProto>): number {
  const mean = graph.node!.find((n) => n.opType === 'ReduceMean')?.output?.[0];
  const add = graph.node!.find((n) => n.opType === 'Add' && n.input?.includes(mean ?? ''));
  const constant = tensors.get(add?.input?.find((i) => i !== mean) ?? '');
  const raw = constant?.rawData;
  if (!raw || raw.byteLength !== 4) throw new GenerationError('MODEL_CONTRACT_VIOLATION', 'the stored decoder graph has no RMSNorm epsilon where its builder writes one');
  return new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true);
}
