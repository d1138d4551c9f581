import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockElements, errorBound, GGML_TYPE_IDS, type GgmlType, quantize, randomBlocks } from '../testing/ggml-quantize';
import { writeGguf } from '../testing/model-files';
import { dequantize, SUPPORTED_GGML_TYPES } from './ggml-quants';
import { GgufFile } from './gguf.reader';

/** mulberry32: deterministic test data. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rows of 512 values whose 256-value blocks differ in kind: symmetric, tiny, all positive with an
 * offset, all negative with one outlier, all zero, and 32-value pieces of very different scales.
 */
function testTensor(rows: number, seed: number): Float32Array {
  const next = generator(seed);
  const data = new Float32Array(rows * 512);
  for (let b = 0; b < data.length / 256; b += 1) {
    const kind = b % 6;
    for (let i = 0; i < 256; i += 1) {
      const u = 2 * next() - 1;
      const at = b * 256 + i;
      if (kind === 0) data[at] = u;
      else if (kind === 1) data[at] = u * 1e-3;
      else if (kind === 2) data[at] = 0.5 + 1.5 * next();
      else if (kind === 3) data[at] = i === 77 ? -40 : -0.2 - next();
      else if (kind === 4) data[at] = 0;
      else data[at] = u * Math.pow(10, (i >> 5) % 4 - 2);
    }
  }
  return data;
}

const TYPES = Object.keys(GGML_TYPE_IDS) as GgmlType[];

describe('GGUF dequantisation against a test-side quantiser', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ggml-quants-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('covers every type the reader supports', () => {
    expect([...TYPES].sort()).toEqual([...SUPPORTED_GGML_TYPES].sort());
  });

  it.each(TYPES)('reads %s back within its documented error of the source values', (type) => {
    const source = testTensor(4, 7 + GGML_TYPE_IDS[type]);
    const path = join(dir, `${type}.gguf`);
    writeGguf(path, [{ key: 'general.architecture', type: 'string', value: 'llama' }], [
      { name: 'a', shape: [4, 512], data: source, type },
      // A second tensor after the first checks offsets and alignment of the type's byte size.
      { name: 'b', shape: [1, 512], data: source.subarray(0, 512), type },
    ]);
    const file = GgufFile.open(path);
    try {
      expect(file.tensors.get('a')).toMatchObject({ dims: [512, 4], typeName: type });
      const read = file.readTensor('a');
      const block = Math.max(blockElements(type), 32);
      const bound = errorBound(type);
      let worstRatio = 0;
      for (let b = 0; b < source.length / block; b += 1) {
        let amax = 0;
        let worst = 0;
        for (let i = b * block; i < (b + 1) * block; i += 1) {
          amax = Math.max(amax, Math.abs(source[i]!));
          worst = Math.max(worst, Math.abs(read[i]! - source[i]!));
        }
        if (amax === 0) expect(worst).toBe(0);
        else worstRatio = Math.max(worstRatio, worst / amax);
      }
      expect(worstRatio).toBeLessThanOrEqual(bound);
      expect(Array.from(file.readTensor('b'))).toEqual(Array.from(read.subarray(0, 512)));
    } finally {
      file.close();
    }
  });

  it('documents bounds that order the types by bits per value', () => {
    const order: GgmlType[] = ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_0', 'BF16', 'F16', 'F32'];
    const bounds = order.map(errorBound);
    expect([...bounds].sort((a, b) => b - a)).toEqual(bounds);
    expect(errorBound('Q4_0')).toBeLessThan(0.08);
    expect(errorBound('IQ4_NL')).toBeLessThan(0.12);
  });

  it('measures an RMS error well inside the bound on uniform data', () => {
    const source = Float32Array.from({ length: 4096 }, generator(3)).map((u) => 2 * u - 1);
    for (const type of ['Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL', 'IQ4_XS'] as const) {
      const read = dequantize(type, quantize(type, source), source.length);
      const rms = Math.sqrt(read.reduce((sum, v, i) => sum + (v - source[i]!) ** 2, 0) / source.length);
      expect(rms).toBeLessThan(errorBound(type) * 0.75);
      expect(rms).toBeGreaterThan(0);
    }
  });
});

