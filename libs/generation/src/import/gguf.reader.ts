import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GenerationError } from '../generation.errors';

/** A metadata value of a GGUF file (arrays of numbers are kept as plain arrays). */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** One tensor's header entry. `dims` are ggml order: fastest-varying first. */
export interface GgufTensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  readonly typeName: string;
  /** Absolute byte offset of the tensor's data in the file. */
  readonly offset: number;
  readonly elements: number;
}

/** Tensor element types the reader can dequantise to float32, with their block layouts. */
const GGML_TYPES: Record<number, { name: string; blockElements: number; blockBytes: number } | undefined> = {
  0: { name: 'F32', blockElements: 1, blockBytes: 4 },
  1: { name: 'F16', blockElements: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockElements: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockElements: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockElements: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockElements: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockElements: 32, blockBytes: 34 },
  12: { name: 'Q4_K', blockElements: 256, blockBytes: 144 },
  14: { name: 'Q6_K', blockElements: 256, blockBytes: 210 },
  30: { name: 'BF16', blockElements: 1, blockBytes: 2 },
};

/** Names of the ggml types GGUF files use, for error messages about unsupported ones. */
const GGML_TYPE_NAMES: Record<number, string> = {
  9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K', 13: 'Q5_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS',
  19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32',
  27: 'I64', 28: 'F64', 29: 'IQ1_M',
};

/** The ggml type names {@link GgufFile.readTensor} dequantises. */
export const SUPPORTED_GGML_TYPES: readonly string[] = Object.values(GGML_TYPES).map((t) => t!.name);

function invalid(path: string, message: string): never {
  throw new GenerationError('MODEL_FORMAT_INVALID', `${path}: ${message}`);
}

/**
 * Reads a GGUF (v2 or v3) file: metadata and tensor infos up front, tensor data on demand
 * (positioned reads, so multi-gigabyte files are never held whole in memory).
 */
export class GgufFile {
  readonly version: number;
  readonly metadata = new Map<string, GgufValue>();
  readonly tensors = new Map<string, GgufTensorInfo>();
  private readonly fd: number;
  private readonly size: number;

  private constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
    try {
      const cursor = new HeaderCursor(this.fd, this.size, path);
      if (cursor.bytes(4).toString('latin1') !== 'GGUF') invalid(path, 'not a GGUF file (magic is not "GGUF")');
      this.version = cursor.u32();
      if (this.version !== 2 && this.version !== 3) {
        throw new GenerationError('UNSUPPORTED_MODEL', `${path}: GGUF version ${this.version} is not supported (2 and 3 are)`);
      }
      const tensorCount = cursor.u64();
      const metadataCount = cursor.u64();
      for (let i = 0; i < metadataCount; i += 1) {
        const key = cursor.string();
        this.metadata.set(key, cursor.value(cursor.u32()));
      }
      const infos: Omit<GgufTensorInfo, 'offset'>[] = [];
      const relative: number[] = [];
      for (let i = 0; i < tensorCount; i += 1) {
        const name = cursor.string();
        const nDims = cursor.u32();
        if (nDims > 4) invalid(path, `tensor ${name} has ${nDims} dimensions`);
        const dims = Array.from({ length: nDims }, () => cursor.u64());
        const type = cursor.u32();
        relative.push(cursor.u64());
        infos.push({
          name,
          dims,
          type,
          typeName: GGML_TYPES[type]?.name ?? GGML_TYPE_NAMES[type] ?? `type ${type}`,
          elements: dims.reduce((a, b) => a * b, 1),
        });
      }
      const alignmentValue = this.metadata.get('general.alignment');
      const alignment = typeof alignmentValue === 'number' && alignmentValue > 0 ? alignmentValue : 32;
      const dataStart = Math.ceil(cursor.position / alignment) * alignment;
      infos.forEach((info, i) => this.tensors.set(info.name, { ...info, offset: dataStart + relative[i]! }));
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  /** Opens and parses the header; throws `MODEL_FORMAT_INVALID` or `UNSUPPORTED_MODEL`. */
  static open(path: string): GgufFile {
    return new GgufFile(path);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** A metadata value, or undefined. */
  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /** A tensor dequantised to float32, in ggml order (dims[0] fastest, i.e. row-major (dims[1], dims[0])). */
  readTensor(name: string): Float32Array {
    const info = this.tensors.get(name);
    if (!info) throw new GenerationError('MODEL_FILE_MISSING', `${this.path}: tensor ${name} is missing`);
    const layout = GGML_TYPES[info.type];
    if (!layout) {
      throw new GenerationError(
        'UNSUPPORTED_MODEL',
        `${this.path}: tensor ${name} has type ${info.typeName}; supported types are ${SUPPORTED_GGML_TYPES.join(', ')}`,
      );
    }
    if (info.elements % layout.blockElements !== 0) invalid(this.path, `tensor ${name} is not a whole number of ${layout.name} blocks`);
    const byteLength = (info.elements / layout.blockElements) * layout.blockBytes;
    if (info.offset + byteLength > this.size) invalid(this.path, `tensor ${name} runs past the end of the file (truncated?)`);
    const raw = Buffer.allocUnsafe(byteLength);
    let done = 0;
    while (done < byteLength) {
      const n = readSync(this.fd, raw, done, byteLength - done, info.offset + done);
      if (n <= 0) invalid(this.path, `unexpected end of file in tensor ${name}`);
      done += n;
    }
    return dequantize(layout.name, raw, info.elements);
  }
}

/** Sequential reader over the header, pulling the file in as it goes. */
class HeaderCursor {
  position = 0;
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly path: string,
  ) {}

  bytes(n: number): Buffer {
    this.ensure(n);
    const start = this.position - this.bufferStart;
    this.position += n;
    return this.buffer.subarray(start, start + n);
  }

  u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }

