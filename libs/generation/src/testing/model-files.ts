import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTokenizerJson, type GgufVocabulary } from '../import/gguf-tokenizer';
import { writeLlamaModelFolder } from '../import/llama-model.writer';
import { type ModelManifest } from '../import/model-folder';
import { type LlamaArchitecture, type LlamaWeights } from '../model/llama-architecture';
import { GGML_TYPE_IDS, type GgmlType, quantize } from './ggml-quantize';

/**
 * Writers of small model files for tests (GGUF, safetensors folders, model folders), so specs
 * build their fixtures at run time from seeded random weights. Not part of the public API.
 */

/** A SentencePiece-style vocabulary: `<unk>`, `<s>`, `</s>`, 256 byte tokens, then word pieces. */
export function tinyVocabulary(): GgufVocabulary {
  const pieces = ['▁', 'e', 't', 'a', 'o', 'n', 'h', 's', 'i', 'r', 'd', 'l', 'u', 'w', 'y', 'g', 'c', 'm', 'f', 'p', 'b', 'k', 'v', '.', ',',
    '▁t', 'he', '▁the', '▁a', 'in', 'on', 'an', '▁s', '▁w', 'er', 'ed', '▁h', '▁he', 'ay', '▁d', 'ay.', '▁p', 'la', '▁pla', '▁play', '▁o', 'ne', '▁one', '▁day'];
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), ...pieces];
  const types = tokens.map((_, id) => (id === 0 ? 2 : id < 3 ? 3 : id < 259 ? 6 : 1));
  // Longer pieces merge later: score falls with length, then with id.
  const scores = tokens.map((token, id) => (id < 259 ? 0 : -Array.from(token).length * 100 - id));
  return { model: 'llama', tokens, scores, tokenTypes: types, merges: null, bosTokenId: 1, eosTokenId: 2, unknownTokenId: 0, addBos: true, addEos: false };
}

/** IEEE float to half, rounding to nearest even. */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    const half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (rest > midpoint || (rest === midpoint && (half & 1)) ? half + 1 : half);
  }
  let half = sign | (exponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half += 1;
  return half;
}

export type GgufMeta = { key: string; type: 'u32' | 'f32' | 'string' | 'bool' | 'strings' | 'f32s' | 'i32s'; value: number | string | boolean | readonly (string | number)[] };

/** Element types the test GGUF writer can encode (every type the reader supports). */
export type TestTensorType = GgmlType;

/** Writes a GGUF v3 file (metadata and tensors; dims given PyTorch-style `[rows, cols]`). */
export function writeGguf(path: string, metadata: readonly GgufMeta[], tensors: readonly { name: string; shape: readonly number[]; data: Float32Array; type: TestTensorType; typeCode?: number }[]): void {
  const chunks: Buffer[] = [];
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const u64 = (v: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  const str = (s: string): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
  const f32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    return b;
  };
  chunks.push(Buffer.from('GGUF', 'latin1'), u32(3), u64(tensors.length), u64(metadata.length));
  for (const m of metadata) {
    chunks.push(str(m.key));
    if (m.type === 'u32') chunks.push(u32(4), u32(m.value as number));
    else if (m.type === 'f32') chunks.push(u32(6), f32(m.value as number));
    else if (m.type === 'bool') chunks.push(u32(7), Buffer.from([m.value ? 1 : 0]));
    else if (m.type === 'string') chunks.push(u32(8), str(m.value as string));
    else {
      const items = m.value as readonly (string | number)[];
      const itemType = m.type === 'strings' ? 8 : m.type === 'f32s' ? 6 : 5;
      chunks.push(u32(9), u32(itemType), u64(items.length));
      for (const item of items) {
        if (m.type === 'strings') chunks.push(str(item as string));
        else if (m.type === 'f32s') chunks.push(f32(item as number));
        else {
          const b = Buffer.alloc(4);
          b.writeInt32LE(item as number);
          chunks.push(b);
        }
      }
    }
  }
  const encoded = tensors.map((t) => quantize(t.type, t.data));
  let offset = 0;
  const offsets: number[] = [];
  for (const bytes of encoded) {
    offsets.push(offset);
    offset += Math.ceil(bytes.length / 32) * 32;
  }
  tensors.forEach((t, i) => {
    const dims = [...t.shape].reverse();
    chunks.push(str(t.name), u32(dims.length), ...dims.map(u64), u32(t.typeCode ?? GGML_TYPE_IDS[t.type]), u64(offsets[i]!));
  });
  const header = Buffer.concat(chunks);
  const dataStart = Math.ceil(header.length / 32) * 32;
  const out = Buffer.alloc(dataStart + offset);
  header.copy(out, 0);
  encoded.forEach((bytes, i) => bytes.copy(out, dataStart + offsets[i]!));
  writeFileSync(path, out);
}