describe("dequantize against ggml's own reference", () => {
  /**
   * sha256 of the float32 values ggml's Python reference (llama.cpp gguf-py, `gguf.quants.dequantize`,
   * numpy) gives for `randomBlocks(type, 8, 2026)`: random bytes, so every code, scale and bit
   * position is exercised, with finite float16 scales. Recorded once by running gguf-py on the
   * same bytes; the reader must agree bit for bit.
   */
  const GGUF_PY_SHA256: Record<Exclude<GgmlType, 'F32' | 'F16' | 'BF16'>, string> = {
    Q4_0: 'bc64faf813795c9d3d17f3197d7bc5a411487874256e9d4b2de1bc5201e917f9',
    Q4_1: '4f8cc7727f46a9bdcdc3c74495ea79fa0e92346bbde31029a48b64c34d6913c7',
    Q5_0: '161dba2959b52ba38c6888b10e157540ab27fb41abc01f8156e6aecb6d55f802',
    Q5_1: '8265737073f66ac16349a4acc33cc4d353ef6f6fd301dea4147c328a187a6748',
    Q8_0: 'bd8fd48237801f561e26370de25a6f6816408c2fb6ebf4c1c2cb44bb7c574798',
    Q2_K: 'dbfe676c6a028e4d2b1723ca678d46f4394ba4e63219859a8bcff60f21f9ef0f',
    Q3_K: '435aece819c06383d6d5fc9698c1f61cf12f9db190f80f7d0d36bb9c82bfa4e3',
    Q4_K: 'c4dbb51cf1e8b63e25bee54ce0ae3417ce1bc73f3722a40a1b1b5e8b1abe72b7',
    Q5_K: '0e7bc3c45561d6294c61a71961e1a15776f5d5042eac41317b119d177cba8e60',
    Q6_K: 'fa20f102c43901acf85389caa0ad65ca14a66f57cee4a9282215856d2ab6cc86',
    IQ4_NL: '85147abcf69699eb665a442d349cc54c288c92e3440d01307fa24e6bb0aa3300',
    IQ4_XS: 'd5e4d576b7ea515b83ebbc4b69e31aa223e3bc0b940fd2dccfb21929a7acf75d',
  };

  it.each(Object.keys(GGUF_PY_SHA256) as (keyof typeof GGUF_PY_SHA256)[])('%s: random blocks dequantise to exactly what gguf-py computes', (type) => {
    const values = dequantize(type, randomBlocks(type, 8, 2026), 8 * blockElements(type));
    expect(createHash('sha256').update(Buffer.from(values.buffer)).digest('hex')).toBe(GGUF_PY_SHA256[type]);
  });
});

