import { type LlamaArchitecture, type LlamaWeights } from './llama-architecture';
import { decoderVariantOf } from './llama-graph.builder';
import { inverseFrequencies, ropePairs } from './rope';

/**
 * A plain TypeScript forward pass of a Llama-family decoder, in float64, one row and one position
 * at a time, written from the textbook definitions and sharing nothing with the graph builder but
 * the frequency formula. Tests hold the ONNX graphs to it; it is far too slow for anything else.
 *
 * Rows may be left-padded: positions come from the mask (`cumsum - 1`, clamped at 0) and a query
 * attends to earlier slots whose mask is 1. Returns `[row][slot]` logits (Float64Array of vocab);
 * slots with mask 0 get `null`.
 */
export function referenceForward(
  arch: LlamaArchitecture,
  weights: LlamaWeights,
  inputIds: readonly (readonly number[])[],
  attentionMask: readonly (readonly number[])[],
): (Float64Array | null)[][] {
  if (decoderVariantOf(arch)) {
    throw new Error('referenceForward is a plain Llama decoder; Gemma and sliding-window models are held to tools/model-reference (architectures.spec.ts)');
  }
  return inputIds.map((ids, row) => referenceRow(arch, weights, ids, attentionMask[row] ?? ids.map(() => 1)));
}

function referenceRow(arch: LlamaArchitecture, w: LlamaWeights, ids: readonly number[], mask: readonly number[]): (Float64Array | null)[] {
  const d = arch.hiddenSize;
  const hd = arch.headDim;
  const nH = arch.numHeads;
  const nKv = arch.numKvHeads;
  const group = nH / nKv;
  const n = ids.length;
  const positions: number[] = [];
  let seen = 0;
  for (let s = 0; s < n; s += 1) {
    seen += mask[s]!;
    positions.push(Math.max(0, seen - 1));
  }
  let hidden = ids.map((id) => Float64Array.from(w.tokenEmbedding.subarray(id * d, (id + 1) * d)));
  const inv = inverseFrequencies(arch);
  const pairs = ropePairs(arch);
  const rope = (vec: Float64Array, heads: number, position: number): void => {
    for (let h = 0; h < heads; h += 1) {
      for (const pair of pairs) {
        const angle = position * inv[pair.frequency]!;
        const a = vec[h * hd + pair.first]!;
        const b = vec[h * hd + pair.second]!;
        vec[h * hd + pair.first] = a * Math.cos(angle) - b * Math.sin(angle);
        vec[h * hd + pair.second] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
  };
  for (const layer of w.layers) {
    const normed = hidden.map((x) => rmsNorm(x, layer.attentionNorm, arch.rmsNormEps));
    const q = normed.map((x) => linear(layer.query, layer.queryBias, x, nH * hd));
    const k = normed.map((x) => linear(layer.key, layer.keyBias, x, nKv * hd));
    const v = normed.map((x) => linear(layer.value, layer.valueBias, x, nKv * hd));
    if (arch.qkNorm) {
      // Qwen3: RMSNorm of each head's query and key (own weights) before the rotation.
      const headNorm = (vec: Float64Array, heads: number, weight: Float32Array): void => {
        for (let h = 0; h < heads; h += 1) vec.set(rmsNorm(vec.subarray(h * hd, (h + 1) * hd), weight, arch.rmsNormEps), h * hd);
      };
      for (let s = 0; s < n; s += 1) {
        headNorm(q[s]!, nH, layer.queryNorm!);
        headNorm(k[s]!, nKv, layer.keyNorm!);
      }
    }
    for (let s = 0; s < n; s += 1) {
      rope(q[s]!, nH, positions[s]!);
      rope(k[s]!, nKv, positions[s]!);
    }
    hidden = hidden.map((h, s) => {
      const context = new Float64Array(nH * hd);
      for (let head = 0; head < nH; head += 1) {
        const kvHead = Math.floor(head / group);
        const visible: number[] = [];
        for (let t = 0; t <= s; t += 1) if (mask[t] === 1) visible.push(t);
        const scores = visible.map((t) => {
          let dot = 0;
          for (let j = 0; j < hd; j += 1) dot += q[s]![head * hd + j]! * k[t]![kvHead * hd + j]!;
          return dot / Math.sqrt(hd);
        });
        const max = Math.max(...scores);
        const exps = scores.map((x) => Math.exp(x - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        visible.forEach((t, idx) => {
          for (let j = 0; j < hd; j += 1) context[head * hd + j]! += (exps[idx]! / sum) * v[t]![kvHead * hd + j]!;
        });
      }
      const out = linear(layer.output, null, context, d);
      const after = h.map((x, j) => x + out[j]!);
      const y = rmsNorm(after, layer.mlpNorm, arch.rmsNormEps);
      const gate = linear(layer.gate, null, y, arch.intermediateSize);
      const up = linear(layer.up, null, y, arch.intermediateSize);
      const act = gate.map((g, j) => (g / (1 + Math.exp(-g))) * up[j]!);
      const down = linear(layer.down, null, act, d);
      return after.map((x, j) => x + down[j]!);
    });
  }
  const head = w.outputHead ?? w.tokenEmbedding;
  return hidden.map((h, s) => (mask[s] === 1 ? linear(head, null, rmsNorm(h, w.finalNorm, arch.rmsNormEps), arch.vocabSize) : null));
}

function rmsNorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let sum = 0;
  for (const value of x) sum += value * value;
  const scale = 1 / Math.sqrt(sum / x.length + eps);
  return x.map((value, j) => value * scale * weight[j]!);
}

/** `W x + b` for a row-major `(out, in)` matrix. */
function linear(weight: Float32Array, bias: Float32Array | null | undefined, x: Float64Array, out: number): Float64Array {
  const inDim = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o += 1) {
    let acc = bias ? bias[o]! : 0;
    const base = o * inDim;
    for (let j = 0; j < inDim; j += 1) acc += weight[base + j]! * x[j]!;
    y[o] = acc;
  }
  return y;
}
