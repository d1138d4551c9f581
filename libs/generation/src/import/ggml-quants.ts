import { GenerationError } from '../generation.errors';

/**
 * ggml tensor element types and their dequantisation to float32. Block layouts follow ggml's public
 * reference (`ggml-common.h` for the structs, `ggml-quants.c` `dequantize_row_*`); the code here is
 * written from those definitions, not copied. All multi-byte fields are little-endian and every
 * block's scale is an IEEE half.
 */

/** One ggml element type the reader dequantises: `blockBytes` bytes encode `blockElements` values. */
export interface GgmlTypeLayout {
  readonly name: string;
  readonly blockElements: number;
  readonly blockBytes: number;
}

/** Super-block size of the K-quants and IQ4_XS. */
const QK_K = 256;

/** Types the reader dequantises, by ggml type id. */
export const GGML_TYPES: Readonly<Record<number, GgmlTypeLayout | undefined>> = {
  0: { name: 'F32', blockElements: 1, blockBytes: 4 },
  1: { name: 'F16', blockElements: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockElements: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockElements: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockElements: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockElements: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockElements: 32, blockBytes: 34 },
  // scales[16] (4-bit scale | 4-bit min), qs[64] (2-bit), d, dmin
  10: { name: 'Q2_K', blockElements: QK_K, blockBytes: 16 + 64 + 4 },
  // hmask[32] (high bit), qs[64] (low 2 bits), scales[12] (16 x 6-bit), d
  11: { name: 'Q3_K', blockElements: QK_K, blockBytes: 32 + 64 + 12 + 2 },
  // d, dmin, scales[12] (8 x 6-bit scale and min), qs[128] (4-bit)
  12: { name: 'Q4_K', blockElements: QK_K, blockBytes: 4 + 12 + 128 },
  // d, dmin, scales[12], qh[32] (fifth bit), qs[128] (low 4 bits)
  13: { name: 'Q5_K', blockElements: QK_K, blockBytes: 4 + 12 + 32 + 128 },
  // ql[128], qh[64], scales[16] (int8), d
  14: { name: 'Q6_K', blockElements: QK_K, blockBytes: 128 + 64 + 16 + 2 },
  // d, qs[16] (4-bit indices into the non-linear grid)
  20: { name: 'IQ4_NL', blockElements: 32, blockBytes: 2 + 16 },
  // d, scales_h (u16: 8 x 2 high bits), scales_l[4] (8 x 4 low bits), qs[128]
  23: { name: 'IQ4_XS', blockElements: QK_K, blockBytes: 2 + 2 + 4 + 128 },
  30: { name: 'BF16', blockElements: 1, blockBytes: 2 },
};

/** Names of the other ggml types, so a refusal can name what the file holds. */
export const OTHER_GGML_TYPE_NAMES: Readonly<Record<number, string>> = {
  9: 'Q8_1', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S', 21: 'IQ3_S', 22: 'IQ2_S',
  24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 29: 'IQ1_M', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};

/** The ggml type names {@link dequantize} handles. */
export const SUPPORTED_GGML_TYPES: readonly string[] = Object.values(GGML_TYPES).map((t) => t!.name);

/** The non-linear 4-bit grid of IQ4_NL and IQ4_XS (ggml's `kvalues_iq4nl`). */
const IQ4_GRID = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] as const;

/** IEEE half to float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
}

let halfTable: Float32Array | null = null;

/** All 65536 halves decoded once: block scales are read millions of times in a large model. */
function half(raw: Uint8Array, at: number): number {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h += 1) halfTable[h] = halfToFloat(h);
  }
  return halfTable[raw[at]! | (raw[at + 1]! << 8)]!;
}

/**
 * Dequantises `elements` values of ggml type `type` (a name from {@link SUPPORTED_GGML_TYPES})
 * from `raw` to float32, in storage order.
 */
