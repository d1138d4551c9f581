import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GenerationError } from '../generation.errors';
import { halfToFloat } from './gguf.reader';

/** One tensor's entry in a safetensors header. */
export interface SafetensorsTensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

const ELEMENT_BYTES: Record<string, number | undefined> = { F32: 4, F16: 2, BF16: 2 };

/** The element types {@link SafetensorsFile.readTensor} converts to float32. */
export const SUPPORTED_SAFETENSORS_DTYPES: readonly string[] = Object.keys(ELEMENT_BYTES);

/**
 * A `.safetensors` file: an 8-byte little-endian header length, a JSON header mapping names to
 * `{dtype, shape, data_offsets}`, then the data. Tensors are read on demand.
 */
export class SafetensorsFile {
  readonly tensors = new Map<string, SafetensorsTensorInfo>();
  private readonly fd: number;

  private constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      const size = fstatSync(this.fd).size;
      const head = Buffer.alloc(8);
      if (size < 8 || readSync(this.fd, head, 0, 8, 0) !== 8) invalid(path, 'file too short for a safetensors header');
      const headerLength = Number(head.readBigUInt64LE(0));
      if (headerLength <= 0 || 8 + headerLength > size || headerLength > 100 * 1024 * 1024) invalid(path, `implausible header length ${headerLength}`);
      const header = Buffer.alloc(headerLength);
      readSync(this.fd, header, 0, headerLength, 8);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(header.toString('utf8')) as Record<string, unknown>;
      } catch {
        invalid(path, 'the header is not valid JSON');
      }
      const dataStart = 8 + headerLength;
      for (const [name, value] of Object.entries(parsed)) {
        if (name === '__metadata__') continue;
        const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
        if (typeof entry.dtype !== 'string' || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets) || entry.data_offsets.length !== 2) {
          invalid(path, `malformed header entry for ${name}`);
        }
        const [begin, end] = entry.data_offsets as [number, number];
        if (dataStart + end > size || begin > end) invalid(path, `tensor ${name} runs past the end of the file (truncated?)`);
        this.tensors.set(name, { dtype: entry.dtype, shape: entry.shape as number[], begin: dataStart + begin, end: dataStart + end });
      }
    } catch (error) {
      closeSync(this.fd);
      throw error;
    }
  }

  static open(path: string): SafetensorsFile {
    return new SafetensorsFile(path);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** A tensor as float32, row-major in its declared shape. */
  readTensor(name: string): Float32Array {
    const info = this.tensors.get(name);
    if (!info) throw new GenerationError('MODEL_FILE_MISSING', `${this.path}: tensor ${name} is missing`);
    const width = ELEMENT_BYTES[info.dtype];
    if (!width) {
      throw new GenerationError('UNSUPPORTED_MODEL', `${this.path}: tensor ${name} has dtype ${info.dtype}; supported dtypes are ${SUPPORTED_SAFETENSORS_DTYPES.join(', ')}`);
    }
    const elements = info.shape.reduce((a, b) => a * b, 1);
    if (elements * width !== info.end - info.begin) invalid(this.path, `tensor ${name}: shape [${info.shape.join(', ')}] does not match its ${info.end - info.begin} bytes`);
    const raw = Buffer.allocUnsafe(info.end - info.begin);
    let done = 0;
    while (done < raw.length) {
      const n = readSync(this.fd, raw, done, raw.length - done, info.begin + done);
      if (n <= 0) invalid(this.path, `unexpected end of file in tensor ${name}`);
      done += n;
    }
    const out = new Float32Array(elements);
    if (info.dtype === 'F32') {
      for (let i = 0; i < elements; i += 1) out[i] = raw.readFloatLE(i * 4);
    } else if (info.dtype === 'F16') {
      for (let i = 0; i < elements; i += 1) out[i] = halfToFloat(raw.readUInt16LE(i * 2));
    } else {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < elements; i += 1) bits[i] = raw.readUInt16LE(i * 2) << 16;
    }
    return out;
  }
}

function invalid(path: string, message: string): never {
  throw new GenerationError('MODEL_FORMAT_INVALID', `${path}: ${message}`);
}