  u64(): number {
    const value = this.bytes(8).readBigUInt64LE(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) invalid(this.path, `a count or offset (${value}) is too large`);
    return Number(value);
  }

  string(): string {
    const length = this.u64();
    if (length > 1 << 30) invalid(this.path, `a string of ${length} bytes in the header`);
    return this.bytes(length).toString('utf8');
  }

  value(type: number): GgufValue {
    switch (type) {
      case 0: return this.bytes(1).readUInt8(0);
      case 1: return this.bytes(1).readInt8(0);
      case 2: return this.bytes(2).readUInt16LE(0);
      case 3: return this.bytes(2).readInt16LE(0);
      case 4: return this.bytes(4).readUInt32LE(0);
      case 5: return this.bytes(4).readInt32LE(0);
      case 6: return this.bytes(4).readFloatLE(0);
      case 7: return this.bytes(1).readUInt8(0) !== 0;
      case 8: return this.string();
      case 9: {
        const itemType = this.u32();
        const count = this.u64();
        const items: GgufValue[] = new Array<GgufValue>(count);
        for (let i = 0; i < count; i += 1) items[i] = this.value(itemType);
        return items;
      }
      case 10: return narrow(this.bytes(8).readBigUInt64LE(0));
      case 11: return narrow(this.bytes(8).readBigInt64LE(0));
      case 12: return this.bytes(8).readDoubleLE(0);
      default: return invalid(this.path, `unknown metadata value type ${type} at byte ${this.position}`);
    }
  }

  private ensure(n: number): void {
    const end = this.position + n;
    if (end > this.size) invalid(this.path, 'the header runs past the end of the file (truncated?)');
    if (end <= this.bufferStart + this.buffer.length) return;
    const want = Math.min(this.size - this.position, Math.max(n, 1 << 20));
    const chunk = Buffer.allocUnsafe(want);
    let done = 0;
    while (done < want) {
      const read = readSync(this.fd, chunk, done, want - done, this.position + done);
      if (read <= 0) break;
      done += read;
    }
    this.buffer = chunk.subarray(0, done);
    this.bufferStart = this.position;
  }
}

