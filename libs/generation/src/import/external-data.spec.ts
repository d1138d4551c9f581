/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLlamaOnnx } from '../model/llama-graph.builder';
import { KvCacheBatch } from '../runtime/kv-cache-batch';
import { OnnxDecoder } from '../runtime/onnx-decoder';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { openExternalDataFile } from './llama-model.writer';

// Models past protobuf's 2 GiB limit keep their weights in an external-data file; the import path
// writes one only for such models, so a tiny model is written through the same sink here.
describe('openExternalDataFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'external-data-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each tensor 64-byte aligned, and ONNX Runtime reads the model with the logits of the inline graph', async () => {
    const arch = tinyArchitecture();
    const weights = tinyWeights(arch, 21);
    const sink = openExternalDataFile(join(dir, 'model.onnx.data'), 'model.onnx.data');
    const offsets: number[] = [];
    const recording = {
      location: sink.location,
      append: (bytes: Uint8Array): number => {
        const at = sink.append(bytes);
        offsets.push(at, bytes.byteLength);
        return at;
      },
    };
    let external: Uint8Array;
    try {
      external = buildLlamaOnnx(arch, weights, { externalData: recording });
    } finally {
      sink.close();
    }
    writeFileSync(join(dir, 'model.onnx'), external);
    writeFileSync(join(dir, 'inline.onnx'), buildLlamaOnnx(arch, weights));

    expect(offsets.length).toBeGreaterThan(0);
    for (let i = 0; i < offsets.length; i += 2) expect(offsets[i]! % 64).toBe(0);
    const last = offsets.length - 2;
    expect(statSync(join(dir, 'model.onnx.data')).size).toBe(offsets[last]! + offsets[last + 1]!);

    const rows = [[1, 7, 19, 4], [1, 33]];
    const logitsOf = async (file: string): Promise<Float32Array> => {
      const decoder = await OnnxDecoder.load(join(dir, file), { threads: 1, executionProvider: 'cpu', inPlaceCache: false });
      try {
        const batch = new KvCacheBatch(decoder, rows, { chunkTokens: 64, padTokenId: 0, vocabSize: arch.vocabSize, maxNewTokens: 1 });
        const logits = Float32Array.from(await batch.prefill());
        batch.dispose();
        return logits;
      } finally {
        await decoder.release();
      }
    };
    expect(await logitsOf('model.onnx')).toEqual(await logitsOf('inline.onnx'));
  });
});