/**
 * llama.cpp's Q4_K_M mixture: Q4_K everywhere except the output head (Q6_K) and, in the first and
 * last eighth of the layers and every third layer between, attn_v and ffn_down (Q6_K).
 */
export function q4KMediumType(tensor: string, numLayers: number): TestTensorType {
  if (tensor === 'output.weight') return 'Q6_K';
  const match = /^blk\.(\d+)\.(attn_v|ffn_down)\.weight$/.exec(tensor);
  if (!match) return 'Q4_K';
  const i = Number(match[1]);
  const eighth = Math.floor(numLayers / 8);
  const moreBits = i < eighth || i >= Math.floor((7 * numLayers) / 8) || (i - eighth) % 3 === 2;
  return moreBits ? 'Q6_K' : 'Q4_K';
}

/**
 * Writes a Llama GGUF of `arch` (which must use the interleaved rotary layout, as GGUF `llama`
 * does), or with `extra.architecture` `qwen2` a Qwen2 GGUF (rotate-half layout, q/k/v biases).
 * `types` is one type for every matrix, or a type per tensor name (e.g. {@link q4KMediumType}).
 */
export function writeTinyLlamaGguf(
  path: string,
  arch: LlamaArchitecture,
  weights: LlamaWeights,
  types: TestTensorType | ((tensor: string) => TestTensorType) = 'F32',
  extra: {
    readonly architecture?: 'llama' | 'qwen2' | 'qwen3' | 'phi3' | 'gemma2' | 'gemma3';
    readonly vocab?: GgufVocabulary;
    readonly metadata?: readonly GgufMeta[];
    readonly tensors?: readonly { name: string; shape: number[]; data: Float32Array; type: TestTensorType }[];
  } = {},
): void {
  const vocab = extra.vocab ?? tinyVocabulary();
  const name = extra.architecture ?? 'llama';
  const d = arch.hiddenSize;
  const typeOf = (name: string): TestTensorType => (typeof types === 'function' ? types(name) : types);
  const tensors: { name: string; shape: number[]; data: Float32Array; type: TestTensorType }[] = [
    { name: 'token_embd.weight', shape: [arch.vocabSize, d], data: weights.tokenEmbedding, type: typeOf('token_embd.weight') },
  ];
  weights.layers.forEach((layer, i) => {
    const q = arch.numHeads * arch.headDim;
    const kv = arch.numKvHeads * arch.headDim;
    // Norms stay F32, as llama.cpp's quantiser leaves 1-D tensors alone. Gemma files hold the
    // norms' factors (1 + weight), which is what LlamaWeights holds too.
    tensors.push({ name: `blk.${i}.attn_norm.weight`, shape: [d], data: layer.attentionNorm, type: 'F32' });
    if (name === 'phi3') {
      // Phi-3: q, k, v stacked by rows in attn_qkv; gate then up in ffn_up.
      tensors.push(
        { name: `blk.${i}.attn_qkv.weight`, shape: [q + 2 * kv, d], data: concatRows([layer.query, layer.key, layer.value]), type: typeOf(`blk.${i}.attn_qkv.weight`) },
        { name: `blk.${i}.ffn_up.weight`, shape: [2 * arch.intermediateSize, d], data: concatRows([layer.gate, layer.up]), type: typeOf(`blk.${i}.ffn_up.weight`) },
      );
    } else {
      tensors.push(
        { name: `blk.${i}.attn_q.weight`, shape: [q, d], data: layer.query, type: typeOf(`blk.${i}.attn_q.weight`) },
        { name: `blk.${i}.attn_k.weight`, shape: [kv, d], data: layer.key, type: typeOf(`blk.${i}.attn_k.weight`) },
        { name: `blk.${i}.attn_v.weight`, shape: [kv, d], data: layer.value, type: typeOf(`blk.${i}.attn_v.weight`) },
        { name: `blk.${i}.ffn_gate.weight`, shape: [arch.intermediateSize, d], data: layer.gate, type: typeOf(`blk.${i}.ffn_gate.weight`) },
        { name: `blk.${i}.ffn_up.weight`, shape: [arch.intermediateSize, d], data: layer.up, type: typeOf(`blk.${i}.ffn_up.weight`) },
      );
    }
    tensors.push(
      { name: `blk.${i}.attn_output.weight`, shape: [d, q], data: layer.output, type: typeOf(`blk.${i}.attn_output.weight`) },
      { name: `blk.${i}.ffn_norm.weight`, shape: [d], data: layer.mlpNorm, type: 'F32' },
      { name: `blk.${i}.ffn_down.weight`, shape: [d, arch.intermediateSize], data: layer.down, type: typeOf(`blk.${i}.ffn_down.weight`) },
    );
    if (layer.postAttentionNorm && layer.postMlpNorm) {
      tensors.push(
        { name: `blk.${i}.post_attention_norm.weight`, shape: [d], data: layer.postAttentionNorm, type: 'F32' },
        { name: `blk.${i}.post_ffw_norm.weight`, shape: [d], data: layer.postMlpNorm, type: 'F32' },
      );
    }
    if (layer.queryNorm && layer.keyNorm) {
      tensors.push(
        { name: `blk.${i}.attn_q_norm.weight`, shape: [arch.headDim], data: layer.queryNorm, type: 'F32' },
        { name: `blk.${i}.attn_k_norm.weight`, shape: [arch.headDim], data: layer.keyNorm, type: 'F32' },
      );
    }
    if (layer.queryBias && layer.keyBias && layer.valueBias) {
      tensors.push(
        { name: `blk.${i}.attn_q.bias`, shape: [q], data: layer.queryBias, type: 'F32' },
        { name: `blk.${i}.attn_k.bias`, shape: [kv], data: layer.keyBias, type: 'F32' },
        { name: `blk.${i}.attn_v.bias`, shape: [kv], data: layer.valueBias, type: 'F32' },
      );
    }
  });
  tensors.push({ name: 'output_norm.weight', shape: [d], data: weights.finalNorm, type: 'F32' });
  if (weights.outputHead) tensors.push({ name: 'output.weight', shape: [arch.vocabSize, d], data: weights.outputHead, type: typeOf('output.weight') });
  tensors.push(...(extra.tensors ?? []));
  writeGguf(
    path,
    [
      { key: 'general.architecture', type: 'string', value: name },
      { key: 'general.alignment', type: 'u32', value: 32 },
      { key: `${name}.context_length`, type: 'u32', value: arch.maxPositions },
      { key: `${name}.embedding_length`, type: 'u32', value: d },
      { key: `${name}.feed_forward_length`, type: 'u32', value: arch.intermediateSize },
      { key: `${name}.attention.head_count`, type: 'u32', value: arch.numHeads },
      { key: `${name}.attention.head_count_kv`, type: 'u32', value: arch.numKvHeads },
      { key: `${name}.block_count`, type: 'u32', value: arch.numLayers },
      { key: `${name}.rope.dimension_count`, type: 'u32', value: arch.rotaryDim ?? arch.headDim },
      { key: `${name}.attention.key_length`, type: 'u32', value: arch.headDim },
      { key: `${name}.rope.freq_base`, type: 'f32', value: arch.ropeTheta },
      { key: `${name}.attention.layer_norm_rms_epsilon`, type: 'f32', value: arch.rmsNormEps },
      { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'strings', value: vocab.tokens },
      { key: 'tokenizer.ggml.scores', type: 'f32s', value: vocab.scores ?? [] },
      { key: 'tokenizer.ggml.token_type', type: 'i32s', value: vocab.tokenTypes ?? [] },
      { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 1 },
      { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 2 },
      { key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: 0 },
      { key: 'tokenizer.ggml.padding_token_id', type: 'u32', value: 4294967295 },
      ...(extra.metadata ?? []),
    ],
    tensors,
  );
}

