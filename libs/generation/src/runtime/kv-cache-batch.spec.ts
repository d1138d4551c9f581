/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { buildLlamaOnnx } from '../model/llama-graph.builder';
import { referenceForward } from '../model/llama-reference';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KV_CAPACITY_STEP, KvCacheBatch, kvCacheBytes } from './kv-cache-batch';
import { KvCacheMemory, kvCacheMemoryOf } from './kv-cache-memory';
import { OnnxDecoder } from './onnx-decoder';

const arch = tinyArchitecture();
const weights = tinyWeights(arch, 13);
const ROWS = [[1, 5, 9, 23, 40], [1, 60], [1, 30, 31]];

let dir: string;
let decoder: OnnxDecoder;
let stored: OnnxDecoder;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kv-batch-'));
  writeFileSync(join(dir, 'model.onnx'), buildLlamaOnnx(arch, weights));
  decoder = await OnnxDecoder.load(join(dir, 'model.onnx'), { threads: 1, executionProvider: 'cpu' });
  stored = await OnnxDecoder.load(join(dir, 'model.onnx'), { threads: 1, executionProvider: 'cpu', inPlaceCache: false });
});
afterAll(async () => {
  await decoder.release();
  await stored.release();
  rmSync(dir, { recursive: true, force: true });
});

function expectRowsMatch(logits: Float32Array, suffix: readonly number[], position = 0, positions = 1): void {
  ROWS.forEach((row, r) => {
    const sequence = [...row, ...suffix];
    const expected = referenceForward(arch, weights, [sequence], [sequence.map(() => 1)])[0]![sequence.length - 1]!;
    const offset = (r * positions + position) * arch.vocabSize;
    expected.forEach((v, j) => expect(Math.abs(v - logits[offset + j]!)).toBeLessThan(1e-4));
  });
}

describe('KvCacheBatch', () => {
  it('computes the cache size from layers, kv heads, head size, rows and positions', () => {
    expect(kvCacheBytes(arch, 256, 160)).toBe(2 * 2 * 256 * 2 * 160 * 8 * 4);
  });

  it('runs a graph this project built with the in-place cache: one tensor per layer and kind for the whole sequence', () => {
    expect(decoder.signature.cacheLayout).toBe('in-place');
    expect(stored.signature.cacheLayout).toBe('concat');
    const batch = new KvCacheBatch(decoder, ROWS, { chunkTokens: 4, padTokenId: 0, vocabSize: arch.vocabSize, maxNewTokens: 6 });
    expect(batch.cacheBytes).toBe(kvCacheBytes(arch, ROWS.length, 5 + 6));
  });

  it('grows the in-place capacity across many steps with the logits of the reference and of the stored concat layout', async () => {
    const maxNewTokens = 2 * KV_CAPACITY_STEP + 6;
    const options = { chunkTokens: 4, padTokenId: 0, vocabSize: arch.vocabSize, maxNewTokens };
    const inPlace = new KvCacheBatch(decoder, ROWS, options);
    const concat = new KvCacheBatch(stored, ROWS, options);
    const worst = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    expect(worst(await inPlace.prefill(), await concat.prefill())).toBeLessThan(1e-5);
    const suffix: number[] = [];
    for (let step = 0; step < maxNewTokens; step += 1) {
      const token = (7 * step + 3) % arch.vocabSize;
      suffix.push(token);
      const logits = await inPlace.append(token);
      expect(worst(logits, await concat.append(token))).toBeLessThan(1e-5);
      if (step % 23 === 0 || step === maxNewTokens - 1) expectRowsMatch(logits, suffix);
    }
    expect(inPlace.length).toBe(5 + maxNewTokens);
    // Roll back past a growth and decode again: the dropped slots are masked, not copied.
    inPlace.truncate(5 + 40);
    suffix.length = 40;
    suffix.push(17);
    expectRowsMatch(await inPlace.append(17), suffix);
  });

  it('scores several tokens in one pass and rolls back to any earlier length', async () => {
    const batch = new KvCacheBatch(decoder, ROWS, { chunkTokens: 4, padTokenId: 0, vocabSize: arch.vocabSize, maxNewTokens: 6 });
    expectRowsMatch(await batch.prefill(), []);
    const base = batch.length;
    const many = await batch.appendMany([11, 12, 13]);
    expectRowsMatch(many, [11], 0, 3);
    expectRowsMatch(many, [11, 12, 13], 2, 3);
    expect(batch.length).toBe(base + 3);
    batch.truncate(base + 1);
    expect(batch.length).toBe(base + 1);
    expectRowsMatch(await batch.append(50), [11, 50]);
    expectRowsMatch(await batch.append(51), [11, 50, 51]);
    expect(() => batch.truncate(base - 1)).toThrow(/cannot truncate/);
    await expect(batch.appendMany([1, 2, 3, 4])).rejects.toThrow(/more steps than maxNewTokens/);
  });

  it('reuses the cache memory of the decoder\'s previous batch, zeroed, with the same logits', async () => {
    const options = { chunkTokens: 4, padTokenId: 0, vocabSize: arch.vocabSize, maxNewTokens: 6 };
    const memory = kvCacheMemoryOf(decoder);
    memory.clear();
    const decode = async (): Promise<Float32Array[]> => {
      const batch = new KvCacheBatch(decoder, ROWS, options);
      const out = [(await batch.prefill()).slice()];
      for (const token of [11, 12, 13]) out.push((await batch.append(token)).slice());
      batch.dispose();
      return out;
    };
    const first = await decode();
    const bytes = memory.spareBytes;
    expect(bytes).toBe(kvCacheBytes(arch, ROWS.length, 5 + 6));
    // A smaller batch takes the spare (a larger one would allocate anew); the larger buffer stays the spare.
    const small = new KvCacheBatch(decoder, [[1, 2]], options);
    expect(memory.spareBytes).toBe(0);
    small.dispose();
    expect(memory.spareBytes).toBe(bytes);
    const second = await decode();
    second.forEach((logits, step) => expect(logits).toEqual(first[step]));
    expectRowsMatch(second[3]!, [11, 12, 13]);
  });

  it('hands out the spare only when it is large enough, and zeroed', () => {
    const memory = new KvCacheMemory();
    const buffer = memory.take(64);
    new Float32Array(buffer).fill(7);
    memory.give(buffer);
    expect(memory.take(128).byteLength).toBe(128);
    expect(memory.spareBytes).toBe(0);
    memory.give(buffer);
    const again = memory.take(32);
    expect(again).toBe(buffer);
    expect(Array.from(new Float32Array(again, 0, 8))).toEqual(new Array(8).fill(0));
    memory.give(new ArrayBuffer(16));
    memory.give(again);
    expect(memory.spareBytes).toBe(64);
  });
});