export function dequantize(type: string, raw: Buffer, elements: number): Float32Array {
  const out = new Float32Array(elements);
  switch (type) {
    case 'F32':
      for (let i = 0; i < elements; i += 1) out[i] = raw.readFloatLE(i * 4);
      return out;
    case 'F16':
      for (let i = 0; i < elements; i += 1) out[i] = half(raw, i * 2);
      return out;
    case 'BF16': {
      const word = new Uint32Array(1);
      const asFloat = new Float32Array(word.buffer);
      for (let i = 0; i < elements; i += 1) {
        word[0] = raw.readUInt16LE(i * 2) << 16;
        out[i] = asFloat[0]!;
      }
      return out;
    }
    case 'Q8_0': {
      const signed = new Int8Array(raw.buffer, raw.byteOffset, raw.length);
      for (let b = 0; b < elements / 32; b += 1) {
        const base = b * 34;
        const d = half(raw, base);
        for (let j = 0; j < 32; j += 1) out[b * 32 + j] = d * signed[base + 2 + j]!;
      }
      return out;
    }
    case 'Q4_0':
    case 'Q4_1':
      dequantizeQ4Legacy(raw, out, type === 'Q4_1');
      return out;
    case 'Q5_0':
    case 'Q5_1':
      dequantizeQ5Legacy(raw, out, type === 'Q5_1');
      return out;
    case 'Q2_K':
      dequantizeQ2K(raw, out);
      return out;
    case 'Q3_K':
      dequantizeQ3K(raw, out);
      return out;
    case 'Q4_K':
      dequantizeQ4K(raw, out);
      return out;
    case 'Q5_K':
      dequantizeQ5K(raw, out);
      return out;
    case 'Q6_K':
      dequantizeQ6K(raw, out);
      return out;
    case 'IQ4_NL':
      dequantizeIq4Nl(raw, out);
      return out;
    case 'IQ4_XS':
      dequantizeIq4Xs(raw, out);
      return out;
    default:
      throw new GenerationError('UNSUPPORTED_MODEL', `tensor type ${type} cannot be dequantised`);
  }
}

/** Q4_0 (`(q - 8) d`) and Q4_1 (`q d + m`): byte j holds element j (low nibble) and j + 16. */
function dequantizeQ4Legacy(raw: Buffer, out: Float32Array, withMin: boolean): void {
  const blockBytes = withMin ? 20 : 18;
  for (let b = 0; b < out.length / 32; b += 1) {
    const base = b * blockBytes;
    const d = half(raw, base);
    const m = withMin ? half(raw, base + 2) : 0;
    const qs = base + (withMin ? 4 : 2);
    for (let j = 0; j < 16; j += 1) {
      const byte = raw[qs + j]!;
      out[b * 32 + j] = withMin ? (byte & 0x0f) * d + m : ((byte & 0x0f) - 8) * d;
      out[b * 32 + j + 16] = withMin ? (byte >> 4) * d + m : ((byte >> 4) - 8) * d;
    }
  }
}

/** Q5_0 (`(q - 16) d`) and Q5_1 (`q d + m`): as Q4, with each element's fifth bit in a u32 mask. */
function dequantizeQ5Legacy(raw: Buffer, out: Float32Array, withMin: boolean): void {
  const blockBytes = withMin ? 24 : 22;
  for (let b = 0; b < out.length / 32; b += 1) {
    const base = b * blockBytes;
    const d = half(raw, base);
    const m = withMin ? half(raw, base + 2) : 0;
    const qhAt = base + (withMin ? 4 : 2);
    const qh = raw.readUInt32LE(qhAt);
    const qs = qhAt + 4;
    for (let j = 0; j < 16; j += 1) {
      const x0 = (raw[qs + j]! & 0x0f) | (((qh >>> j) & 1) << 4);
      const x1 = (raw[qs + j]! >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * 32 + j] = withMin ? x0 * d + m : (x0 - 16) * d;
      out[b * 32 + j + 16] = withMin ? x1 * d + m : (x1 - 16) * d;
    }
  }
}

/**
 * Q2_K: 16 sub-blocks of 16, value `d (sc & 15) q - dmin (sc >> 4)` with q 2 bits. Each 128-value
 * half reads 32 bytes of qs four times, two bits deeper each time; sub-block k of a pass covers
 * bytes 0-15, k + 1 bytes 16-31.
 */