/** Matrices stacked by rows (fused projections). */
function concatRows(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, t) => n + t.length, 0));
  parts.reduce((at, t) => (out.set(t, at), at + t.length), 0);
  return out;
}

/**
 * Writes a Hugging Face folder (config.json, model.safetensors, tokenizer.json) of `arch`. With
 * `gemma`, norms are stored as Gemma stores them (weight = factor - 1) under Gemma's names
 * (input, post_attention, pre_feedforward, post_feedforward layernorms) and the head is tied.
 */
export function writeTinyHuggingFaceFolder(
  dir: string,
  arch: LlamaArchitecture,
  weights: LlamaWeights,
  options: { dtype?: 'F32' | 'F16' | 'BF16'; architecture?: string; config?: Record<string, unknown>; omitTieFlag?: boolean; fusedProjections?: boolean; gemma?: boolean } = {},
): void {
  mkdirSync(dir, { recursive: true });
  const dtype = options.dtype ?? 'F32';
  const named: [string, number[], Float32Array][] = [['model.embed_tokens.weight', [arch.vocabSize, arch.hiddenSize], weights.tokenEmbedding]];
  const q = arch.numHeads * arch.headDim;
  const kv = arch.numKvHeads * arch.headDim;
  const norm = (factor: Float32Array): Float32Array => (options.gemma ? factor.map((f) => f - 1) : factor);
  weights.layers.forEach((layer, i) => {
    const p = `model.layers.${i}.`;
    named.push([`${p}input_layernorm.weight`, [arch.hiddenSize], norm(layer.attentionNorm)]);
    if (options.fusedProjections) {
      // Phi-3: q, k, v stacked by rows in qkv_proj; gate then up in gate_up_proj.
      const concat = concatRows;
      named.push(
        [`${p}self_attn.qkv_proj.weight`, [q + 2 * kv, arch.hiddenSize], concat([layer.query, layer.key, layer.value])],
        [`${p}mlp.gate_up_proj.weight`, [2 * arch.intermediateSize, arch.hiddenSize], concat([layer.gate, layer.up])],
      );
    } else {
      named.push(
        [`${p}self_attn.q_proj.weight`, [q, arch.hiddenSize], layer.query],
        [`${p}self_attn.k_proj.weight`, [kv, arch.hiddenSize], layer.key],
        [`${p}self_attn.v_proj.weight`, [kv, arch.hiddenSize], layer.value],
        [`${p}mlp.gate_proj.weight`, [arch.intermediateSize, arch.hiddenSize], layer.gate],
        [`${p}mlp.up_proj.weight`, [arch.intermediateSize, arch.hiddenSize], layer.up],
      );
    }
    named.push(
      [`${p}self_attn.o_proj.weight`, [arch.hiddenSize, q], layer.output],
      [`${p}mlp.down_proj.weight`, [arch.hiddenSize, arch.intermediateSize], layer.down],
    );
    if (options.gemma) {
      named.push(
        [`${p}post_attention_layernorm.weight`, [arch.hiddenSize], norm(layer.postAttentionNorm!)],
        [`${p}pre_feedforward_layernorm.weight`, [arch.hiddenSize], norm(layer.mlpNorm)],
        [`${p}post_feedforward_layernorm.weight`, [arch.hiddenSize], norm(layer.postMlpNorm!)],
      );
    } else {
      named.push([`${p}post_attention_layernorm.weight`, [arch.hiddenSize], layer.mlpNorm]);
    }
    if (layer.queryNorm) named.push([`${p}self_attn.q_norm.weight`, [arch.headDim], norm(layer.queryNorm)]);
    if (layer.keyNorm) named.push([`${p}self_attn.k_norm.weight`, [arch.headDim], norm(layer.keyNorm)]);
    if (layer.queryBias) named.push([`${p}self_attn.q_proj.bias`, [q], layer.queryBias]);
    if (layer.keyBias) named.push([`${p}self_attn.k_proj.bias`, [kv], layer.keyBias]);
    if (layer.valueBias) named.push([`${p}self_attn.v_proj.bias`, [kv], layer.valueBias]);
  });
  named.push(['model.norm.weight', [arch.hiddenSize], norm(weights.finalNorm)]);
  if (weights.outputHead) named.push(['lm_head.weight', [arch.vocabSize, arch.hiddenSize], weights.outputHead]);
  writeSafetensors(join(dir, 'model.safetensors'), named, dtype);
  const config: Record<string, unknown> = {
    architectures: [options.architecture ?? 'LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: arch.vocabSize,
    hidden_size: arch.hiddenSize,
    intermediate_size: arch.intermediateSize,
    num_hidden_layers: arch.numLayers,
    num_attention_heads: arch.numHeads,
    num_key_value_heads: arch.numKvHeads,
    rms_norm_eps: arch.rmsNormEps,
    rope_theta: arch.ropeTheta,
    max_position_embeddings: arch.maxPositions,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
    ...(options.omitTieFlag ? {} : { tie_word_embeddings: arch.tiedEmbeddings }),
    ...options.config,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(tinyVocabulary())));
}

