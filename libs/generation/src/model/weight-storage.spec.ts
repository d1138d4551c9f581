/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import * as ort from 'onnxruntime-node';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { type LlamaArchitecture, type LlamaWeights } from './llama-architecture';
import { buildLlamaOnnx, DECODER_IO } from './llama-graph.builder';
import { referenceForward } from './llama-reference';
import { OnnxGraphWriter } from './onnx-graph.writer';
import { dequantizeInt4, INT4_BLOCK_SIZE, quantizeInt4, toFloat16Bits, transposeMatrix, type WeightStorage, WeightWriter } from './weight-storage';

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const next = seeded(seed);
  return Float32Array.from({ length: rows * cols }, () => 2 * next() - 1);
}

describe('toFloat16Bits', () => {
  it('rounds to the nearest half and refuses values past float16, naming the tensor', () => {
    expect(Array.from(toFloat16Bits(Float32Array.from([1, -2, 65504, 0.333251953125, Math.pow(2, -24), 0]), 'w'))).toEqual([0x3c00, 0xc000, 0x7bff, 0x3555, 0x0001, 0]);
    expect(() => toFloat16Bits(Float32Array.from([0.5, 70000]), 'model.layers.3.mlp.down_proj')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_MODEL', message: expect.stringContaining('model.layers.3.mlp.down_proj: value 70000 does not fit float16') }),
    );
  });
});

describe('quantizeInt4', () => {
  it('keeps every value within one step (range / 15) of its block, zero exact, with a padded last block', () => {
    const rows = 5;
    const cols = 48; // one full block and one padded half block
    const matrix = randomMatrix(rows, cols, 9);
    matrix[3] = 0;
    matrix.fill(0.25, cols, cols + INT4_BLOCK_SIZE); // a constant block (range widened to include 0)
    const q = quantizeInt4(matrix, rows, cols);
    expect(q.blocksPerRow).toBe(2);
    expect(q.packed.length).toBe(rows * 2 * 16);
    expect(q.zeroPoints.length).toBe(rows);
    const back = dequantizeInt4(q);
    expect(back[3]).toBe(0);
    for (let r = 0; r < rows; r += 1) {
      for (let b = 0; b < 2; b += 1) {
        const from = r * cols + b * INT4_BLOCK_SIZE;
        const to = Math.min(from + INT4_BLOCK_SIZE, (r + 1) * cols);
        const block = Array.from(matrix.subarray(from, to));
        const step = (Math.max(0, ...block) - Math.min(0, ...block)) / 15;
        for (let i = from; i < to; i += 1) expect(Math.abs(back[i]! - matrix[i]!)).toBeLessThanOrEqual(step * 1.0001);
      }
    }
  });
});

describe('WeightWriter with onnxruntime', () => {
  it.each([
    [0, 1e-4],
    [4, 6e-2],
  ] as const)('int4 MatMulNBits (accuracy level %i) computes x times the dequantised matrix within %f', async (level, tolerance) => {
    const inFeatures = 80; // not a multiple of the block size
    const outFeatures = 24;
    const weight = randomMatrix(inFeatures, outFeatures, 4); // [in, out]
    const g = new OnnxGraphWriter();
    g.input('x', 'float32', ['rows', inFeatures]);
    new WeightWriter(g, 'int4', level).matMul('x', 'w', inFeatures, outFeatures, weight, 'y');
    g.output('y', 'float32', ['rows', outFeatures]);
    const session = await ort.InferenceSession.create(g.encode({ graphName: 't', opsetImports: { '': 17, 'com.microsoft': 1 } }), { intraOpNumThreads: 1 });
    const x = randomMatrix(3, inFeatures, 5);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [3, inFeatures]) })).y!.data as Float32Array;
    const w = dequantizeInt4(quantizeInt4(transposeMatrix(weight, inFeatures, outFeatures), outFeatures, inFeatures)); // [out, in]
    let worst = 0;
    let largest = 0;
    for (let r = 0; r < 3; r += 1) {
      for (let o = 0; o < outFeatures; o += 1) {
        let expected = 0;
        for (let k = 0; k < inFeatures; k += 1) expected += x[r * inFeatures + k]! * w[o * inFeatures + k]!;
        worst = Math.max(worst, Math.abs(y[r * outFeatures + o]! - expected));
        largest = Math.max(largest, Math.abs(expected));
      }
    }
    // Level 4 rounds activations to int8 per block (errs ~1e-3 of the outputs, which reach ~4 here);
    // a wrong packing, scale or zero point would err by O(1).
    expect(worst).toBeLessThan(tolerance);
    expect(largest).toBeGreaterThan(2);
    await session.release();
  });
});

