/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import * as ort from 'onnxruntime-node';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { type LlamaArchitecture } from './llama-architecture';
import { buildLlamaOnnx, DECODER_IO } from './llama-graph.builder';
import { referenceForward } from './llama-reference';

interface Step {
  logits: Float32Array;
  keep: number;
  present: Map<string, ort.Tensor>;
}

async function session(arch: LlamaArchitecture, seed: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(buildLlamaOnnx(arch, tinyWeights(arch, seed)), { intraOpNumThreads: 1 });
}

function positionsFromMask(mask: number[]): number[] {
  let seen = 0;
  return mask.map((m) => {
    seen += m;
    return Math.max(0, seen - 1);
  });
}

async function run(
  s: ort.InferenceSession,
  arch: LlamaArchitecture,
  ids: number[][],
  mask: number[][],
  past: Map<string, ort.Tensor> | null,
  keep: number,
): Promise<Step> {
  const batch = ids.length;
  const seq = ids[0]!.length;
  const total = mask[0]!.length;
  const feeds: Record<string, ort.Tensor> = {
    [DECODER_IO.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [batch, seq]),
    [DECODER_IO.attentionMask]: new ort.Tensor('int64', BigInt64Array.from(mask.flat().map(BigInt)), [batch, total]),
    [DECODER_IO.positionIds]: new ort.Tensor(
      'int64',
      BigInt64Array.from(mask.flatMap((m) => positionsFromMask(m).slice(total - seq)).map(BigInt)),
      [batch, seq],
    ),
    [DECODER_IO.numLogitsToKeep]: new ort.Tensor('int64', BigInt64Array.from([BigInt(keep)]), []),
  };
  for (let i = 0; i < arch.numLayers; i += 1) {
    for (const [pastName, presentName] of [
      [DECODER_IO.pastKey(i), DECODER_IO.presentKey(i)],
      [DECODER_IO.pastValue(i), DECODER_IO.presentValue(i)],
    ] as const) {
      feeds[pastName] = past?.get(presentName) ?? new ort.Tensor('float32', new Float32Array(0), [batch, arch.numKvHeads, 0, arch.headDim]);
    }
  }
  const out = await s.run(feeds);
  const present = new Map<string, ort.Tensor>();
  for (const [name, value] of Object.entries(out)) if (name.startsWith('present.')) present.set(name, value as ort.Tensor);
  const logits = out[DECODER_IO.logits] as ort.Tensor;
  expect(logits.dims).toEqual([batch, keep, arch.vocabSize]);
  return { logits: logits.data as Float32Array, keep, present };
}

function expectClose(actual: Float32Array, expected: Float64Array | null): void {
  expect(expected).not.toBeNull();
  let worst = 0;
  expected!.forEach((value, j) => {
    worst = Math.max(worst, Math.abs(value - actual[j]!));
  });
  expect(worst).toBeLessThan(1e-4);
}

const variants: [string, Partial<LlamaArchitecture>][] = [
  ['rotate-half, grouped-query, separate head', {}],
  ['interleaved, tied head, q/k/v biases', { ropeLayout: 'interleaved', tiedEmbeddings: true, attentionBias: true }],
  ['multi-head, partial rotary, llama3 scaling', {
    numKvHeads: 4,
    rotaryDim: 4,
    ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 },
  }],
];

describe.each(variants)('buildLlamaOnnx (%s)', (_label, overrides) => {
  const arch = tinyArchitecture(overrides);
  const weights = tinyWeights(arch, 7);
  let s: ort.InferenceSession;
  beforeAll(async () => {
    s = await session(arch, 7);
  });

  it('declares the Optimum decoder layout', () => {
    expect(s.inputNames).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      ...Array.from({ length: arch.numLayers }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat(),
      'num_logits_to_keep',
    ]);
    expect(s.outputNames).toEqual(['logits', ...Array.from({ length: arch.numLayers }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat()]);
  });

  it('matches the reference forward pass at every position of an unpadded batch', async () => {
    const ids = [
      [1, 5, 9, 23, 40, 7],
      [1, 60, 61, 62, 3, 95],
    ];
    const mask = ids.map((row) => row.map(() => 1));
    const step = await run(s, arch, ids, mask, null, 6);
    const expected = referenceForward(arch, weights, ids, mask);
    for (let r = 0; r < 2; r += 1) {
      for (let p = 0; p < 6; p += 1) {
        const offset = (r * 6 + p) * arch.vocabSize;
        expectClose(step.logits.subarray(offset, offset + arch.vocabSize), expected[r]![p]!);
      }
    }
  });

  it('gives left-padded rows exactly their unpadded logits', async () => {
    const rows = [[1, 5, 9, 23, 40, 7, 8], [1, 60, 61], [1, 30]];
    const width = 7;
    const ids = rows.map((row) => [...Array<number>(width - row.length).fill(0), ...row]);
    const mask = rows.map((row) => [...Array<number>(width - row.length).fill(0), ...row.map(() => 1)]);
    const step = await run(s, arch, ids, mask, null, 1);
    rows.forEach((row, r) => {
      const unpadded = referenceForward(arch, weights, [row], [row.map(() => 1)])[0]!;
      expectClose(step.logits.subarray(r * arch.vocabSize, (r + 1) * arch.vocabSize), unpadded[row.length - 1]!);
    });
  });

  it('decodes with the cache to the logits of the full recomputation, padded rows included', async () => {
    const rows = [[1, 5, 9, 23, 40], [1, 60, 61]];
    const suffix = [[11, 12, 13, 14], [50, 51, 52, 53]];
    const width = 5;
    let mask = rows.map((row) => [...Array<number>(width - row.length).fill(0), ...row.map(() => 1)]);
    const ids = rows.map((row) => [...Array<number>(width - row.length).fill(0), ...row]);
    let step = await run(s, arch, ids, mask, null, 1);
    for (let t = 0; t <= suffix[0]!.length; t += 1) {
      rows.forEach((row, r) => {
        const full = [...row, ...suffix[r]!.slice(0, t)];
        const expected = referenceForward(arch, weights, [full], [full.map(() => 1)])[0]!;
        expectClose(step.logits.subarray(r * arch.vocabSize, (r + 1) * arch.vocabSize), expected[full.length - 1]!);
      });
      if (t === suffix[0]!.length) break;
      mask = mask.map((m) => [...m, 1]);
      step = await run(s, arch, suffix.map((sfx) => [sfx[t]!]), mask, step.present, 1);
      expect(step.present.get('present.0.key')!.dims).toEqual([2, arch.numKvHeads, width + t + 1, arch.headDim]);
    }
  });
});
