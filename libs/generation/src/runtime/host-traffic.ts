import { type CacheLayout } from '../model/llama-graph.builder';

/** The shape facts a decode step's transfers depend on. */
export interface HostTrafficShape {
  readonly numLayers: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
}

/** One decode step of the engine, as {@link decodeStepHostTraffic} counts it. */
export interface DecodeStepTrafficInput {
  /** Rows of the batch (the s private prompts plus the public one). */
  readonly rows: number;
  /**
   * Past positions fed to the graph: the cache buffer's capacity in the `in-place` layout (empty
   * slots included, see KV_CAPACITY_STEP), the used length in the `concat` layout.
   */
  readonly past: number;
  readonly layout: CacheLayout;
  /**
   * Vocabulary-length float vectors the step returns instead of every row's logits, when the
   * aggregation runs inside the graph (issue 16 item 2); null: `rows` rows of logits come back.
   */
  readonly aggregatedVectors: number | null;
}

/** Bytes that cross between host and device memory in one decode step, per tensor. */
export interface DecodeStepTraffic {
  readonly toDevice: { readonly tokens: number; readonly attentionMask: number; readonly past: number; readonly total: number };
  readonly fromDevice: { readonly logits: number; readonly cache: number; readonly total: number };
}

const INT64 = 8;
const FLOAT32 = 4;

/**
 * Host-device bytes of one decode step (one new token per row, logits of one position) when every
 * input is host memory and every output comes back to the host, which is what onnxruntime-node
 * 1.30 does for a CUDA session (docs/gpu.md: its binding has no CUDA-memory tensors and no IO
 * binding for CUDA). From shapes alone, so the figures can be checked by hand:
 * - to the device: `input_ids` and `position_ids` (`rows` int64 each), `num_logits_to_keep` (one
 *   int64), `attention_mask` (`rows * (past + 1)` int64) and every layer's past keys and values
 *   (`2 * layers * rows * kvHeads * past * headDim` float32);
 * - from the device: the logits (`rows * vocab` float32, or `aggregatedVectors * vocab`) and the
 *   cache outputs: the new slot in the `in-place` layout, the whole present (`past + 1`
 *   positions) in the `concat` layout.
 * The binding's second, host-side copy of each output into a fresh JavaScript buffer is not
 * host-device traffic and is not counted.
 */
export function decodeStepHostTraffic(shape: HostTrafficShape, step: DecodeStepTrafficInput): DecodeStepTraffic {
  const { rows, past } = step;
  const slotFloats = 2 * shape.numLayers * rows * shape.numKvHeads * shape.headDim;
  const tokens = 2 * rows * INT64 + INT64;
  const attentionMask = rows * (past + 1) * INT64;
  const pastBytes = slotFloats * past * FLOAT32;
  const logits = (step.aggregatedVectors ?? rows) * shape.vocabSize * FLOAT32;
  const cache = slotFloats * (step.layout === 'in-place' ? 1 : past + 1) * FLOAT32;
  return {
    toDevice: { tokens, attentionMask, past: pastBytes, total: tokens + attentionMask + pastBytes },
    fromDevice: { logits, cache, total: logits + cache },
  };
}
