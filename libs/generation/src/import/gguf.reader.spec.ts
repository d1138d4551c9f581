import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { floatToHalf, writeGguf } from '../testing/model-files';
import { dequantize, GgufFile, halfToFloat } from './gguf.reader';

describe('halfToFloat', () => {
  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, Math.pow(2, -24)],
    [0x3555, 0.333251953125],
    [0x0000, 0],
  ])('decodes half bits %i to %d', (bits, value) => {
    expect(halfToFloat(bits)).toBe(value);
  });

  it('round-trips with the test encoder', () => {
    for (const v of [0.1, -3.75, 1e-4, 1000.5]) expect(Math.abs(halfToFloat(floatToHalf(v)) - v)).toBeLessThan(Math.abs(v) * 1e-3);
  });
});

describe('dequantize', () => {
  it('reads BF16 as the top half of a float32', () => {
    const raw = Buffer.alloc(4);
    raw.writeUInt16LE(0x3f80, 0); // 1.0
    raw.writeUInt16LE(0xc0a0, 2); // -5.0
    expect(Array.from(dequantize('BF16', raw, 2))).toEqual([1, -5]);
  });

  it('scales Q8_0 blocks by their half-precision factor', () => {
    const raw = Buffer.alloc(34);
    raw.writeUInt16LE(0x3800, 0); // d = 0.5
    for (let j = 0; j < 32; j += 1) raw.writeInt8(j - 16, 2 + j);
    expect(Array.from(dequantize('Q8_0', raw, 32))).toEqual(Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  it('unpacks Q4_0 nibbles, low halves first, offset by 8', () => {
    const raw = Buffer.alloc(18);
    raw.writeUInt16LE(0x4000, 0); // d = 2
    for (let j = 0; j < 16; j += 1) raw[2 + j] = (15 - (j % 16)) * 16 + j; // low nibble j, high 15 - j
    const values = Array.from(dequantize('Q4_0', raw, 32));
    expect(values.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, j) => (j - 8) * 2));
    expect(values.slice(16)).toEqual(Array.from({ length: 16 }, (_, j) => (7 - j) * 2));
  });

  it('adds Q5_0 high bits from the 32-bit mask', () => {
    const raw = Buffer.alloc(22);
    raw.writeUInt16LE(0x3c00, 0); // d = 1
    raw.writeUInt32LE(0x00010001, 2); // high bit for element 0 and element 16
    const values = dequantize('Q5_0', raw, 32);
    expect(values[0]).toBe(16 - 16);
    expect(values[1]).toBe(-16);
    expect(values[16]).toBe(0);
    expect(values[17]).toBe(-16);
  });

  it('applies Q4_K sub-block scales and minimums', () => {
    const raw = Buffer.alloc(144);
    raw.writeUInt16LE(0x3c00, 0); // d = 1
    raw.writeUInt16LE(0x3c00, 2); // dmin = 1
    // Sub-blocks 0-3: scale 1 + j, min j; sub-blocks 4-7: scale 2, min 1 (packed in bytes 8-11).
    for (let j = 0; j < 4; j += 1) {
      raw[4 + j] = 1 + j;
      raw[4 + 4 + j] = j;
      raw[4 + 8 + j] = 0x12;
    }
    for (let l = 0; l < 128; l += 1) raw[16 + l] = 0x53; // low nibble 3, high nibble 5
    const values = dequantize('Q4_K', raw, 256);
    expect(values[0]).toBe(1 * 3 - 0); // sub-block 0, low nibbles
    expect(values[32]).toBe(2 * 5 - 1); // sub-block 1, high nibbles
    expect(values[64]).toBe(3 * 3 - 2); // sub-block 2
    expect(values[255]).toBe(2 * 5 - 1); // sub-block 7
  });

  it('recentres Q6_K values at 32 and scales them per 16 elements', () => {
    const raw = Buffer.alloc(210);
    raw.fill(0x11, 0, 128); // ql: low and high nibbles 1
    raw.fill(0, 128, 192); // qh: no high bits
    for (let i = 0; i < 16; i += 1) raw.writeInt8(i + 1, 192 + i);
    raw.writeUInt16LE(0x3c00, 208); // d = 1
    const values = dequantize('Q6_K', raw, 256);
    expect(values[0]).toBe(1 * (1 - 32));
    expect(values[16]).toBe(2 * (1 - 32));
    expect(values[32]).toBe(3 * (1 - 32));
    expect(values[128]).toBe(9 * (1 - 32));
  });
});

describe('GgufFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gguf-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads typed metadata and tensors with ggml dimension order', () => {
    const path = join(dir, 'a.gguf');
    const data = Float32Array.from({ length: 64 }, (_, i) => i / 8 - 4);
    writeGguf(
      path,
      [
        { key: 'general.architecture', type: 'string', value: 'llama' },
        { key: 'some.count', type: 'u32', value: 7 },
        { key: 'some.list', type: 'strings', value: ['a', 'bé'] },
      ],
      [
        { name: 'w', shape: [2, 32], data, type: 'F32' },
        { name: 'q', shape: [2, 32], data, type: 'Q8_0' },
      ],
    );
    const file = GgufFile.open(path);
    try {
      expect(file.version).toBe(3);
      expect(file.get('general.architecture')).toBe('llama');
      expect(file.get('some.count')).toBe(7);
      expect(file.get('some.list')).toEqual(['a', 'bé']);
      expect(file.tensors.get('w')).toMatchObject({ dims: [32, 2], typeName: 'F32', elements: 64 });
      expect(Array.from(file.readTensor('w'))).toEqual(Array.from(data));
      const q = file.readTensor('q');
      q.forEach((v, i) => expect(Math.abs(v - data[i]!)).toBeLessThan(0.03));
    } finally {
      file.close();
    }
  });

  it('refuses files that are not GGUF, truncated headers and unknown versions', () => {
    writeFileSync(join(dir, 'x.gguf'), 'not a model at all');
    expect(() => GgufFile.open(join(dir, 'x.gguf'))).toThrow(/not a GGUF file/);
    const header = Buffer.alloc(24);
    header.write('GGUF', 0, 'latin1');
    header.writeUInt32LE(1, 4);
    writeFileSync(join(dir, 'v1.gguf'), header);
    expect(() => GgufFile.open(join(dir, 'v1.gguf'))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MODEL' }));
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(5n, 16); // five metadata entries promised, none present
    writeFileSync(join(dir, 'short.gguf'), header);
    expect(() => GgufFile.open(join(dir, 'short.gguf'))).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_INVALID' }));
  });
});