describe('dequantize: hand-built blocks of the K-quants and IQ4 types', () => {
  it('Q2_K: 4-bit scale and min per 16 values, 2-bit values four deep per byte', () => {
    const raw = Buffer.alloc(84);
    for (let j = 0; j < 16; j += 1) raw[j] = (j % 4) | (1 << 4); // scale j % 4, min 1
    raw.fill(0b11100100, 16, 80); // shifts 0, 2, 4, 6 hold 0, 1, 2, 3
    raw.writeUInt16LE(0x3c00, 80); // d = 1
    raw.writeUInt16LE(0x3800, 82); // dmin = 0.5
    const values = dequantize('Q2_K', raw, 256);
    // Sub-block j covers values 16j..16j+15; its pass (shift) is floor(j / 2) % 4.
    for (let j = 0; j < 16; j += 1) expect(values[16 * j + 5]).toBe((j % 4) * (Math.floor(j / 2) % 4) - 0.5);
  });

  it('Q3_K: 6-bit scales recentred at 32, high bit from hmask, value 4 lower without it', () => {
    const raw = Buffer.alloc(110);
    raw.fill(0xff, 32, 96); // low bits 3 everywhere
    raw[0] = 0b00000101; // value 0 has its high bit in passes 0 and 2
    // scale 0 = 33 (low 1, high 2), scale 8 = 30 (low 14, high 1), scale 15 = 0.
    raw[96] = 0x01 | (0x0e << 4);
    raw[96 + 8] = 2 | (1 << 4);
    raw.writeUInt16LE(0x4000, 108); // d = 2
    const values = dequantize('Q3_K', raw, 256);
    expect(values[0]).toBe(2 * (33 - 32) * 3); // high bit set: q = 3
    expect(values[1]).toBe(2 * (33 - 32) * (3 - 4)); // high bit clear: q = -1
    expect(values[128]).toBe(2 * (30 - 32) * (3 - 4)); // sub-block 8, pass 4: bit 4 of hmask[0] clear
    expect(values[255]).toBe(2 * (0 - 32) * (3 - 4)); // sub-block 15: every scale bit zero
  });

  it('Q5_K: Q4_K scales plus a fifth bit per sub-block from qh', () => {
    const raw = Buffer.alloc(176);
    raw.writeUInt16LE(0x3c00, 0); // d = 1
    raw.writeUInt16LE(0x3c00, 2); // dmin = 1
    for (let j = 0; j < 4; j += 1) {
      raw[4 + j] = 1; // sub-blocks 0-3: scale 1
      raw[8 + j] = 2; // mins 2
      raw[12 + j] = 0x13; // sub-blocks 4-7: scale 3, min 1
    }
    raw[16] = 0b10000001; // value 0 (sub-block 0) and value 224 (sub-block 7) get 16 added
    raw.fill(0x21, 48, 176); // low nibble 1, high nibble 2
    const values = dequantize('Q5_K', raw, 256);
    expect(values[0]).toBe(1 * 17 - 2);
    expect(values[1]).toBe(1 * 1 - 2);
    expect(values[32]).toBe(1 * 2 - 2);
    expect(values[224]).toBe(3 * 18 - 1);
    expect(values[225]).toBe(3 * 2 - 1);
  });

  it('IQ4_NL: a 4-bit index into the non-linear grid, low nibbles first', () => {
    const raw = Buffer.alloc(18);
    raw.writeUInt16LE(0x3800, 0); // d = 0.5
    raw[2] = 0xf0; // value 0 -> grid[0] = -127, value 16 -> grid[15] = 113
    raw[3] = 0x98; // value 1 -> grid[8] = 1, value 17 -> grid[9] = 13
    const values = dequantize('IQ4_NL', raw, 32);
    expect([values[0], values[16], values[1], values[17]]).toEqual([-63.5, 56.5, 0.5, 6.5]);
  });

  it('IQ4_XS: 6-bit sub-block scales from scales_l and scales_h, recentred at 32', () => {
    const raw = Buffer.alloc(136);
    raw.writeUInt16LE(0x3c00, 0); // d = 1
    raw.writeUInt16LE(0b10 << 14, 2); // sub-block 7: high bits 2
    raw[4] = 0x01 | (0x0f << 4); // sub-block 0 low 1, sub-block 1 low 15
    raw[7] = 0x05 << 4; // sub-block 7 low 5 -> 5 + 32 = 37
    raw.fill(0x88, 8, 136); // grid[8] = 1 everywhere
    const values = dequantize('IQ4_XS', raw, 256);
    expect(values[0]).toBe(1 - 32);
    expect(values[32]).toBe(15 - 32);
    expect(values[64]).toBe(-32);
    expect(values[255]).toBe(37 - 32);
  });
});

describe('GgufFile refusals', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ggml-refuse-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the tensor and the type it cannot read, and the rule a bad row length breaks', () => {
    const path = join(dir, 'odd.gguf');
    writeGguf(path, [], [
      { name: 'blk.0.ffn_up.weight', shape: [1, 32], data: new Float32Array(32), type: 'Q8_0', typeCode: 19 },
      { name: 'mystery', shape: [1, 32], data: new Float32Array(32), type: 'Q8_0', typeCode: 99 },
      { name: 'short-rows', shape: [8, 32], data: new Float32Array(256), type: 'F32', typeCode: 12 },
    ]);
    const file = GgufFile.open(path);
    try {
      expect(() => file.readTensor('blk.0.ffn_up.weight')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MODEL', message: expect.stringContaining('tensor blk.0.ffn_up.weight has type IQ1_S') }));
      expect(() => file.readTensor('mystery')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MODEL', message: expect.stringContaining('tensor mystery has type unknown (id 99)') }));
      expect(() => file.readTensor('short-rows')).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_INVALID', message: expect.stringContaining('rows of 32 values, not a whole number of Q4_K blocks of 256') }));
    } finally {
      file.close();
    }
  });
});