function narrow(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

/** IEEE half to float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * Math.pow(2, -14) * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * Math.pow(2, exponent - 15) * (1 + fraction / 1024);
}

/** Dequantises a block-encoded ggml tensor (layouts from ggml-quants.c) to float32. */
export function dequantize(type: string, raw: Buffer, elements: number): Float32Array {
  const out = new Float32Array(elements);
  switch (type) {
    case 'F32':
      for (let i = 0; i < elements; i += 1) out[i] = raw.readFloatLE(i * 4);
      return out;
    case 'F16':
      for (let i = 0; i < elements; i += 1) out[i] = halfToFloat(raw.readUInt16LE(i * 2));
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
    case 'Q8_0':
      for (let b = 0; b < elements / 32; b += 1) {
        const base = b * 34;
        const d = halfToFloat(raw.readUInt16LE(base));
        for (let j = 0; j < 32; j += 1) out[b * 32 + j] = d * raw.readInt8(base + 2 + j);
      }
      return out;
    case 'Q4_0':
    case 'Q4_1': {
      const withMin = type === 'Q4_1';
      const blockBytes = withMin ? 20 : 18;
      for (let b = 0; b < elements / 32; b += 1) {
        const base = b * blockBytes;
        const d = halfToFloat(raw.readUInt16LE(base));
        const m = withMin ? halfToFloat(raw.readUInt16LE(base + 2)) : 0;
        const qs = base + (withMin ? 4 : 2);
        for (let j = 0; j < 16; j += 1) {
          const byte = raw[qs + j]!;
          out[b * 32 + j] = withMin ? (byte & 0x0f) * d + m : ((byte & 0x0f) - 8) * d;
          out[b * 32 + j + 16] = withMin ? (byte >> 4) * d + m : ((byte >> 4) - 8) * d;
        }
      }
      return out;
    }
    case 'Q5_0':
    case 'Q5_1': {
      const withMin = type === 'Q5_1';
      const blockBytes = withMin ? 24 : 22;
      for (let b = 0; b < elements / 32; b += 1) {
        const base = b * blockBytes;
        const d = halfToFloat(raw.readUInt16LE(base));
        const m = withMin ? halfToFloat(raw.readUInt16LE(base + 2)) : 0;
        const qhAt = base + (withMin ? 4 : 2);
        const qh = raw.readUInt32LE(qhAt);
        const qs = qhAt + 4;
        for (let j = 0; j < 16; j += 1) {
          const high0 = ((qh >>> j) << 4) & 0x10;
          const high1 = (qh >>> (j + 12)) & 0x10;
          const x0 = (raw[qs + j]! & 0x0f) | high0;
          const x1 = (raw[qs + j]! >> 4) | high1;
          out[b * 32 + j] = withMin ? x0 * d + m : (x0 - 16) * d;
          out[b * 32 + j + 16] = withMin ? x1 * d + m : (x1 - 16) * d;
        }
      }
      return out;
    }
    case 'Q4_K':
      dequantizeQ4K(raw, out);
      return out;
    case 'Q6_K':
      dequantizeQ6K(raw, out);
      return out;
    default:
      throw new GenerationError('UNSUPPORTED_MODEL', `tensor type ${type} cannot be dequantised`);
  }
}

/** 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K block (ggml's get_scale_min_k4). */
function scaleMin(scales: Buffer, at: number, j: number): [number, number] {
  if (j < 4) return [scales[at + j]! & 63, scales[at + j + 4]! & 63];
  return [
    (scales[at + j + 4]! & 0x0f) | ((scales[at + j - 4]! >> 6) << 4),
    (scales[at + j + 4]! >> 4) | ((scales[at + j]! >> 6) << 4),
  ];
}

function dequantizeQ4K(raw: Buffer, out: Float32Array): void {
  const blocks = out.length / 256;
  for (let b = 0; b < blocks; b += 1) {
    const base = b * 144;
    const d = halfToFloat(raw.readUInt16LE(base));
    const dmin = halfToFloat(raw.readUInt16LE(base + 2));
    const scales = base + 4;
    let q = base + 16;
    let y = b * 256;
    for (let j = 0, is = 0; j < 256; j += 64, is += 2) {
      const [sc1, m1] = scaleMin(raw, scales, is);
      const [sc2, m2] = scaleMin(raw, scales, is + 1);
      for (let l = 0; l < 32; l += 1) out[y + l] = d * sc1 * (raw[q + l]! & 0x0f) - dmin * m1;
      for (let l = 0; l < 32; l += 1) out[y + 32 + l] = d * sc2 * (raw[q + l]! >> 4) - dmin * m2;
      q += 32;
      y += 64;
    }
  }
}

function dequantizeQ6K(raw: Buffer, out: Float32Array): void {
  const blocks = out.length / 256;
  for (let b = 0; b < blocks; b += 1) {
    const base = b * 210;
    let ql = base;
    let qh = base + 128;
    let sc = base + 192;
    const d = halfToFloat(raw.readUInt16LE(base + 208));
    let y = b * 256;
    for (let n = 0; n < 256; n += 128) {
      for (let l = 0; l < 32; l += 1) {
        const is = l >> 4;
        const q1 = ((raw[ql + l]! & 0x0f) | (((raw[qh + l]! >> 0) & 3) << 4)) - 32;
        const q2 = ((raw[ql + l + 32]! & 0x0f) | (((raw[qh + l]! >> 2) & 3) << 4)) - 32;
        const q3 = ((raw[ql + l]! >> 4) | (((raw[qh + l]! >> 4) & 3) << 4)) - 32;
        const q4 = ((raw[ql + l + 32]! >> 4) | (((raw[qh + l]! >> 6) & 3) << 4)) - 32;
        out[y + l] = d * raw.readInt8(sc + is) * q1;
        out[y + l + 32] = d * raw.readInt8(sc + is + 2) * q2;
        out[y + l + 64] = d * raw.readInt8(sc + is + 4) * q3;
        out[y + l + 96] = d * raw.readInt8(sc + is + 6) * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}
