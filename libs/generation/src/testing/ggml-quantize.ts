/**
 * A test-side ggml quantiser: encodes float32 values into every ggml type the GGUF reader
 * supports, written independently of the reader (element-addressed packing from the block layouts
 * of ggml-common.h, simple round-to-nearest with scales rounded up so nothing clips), so the
 * reader's dequantisation is checked against source values rather than against itself.
 * Not part of the library's public API.
 */

/** The ggml types this quantiser writes, with their GGUF type ids. */
export const GGML_TYPE_IDS = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14,
  IQ4_NL: 20, IQ4_XS: 23, BF16: 30,
} as const;

/** A ggml type name this quantiser writes. */
export type GgmlType = keyof typeof GGML_TYPE_IDS;

interface Format {
  readonly blockElements: number;
  readonly blockBytes: number;
  /**
   * The largest |dequantised - source| of one block, as a fraction of the block's largest |value|
   * (for the K-quants and IQ4_XS the block is the 256-value super-block). Derivations: a uniform
   * grid of step s errs by at most s/2; with scales rounded up, s is at most the ideal step
   * `range / levels` plus one unit of the quantised scale (1/63 of the largest sub-block scale for
   * 6-bit scales, 1/15 for 4-bit); an affine block's range is at most 2 max|x| plus the rounded-up
   * minimum. IQ4's grid [-127..113] has gaps of at most 24 and clips +127 to 113 (14 units).
   */
  readonly errorBound: number;
  encode(values: Float32Array, out: Buffer): void;
}