/** Rounds values as storing them in `dtype` would. */
export function roundTo(dtype: 'F32' | 'F16' | 'BF16', data: Float32Array): Float32Array {
  if (dtype === 'F32') return data;
  const bytes = encodeHalfs(data, dtype);
  const out = new Float32Array(data.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < data.length; i += 1) {
    const h = bytes.readUInt16LE(i * 2);
    if (dtype === 'BF16') bits[i] = h << 16;
    else {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      out[i] = e === 0 ? sign * Math.pow(2, -14) * (m / 1024) : sign * Math.pow(2, e - 15) * (1 + m / 1024);
    }
  }
  return out;
}

function encodeHalfs(data: Float32Array, dtype: 'F16' | 'BF16'): Buffer {
  const out = Buffer.alloc(data.length * 2);
  const bits = new Uint32Array(Float32Array.from(data).buffer);
  for (let i = 0; i < data.length; i += 1) {
    if (dtype === 'F16') out.writeUInt16LE(floatToHalf(data[i]!), i * 2);
    else {
      // Round to nearest even on the dropped 16 bits.
      const b = bits[i]!;
      out.writeUInt16LE(((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff, i * 2);
    }
  }
  return out;
}

function writeSafetensors(path: string, tensors: readonly [string, number[], Float32Array][], dtype: 'F32' | 'F16' | 'BF16'): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    const bytes = dtype === 'F32' ? Buffer.from(Float32Array.from(data).buffer) : encodeHalfs(data, dtype);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([length, Buffer.from(json, 'utf8'), ...blobs]));
}

/** Writes a complete model folder of `arch` with the tiny SentencePiece tokenizer. */
export function writeTinyModelFolder(dir: string, arch: LlamaArchitecture, weights: LlamaWeights): ModelManifest {
  return writeLlamaModelFolder(dir, 'tiny', { kind: 'gguf', file: 'tiny.gguf', sha256: null }, {
    arch,
    weights,
    tokenizerJson: buildTokenizerJson(tinyVocabulary()),
    tokenizerConfig: null,
    architectureName: 'LlamaForCausalLM',
    modelType: 'llama',
  }, { overwrite: true });
}

/** The tiny vocabulary's size: use it as `vocabSize` of models that pair with its tokenizer. */
export const TINY_VOCAB_SIZE = tinyVocabulary().tokens.length;
