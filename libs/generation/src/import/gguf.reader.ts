import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GenerationError } from '../generation.errors';
import { dequantize, GGML_TYPES, OTHER_GGML_TYPE_NAMES, SUPPORTED_GGML_TYPES } from './ggml-quants';

export { dequantize, halfToFloat, SUPPORTED_GGML_TYPES } from './ggml-quants';

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
          typeName: GGML_TYPES[type]?.name ?? OTHER_GGML_TYPE_NAMES[type] ?? `unknown (id ${type})`,
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
    // ggml quantises row by row: each row (dims[0] values) is a whole number of blocks.
    if ((info.dims[0] ?? 1) % layout.blockElements !== 0) {
      invalid(this.path, `tensor ${name} has rows of ${info.dims[0]} values, not a whole number of ${layout.name} blocks of ${layout.blockElements}`);
    }
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