function dequantizeQ2K(raw: Buffer, out: Float32Array): void {
  for (let b = 0; b < out.length / QK_K; b += 1) {
    const base = b * 84;
    const scales = base;
    const d = half(raw, base + 80);
    const dmin = half(raw, base + 82);
    let y = b * QK_K;
    let sub = 0;
    for (let halfBlock = 0; halfBlock < 2; halfBlock += 1) {
      const q = base + 16 + 32 * halfBlock;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part += 1) {
          const sc = raw[scales + sub]!;
          sub += 1;
          const dl = d * (sc & 0x0f);
          const ml = dmin * (sc >> 4);
          for (let l = 0; l < 16; l += 1) out[y + l] = dl * ((raw[q + 16 * part + l]! >> shift) & 3) - ml;
          y += 16;
        }
      }
    }
  }
}

/**
 * Q3_K: 16 sub-blocks of 16, value `d (s - 32) (q - 4 [high bit clear])`, q's low 2 bits laid out
 * as Q2_K's and its third bit in hmask (bit `pass` of byte l for the l-th value of a 32-value pass).
 * Scale s is 6 bits: the low 4 from byte j (j < 8) or the high nibble of byte j - 8, the top 2 from
 * byte 8 + j % 4 at bit 2 floor(j / 4).
 */
function dequantizeQ3K(raw: Buffer, out: Float32Array): void {
  for (let b = 0; b < out.length / QK_K; b += 1) {
    const base = b * 110;
    const hmask = base;
    const scales = base + 96;
    const d = half(raw, base + 108);
    let y = b * QK_K;
    let sub = 0;
    let pass = 0;
    for (let halfBlock = 0; halfBlock < 2; halfBlock += 1) {
      const q = base + 32 + 32 * halfBlock;
      for (let shift = 0; shift < 8; shift += 2) {
        const bit = 1 << pass;
        for (let part = 0; part < 2; part += 1) {
          const low = sub < 8 ? raw[scales + sub]! & 0x0f : raw[scales + sub - 8]! >> 4;
          const high = (raw[scales + 8 + (sub % 4)]! >> (2 * Math.floor(sub / 4))) & 3;
          const dl = d * ((low | (high << 4)) - 32);
          sub += 1;
          for (let l = 0; l < 16; l += 1) {
            const i = 16 * part + l;
            const q3 = ((raw[q + i]! >> shift) & 3) - (raw[hmask + i]! & bit ? 0 : 4);
            out[y + l] = dl * q3;
          }
          y += 16;
        }
        pass += 1;
      }
    }
  }
}

/** 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K block (ggml's get_scale_min_k4 packing). */
function scaleMin(scales: Buffer, at: number, j: number): [number, number] {
  if (j < 4) return [scales[at + j]! & 63, scales[at + j + 4]! & 63];
  return [
    (scales[at + j + 4]! & 0x0f) | ((scales[at + j - 4]! >> 6) << 4),
    (scales[at + j + 4]! >> 4) | ((scales[at + j]! >> 6) << 4),
  ];
}

/** Q4_K: 8 sub-blocks of 32, value `d sc q - dmin m`; 32 bytes serve two sub-blocks (low, high nibble). */
function dequantizeQ4K(raw: Buffer, out: Float32Array): void {
  for (let b = 0; b < out.length / QK_K; b += 1) {
    const base = b * 144;
    const d = half(raw, base);
    const dmin = half(raw, base + 2);
    const scales = base + 4;
    let q = base + 16;
    let y = b * QK_K;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMin(raw, scales, is);
      const [sc2, m2] = scaleMin(raw, scales, is + 1);
      for (let l = 0; l < 32; l += 1) out[y + l] = d * sc1 * (raw[q + l]! & 0x0f) - dmin * m1;
      for (let l = 0; l < 32; l += 1) out[y + 32 + l] = d * sc2 * (raw[q + l]! >> 4) - dmin * m2;
      q += 32;
      y += 64;
    }
  }
}