describe('buildLlamaOnnx weight storage', () => {
  const arch: LlamaArchitecture = tinyArchitecture({ vocabSize: 96, hiddenSize: 64, intermediateSize: 80, headDim: 16 });
  const rows = [[1, 5, 9, 30, 2, 77], [1, 40, 41, 42, 43, 44]];

  async function lastLogits(a: LlamaArchitecture, storage: WeightStorage, weights: LlamaWeights): Promise<Float32Array[]> {
    const session = await ort.InferenceSession.create(buildLlamaOnnx(a, weights, { weightStorage: storage }), { intraOpNumThreads: 1 });
    try {
      const out: Float32Array[] = [];
      for (const row of rows) {
        const feeds: Record<string, ort.Tensor> = {
          [DECODER_IO.inputIds]: new ort.Tensor('int64', BigInt64Array.from(row.map(BigInt)), [1, row.length]),
          [DECODER_IO.attentionMask]: new ort.Tensor('int64', BigInt64Array.from(row.map(() => 1n)), [1, row.length]),
          [DECODER_IO.positionIds]: new ort.Tensor('int64', BigInt64Array.from(row.map((_, i) => BigInt(i))), [1, row.length]),
          [DECODER_IO.numLogitsToKeep]: new ort.Tensor('int64', BigInt64Array.from([1n]), []),
        };
        for (let i = 0; i < arch.numLayers; i += 1) {
          feeds[DECODER_IO.pastKey(i)] = new ort.Tensor('float32', new Float32Array(0), [1, arch.numKvHeads, 0, arch.headDim]);
          feeds[DECODER_IO.pastValue(i)] = new ort.Tensor('float32', new Float32Array(0), [1, arch.numKvHeads, 0, arch.headDim]);
        }
        out.push(Float32Array.from((await session.run(feeds))[DECODER_IO.logits]!.data as Float32Array));
      }
      return out;
    } finally {
      await session.release();
    }
  }

  function worstAgainstReference(a: LlamaArchitecture, logits: Float32Array[], weights: LlamaWeights): { worst: number; spread: number } {
    let worst = 0;
    let spread = 0;
    rows.forEach((row, r) => {
      const expected = referenceForward(a, weights, [row], [row.map(() => 1)])[0]![row.length - 1]!;
      const mean = expected.reduce((a, b) => a + b, 0) / expected.length;
      spread = Math.max(spread, Math.sqrt(expected.reduce((a, b) => a + (b - mean) ** 2, 0) / expected.length));
      expected.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - logits[r]![j]!))));
    });
    return { worst, spread };
  }

  it.each([false, true])('fp32, fp16 and int4 graphs agree with the reference within their stated bounds (tied head: %s)', async (tied) => {
    const tiedArch = { ...arch, tiedEmbeddings: tied };
    const weights = tinyWeights(tiedArch, 21);
    const fp32 = worstAgainstReference(tiedArch, await lastLogits(tiedArch, 'fp32', weights), weights);
    const fp16 = worstAgainstReference(tiedArch, await lastLogits(tiedArch, 'fp16', weights), weights);
    const int4 = worstAgainstReference(tiedArch, await lastLogits(tiedArch, 'int4', weights), weights);
    expect(fp32.worst).toBeLessThan(1e-4);
    // float16 keeps 11 significant bits: logits move by about 1e-3 of their spread.
    expect(fp16.worst / fp16.spread).toBeLessThan(5e-3);
    expect(fp16.worst).toBeGreaterThan(0);
    process.stdout.write(`max logit drift / logit spread, tied head ${tied}: fp16 ${(fp16.worst / fp16.spread).toFixed(4)}, int4 ${(int4.worst / int4.spread).toFixed(3)}\n`);
    // int4 blocks of 32 (one step = range / 15, ~6% relative weight error): measured 0.48 (separate
    // head) and 0.62 (tied) of the spread on this random model, as Q4_K gives on the GGUF path.
    expect(int4.worst / int4.spread).toBeLessThan(0.8);
    expect(int4.worst).toBeGreaterThan(fp16.worst);
  });
});