const IQ4_GRID = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/** IEEE float to half bits, round to nearest even. */
function toHalf(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 112;
  const mantissa = bits & 0x7fffff;
  if (exponent >= 31) return sign | 0x7c00;
  if (exponent <= 0) {
    const shifted = Math.round((mantissa | 0x800000) * Math.pow(2, exponent - 14));
    return sign | shifted;
  }
  let h = sign | (exponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1;
  return h;
}

function fromHalf(h: number): number {
  const magnitude = h & 0x7fff;
  const value = magnitude >= 0x400 ? Math.pow(2, (magnitude >> 10) - 15) * (1 + (magnitude & 0x3ff) / 1024) : Math.pow(2, -24) * magnitude;
  return h & 0x8000 ? -value : value;
}

/** The smallest half >= v (v >= 0), so a scale derived from it never makes values clip. */
function halfAtLeast(v: number): { bits: number; value: number } {
  let bits = toHalf(v);
  if (fromHalf(bits) < v) bits += 1;
  return { bits, value: fromHalf(bits) };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function extremes(values: Float32Array, from: number, count: number): { min: number; max: number; amax: number; extreme: number } {
  let min = Infinity;
  let max = -Infinity;
  let extreme = 0;
  for (let i = from; i < from + count; i += 1) {
    const v = values[i]!;
    min = Math.min(min, v);
    max = Math.max(max, v);
    if (Math.abs(v) > Math.abs(extreme)) extreme = v;
  }
  return { min, max, amax: Math.abs(extreme), extreme };
}

function nearestGrid(x: number): number {
  let best = 0;
  for (let k = 1; k < 16; k += 1) if (Math.abs(IQ4_GRID[k]! - x) < Math.abs(IQ4_GRID[best]! - x)) best = k;
  return best;
}

/** Sets 4-bit value `q` of element `j` of a 32-value block whose nibbles start at `at` (j, j + 16 share a byte). */
function putNibble32(out: Buffer, at: number, j: number, q: number): void {
  out[at + (j & 15)] |= j < 16 ? q : q << 4;
}

/** Symmetric 32-blocks: `(q - zero) d` (Q8_0, Q4_0, Q5_0). */
function symmetric32(levels: number, zero: number, put: (out: Buffer, base: number, j: number, q: number) => void, blockBytes: number, errorBound: number): Format {
  return {
    blockElements: 32,
    blockBytes,
    errorBound,
    encode(values, out) {
      for (let b = 0; b < values.length / 32; b += 1) {
        const base = b * blockBytes;
        const d = halfAtLeast(extremes(values, b * 32, 32).amax / (levels - 1 - zero));
        out.writeUInt16LE(d.bits, base);
        for (let j = 0; j < 32; j += 1) put(out, base, j, d.value === 0 ? zero : clamp(Math.round(values[b * 32 + j]! / d.value) + zero, 0, levels - 1));
      }
    },
  };
}

/** Affine 32-blocks: `q d + m` (Q4_1, Q5_1). */
function affine32(levels: number, put: (out: Buffer, base: number, j: number, q: number) => void, blockBytes: number, errorBound: number): Format {
  return {
    blockElements: 32,
    blockBytes,
    errorBound,
    encode(values, out) {
      for (let b = 0; b < values.length / 32; b += 1) {
        const base = b * blockBytes;
        const { min, max } = extremes(values, b * 32, 32);
        // m rounded down, d up: [m, m + (levels - 1) d] covers [min, max].
        let mBits = toHalf(min);
        if (fromHalf(mBits) > min) mBits = min < 0 ? mBits + 1 : mBits - 1;
        const m = fromHalf(mBits);
        const d = halfAtLeast((max - m) / (levels - 1));
        out.writeUInt16LE(d.bits, base);
        out.writeUInt16LE(mBits, base + 2);
        for (let j = 0; j < 32; j += 1) put(out, base, j, d.value === 0 ? 0 : clamp(Math.round((values[b * 32 + j]! - m) / d.value), 0, levels - 1));
      }
    },
  };
}

/**
 * Scales for a K-quant super-block of affine sub-blocks (`d sc q - dmin m`): minimum offsets
 * rounded up to `dmin m`, then scales rounded up so `levels - 1` steps reach each sub-block's max.
 */
function affineSubBlocks(values: Float32Array, from: number, subs: number, size: number, levels: number, scaleMax: number) {
  const stats = Array.from({ length: subs }, (_, j) => extremes(values, from + j * size, size));
  const dmin = halfAtLeast(Math.max(...stats.map((s) => -Math.min(0, s.min))) / scaleMax);
  const mins = stats.map((s) => (dmin.value === 0 ? 0 : Math.ceil(-Math.min(0, s.min) / dmin.value)));
  const needs = stats.map((s, j) => Math.max(0, s.max + dmin.value * mins[j]!) / (levels - 1));
  const d = halfAtLeast(Math.max(...needs) / scaleMax);
  const scales = needs.map((n) => (d.value === 0 ? 0 : Math.min(scaleMax, Math.ceil(n / d.value))));
  const quant = (x: number, j: number): number => {
    const step = d.value * scales[j]!;
    return step === 0 ? 0 : clamp(Math.round((x + dmin.value * mins[j]!) / step), 0, levels - 1);
  };
  return { d, dmin, scales, mins, quant };
}

/** Scales for a super-block of symmetric sub-blocks (`d sc q`, q in [-half, half - 1]). */
function symmetricSubBlocks(values: Float32Array, from: number, subs: number, size: number, halfLevels: number, scaleMax: number) {
  const ideal = Array.from({ length: subs }, (_, j) => extremes(values, from + j * size, size).amax / (halfLevels - 1));
  const d = halfAtLeast(Math.max(...ideal) / scaleMax);
  const scales = ideal.map((s) => (d.value === 0 ? 0 : Math.min(scaleMax, Math.ceil(s / d.value))));
  const quant = (x: number, j: number): number => {
    const step = d.value * scales[j]!;
    return step === 0 ? 0 : clamp(Math.round(x / step), -halfLevels, halfLevels - 1);
  };
  return { d, scales, quant };
}

const FORMATS: Record<Exclude<GgmlType, 'F32' | 'F16' | 'BF16'>, Format> = {
  Q8_0: symmetric32(255, 127, (out, base, j, q) => out.writeInt8(q - 127, base + 2 + j), 34, (1 / 254) * 1.01),
  Q4_0: symmetric32(16, 8, (out, base, j, q) => putNibble32(out, base + 2, j, q), 18, (1 / 14) * 1.01),
  Q5_0: symmetric32(32, 16, (out, base, j, q) => {
    putNibble32(out, base + 6, j, q & 15);
    out.writeUInt32LE((out.readUInt32LE(base + 2) | ((q >> 4) << j)) >>> 0, base + 2);
  }, 22, (1 / 30) * 1.01),
  Q4_1: affine32(16, (out, base, j, q) => putNibble32(out, base + 4, j, q), 20, (1 / 15) * 1.01),
  Q5_1: affine32(32, (out, base, j, q) => {
    putNibble32(out, base + 8, j, q & 15);
    out.writeUInt32LE((out.readUInt32LE(base + 4) | ((q >> 4) << j)) >>> 0, base + 4);
  }, 24, (1 / 31) * 1.01),
  Q2_K: {
    blockElements: 256,
    blockBytes: 84,
    errorBound: ((2 + 1 / 15) / 3) * (1 + 1 / 15) * 0.5 * 1.01,
    encode(values, out) {
      for (let b = 0; b < values.length / 256; b += 1) {
        const base = b * 84;
        const q = affineSubBlocks(values, b * 256, 16, 16, 4, 15);
        q.scales.forEach((sc, j) => (out[base + j] = sc | (q.mins[j]! << 4)));
        for (let e = 0; e < 256; e += 1) out[base + 16 + 32 * (e >> 7) + (e & 31)] |= q.quant(values[b * 256 + e]!, e >> 4) << (2 * ((e >> 5) & 3));
        out.writeUInt16LE(q.d.bits, base + 80);
        out.writeUInt16LE(q.dmin.bits, base + 82);
      }
    },
  },
  Q3_K: {
    blockElements: 256,
    blockBytes: 110,
    errorBound: (1 / 3) * (1 + 1 / 31) * 0.5 * 1.01,
    encode(values, out) {
      for (let b = 0; b < values.length / 256; b += 1) {
        const base = b * 110;
        const q = symmetricSubBlocks(values, b * 256, 16, 16, 4, 31);
        q.scales.forEach((sc, j) => {
          const stored = sc + 32;
          out[base + 96 + (j & 7)] |= (stored & 15) << (j < 8 ? 0 : 4);
          out[base + 96 + 8 + (j % 4)] |= (stored >> 4) << (2 * Math.floor(j / 4));
        });
        for (let e = 0; e < 256; e += 1) {
          const code = q.quant(values[b * 256 + e]!, e >> 4) + 4; // 0..7
          out[base + 32 + 32 * (e >> 7) + (e & 31)] |= (code & 3) << (2 * ((e >> 5) & 3));
          if (code & 4) out[base + (e & 31)] |= 1 << (e >> 5);
        }
        out.writeUInt16LE(q.d.bits, base + 108);
      }
    },
  },
  Q4_K: kQuant(16, 144, 16, ((2 + 1 / 63) / 15) * (1 + 1 / 63) * 0.5 * 1.01),
  Q5_K: kQuant(32, 176, 48, ((2 + 1 / 63) / 31) * (1 + 1 / 63) * 0.5 * 1.01),
  Q6_K: {
    blockElements: 256,
    blockBytes: 210,
    errorBound: (1 / 31) * (1 + 1 / 127) * 0.5 * 1.01,
    encode(values, out) {
      for (let b = 0; b < values.length / 256; b += 1) {
        const base = b * 210;
        const q = symmetricSubBlocks(values, b * 256, 16, 16, 32, 127);
        q.scales.forEach((sc, j) => out.writeInt8(sc, base + 192 + j));
        for (let e = 0; e < 256; e += 1) {
          const code = q.quant(values[b * 256 + e]!, e >> 4) + 32; // 0..63
          const group = (e >> 5) & 3;
          const l = e & 31;
          out[base + 64 * (e >> 7) + 32 * (group & 1) + l] |= (code & 15) << (group >= 2 ? 4 : 0);
          out[base + 128 + 32 * (e >> 7) + l] |= (code >> 4) << (2 * group);
        }
        out.writeUInt16LE(q.d.bits, base + 208);
      }
    },
  },
  IQ4_NL: {
    blockElements: 32,
    blockBytes: 18,
    errorBound: (14 / 127) * 1.01,
    encode(values, out) {
      for (let b = 0; b < values.length / 32; b += 1) {
        // The extreme value maps to -127, the grid's widest end; d carries the sign.
        const bits = toHalf(extremes(values, b * 32, 32).extreme / -127);
        const d = fromHalf(bits);
        out.writeUInt16LE(bits, b * 18);
        for (let j = 0; j < 32; j += 1) putNibble32(out, b * 18 + 2, j, d === 0 ? 8 : nearestGrid(values[b * 32 + j]! / d));
      }
    },
  },
  IQ4_XS: {
    blockElements: 256,
    blockBytes: 136,
    errorBound: (14 / 127 + 1 / 62 + 14 / (127 * 62)) * 1.01,
    encode(values, out) {
      for (let b = 0; b < values.length / 256; b += 1) {
        const base = b * 136;
        const ideal = Array.from({ length: 8 }, (_, ib) => extremes(values, b * 256 + 32 * ib, 32).extreme / -127);
        const d = halfAtLeast(Math.max(...ideal.map(Math.abs)) / 31);
        out.writeUInt16LE(d.bits, base);
        let high = 0;
        for (let ib = 0; ib < 8; ib += 1) {
          const s = d.value === 0 ? 0 : clamp(Math.round(ideal[ib]! / d.value), -32, 31);
          const stored = s + 32;
          out[base + 4 + (ib >> 1)] |= (stored & 15) << (4 * (ib & 1));
          high |= (stored >> 4) << (2 * ib);
          const dl = d.value * s;
          for (let w = 0; w < 32; w += 1) putNibble32(out, base + 8 + 16 * ib, w, dl === 0 ? 8 : nearestGrid(values[b * 256 + 32 * ib + w]! / dl));
        }
        out.writeUInt16LE(high, base + 2);
      }
    },
  },
};

/** Q4_K / Q5_K: 8 affine sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes. */
function kQuant(levels: number, blockBytes: number, qsAt: number, errorBound: number): Format {
  return {
    blockElements: 256,
    blockBytes,
    errorBound,
    encode(values, out) {
      for (let b = 0; b < values.length / 256; b += 1) {
        const base = b * blockBytes;
        const q = affineSubBlocks(values, b * 256, 8, 32, levels, 63);
        out.writeUInt16LE(q.d.bits, base);
        out.writeUInt16LE(q.dmin.bits, base + 2);
        const scales = base + 4;
        for (let j = 0; j < 8; j += 1) {
          const sc = q.scales[j]!;
          const m = q.mins[j]!;
          if (j < 4) {
            out[scales + j] |= sc;
            out[scales + j + 4] |= m;
          } else {
            out[scales + j + 4] |= (sc & 15) | ((m & 15) << 4);
            out[scales + j - 4] |= (sc >> 4) << 6;
            out[scales + j] |= (m >> 4) << 6;
          }
        }
        for (let e = 0; e < 256; e += 1) {
          const code = q.quant(values[b * 256 + e]!, e >> 5);
          out[base + qsAt + 32 * (e >> 6) + (e & 31)] |= (code & 15) << (((e >> 5) & 1) * 4);
          if (levels === 32 && code & 16) out[base + 16 + (e & 31)] |= 1 << (e >> 5);
        }
      }
    },
  };
}

/** Block size (values) of a type: tensors' rows must be a whole number of blocks. */
export function blockElements(type: GgmlType): number {
  return type === 'F32' || type === 'F16' || type === 'BF16' ? 1 : FORMATS[type].blockElements;
}

/** The documented error bound of a type (a fraction of a block's largest |value|); 0 for F32. */
export function errorBound(type: GgmlType): number {
  if (type === 'F32') return 0;
  if (type === 'F16') return Math.pow(2, -11);
  if (type === 'BF16') return Math.pow(2, -8);
  return FORMATS[type].errorBound;
}

/** Encodes `values` (a whole number of blocks) as ggml `type`. */
export function quantize(type: GgmlType, values: Float32Array): Buffer {
  if (type === 'F32') return Buffer.from(Float32Array.from(values).buffer);
  if (type === 'F16' || type === 'BF16') {
    const out = Buffer.alloc(values.length * 2);
    const words = new Uint32Array(Float32Array.from(values).buffer);
    values.forEach((v, i) => {
      const w = words[i]!;
      out.writeUInt16LE(type === 'F16' ? toHalf(v) : ((w + 0x7fff + ((w >>> 16) & 1)) >>> 16) & 0xffff, i * 2);
    });
    return out;
  }
  const format = FORMATS[type];
  if (values.length % format.blockElements !== 0) throw new Error(`${type} needs a multiple of ${format.blockElements} values, got ${values.length}`);
  const out = Buffer.alloc((values.length / format.blockElements) * format.blockBytes);
  format.encode(values, out);
  return out;
}

/** Byte offsets of each block's float16 fields (kept finite in {@link randomBlocks}). */
const HALF_FIELDS: Record<Exclude<GgmlType, 'F32' | 'F16' | 'BF16'>, readonly number[]> = {
  Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0], Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208],
  IQ4_NL: [0], IQ4_XS: [0],
};

/**
 * `count` blocks of random bytes of a block type (every code, scale and bit pattern is possible),
 * with finite float16 scales in [-2, 2): input for checking a dequantiser against a reference.
 */
export function randomBlocks(type: Exclude<GgmlType, 'F32' | 'F16' | 'BF16'>, count: number, seed: number): Buffer {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const { blockBytes } = FORMATS[type];
  const out = Buffer.alloc(count * blockBytes);
  for (let i = 0; i < out.length; i += 1) out[i] = Math.floor(next() * 256);
  for (let b = 0; b < count; b += 1) {
    for (const at of HALF_FIELDS[type]) out.writeUInt16LE(toHalf(4 * next() - 2), b * blockBytes + at);
  }
  return out;
}