/** Q5_K: Q4_K plus a fifth bit per value: sub-block k's bit is bit k of qh[l]. */
function dequantizeQ5K(raw: Buffer, out: Float32Array): void {
  for (let b = 0; b < out.length / QK_K; b += 1) {
    const base = b * 176;
    const d = half(raw, base);
    const dmin = half(raw, base + 2);
    const scales = base + 4;
    const qh = base + 16;
    let q = base + 48;
    let y = b * QK_K;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMin(raw, scales, is);
      const [sc2, m2] = scaleMin(raw, scales, is + 1);
      for (let l = 0; l < 32; l += 1) {
        const high = raw[qh + l]!;
        out[y + l] = d * sc1 * ((raw[q + l]! & 0x0f) | (((high >> is) & 1) << 4)) - dmin * m1;
        out[y + 32 + l] = d * sc2 * ((raw[q + l]! >> 4) | (((high >> (is + 1)) & 1) << 4)) - dmin * m2;
      }
      q += 32;
      y += 64;
    }
  }
}

/** Q6_K: 16 sub-blocks of 16 with int8 scales, value `d sc (q - 32)`, q = 4 low bits (ql) + 2 high (qh). */
function dequantizeQ6K(raw: Buffer, out: Float32Array): void {
  const signed = new Int8Array(raw.buffer, raw.byteOffset, raw.length);
  for (let b = 0; b < out.length / QK_K; b += 1) {
    const base = b * 210;
    let ql = base;
    let qh = base + 128;
    let sc = base + 192;
    const d = half(raw, base + 208);
    let y = b * QK_K;
    for (let n = 0; n < QK_K; n += 128) {
      for (let l = 0; l < 32; l += 1) {
        const is = l >> 4;
        const q1 = ((raw[ql + l]! & 0x0f) | (((raw[qh + l]! >> 0) & 3) << 4)) - 32;
        const q2 = ((raw[ql + l + 32]! & 0x0f) | (((raw[qh + l]! >> 2) & 3) << 4)) - 32;
        const q3 = ((raw[ql + l]! >> 4) | (((raw[qh + l]! >> 4) & 3) << 4)) - 32;
        const q4 = ((raw[ql + l + 32]! >> 4) | (((raw[qh + l]! >> 6) & 3) << 4)) - 32;
        out[y + l] = d * signed[sc + is]! * q1;
        out[y + l + 32] = d * signed[sc + is + 2]! * q2;
        out[y + l + 64] = d * signed[sc + is + 4]! * q3;
        out[y + l + 96] = d * signed[sc + is + 6]! * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

/** 32 values from 16 bytes of grid indices (low nibbles first), scaled by `dl`. */
function unpackIq4(raw: Buffer, qs: number, dl: number, out: Float32Array, y: number): void {
  for (let j = 0; j < 16; j += 1) {
    const byte = raw[qs + j]!;
    out[y + j] = dl * IQ4_GRID[byte & 0x0f]!;
    out[y + j + 16] = dl * IQ4_GRID[byte >> 4]!;
  }
}

/** IQ4_NL: blocks of 32, value `d grid[q]`. */
function dequantizeIq4Nl(raw: Buffer, out: Float32Array): void {
  for (let b = 0; b < out.length / 32; b += 1) unpackIq4(raw, b * 18 + 2, half(raw, b * 18), out, b * 32);
}

/** IQ4_XS: 8 sub-blocks of 32, value `d (s - 32) grid[q]` with a 6-bit s split over scales_l/scales_h. */
function dequantizeIq4Xs(raw: Buffer, out: Float32Array): void {
  for (let b = 0; b < out.length / QK_K; b += 1) {
    const base = b * 136;
    const d = half(raw, base);
    const scalesHigh = raw[base + 2]! | (raw[base + 3]! << 8);
    for (let ib = 0; ib < 8; ib += 1) {
      const low = (raw[base + 4 + (ib >> 1)]! >> (4 * (ib & 1))) & 0x0f;
      const high = (scalesHigh >> (2 * ib)) & 3;
      unpackIq4(raw, base + 8 + 16 * ib, d * ((low | (high << 4)) - 32), out, b * QK_K + 32 * ib);
    }
  }
}
