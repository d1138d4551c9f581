import { decodeStepHostTraffic, type HostTrafficShape } from './host-traffic';

// models/default/config.json: 4 layers, 2 key/value heads of 64, vocabulary 4096.
const DEFAULT_MODEL: HostTrafficShape = { numLayers: 4, numKvHeads: 2, headDim: 64, vocabSize: 4096 };
// Qwen2.5-0.5B's config.json: 24 layers, 2 key/value heads of 64, vocabulary 151936.
const HALF_B: HostTrafficShape = { numLayers: 24, numKvHeads: 2, headDim: 64, vocabSize: 151_936 };

describe('decodeStepHostTraffic (batch of s = 255 private rows plus the public row, past capacity 160)', () => {
  const step = { rows: 256, past: 160 } as const;

  it('default model, in-place cache, every row\'s logits back: the past goes up whole, the new slot and 256 logit rows come back', () => {
    const traffic = decodeStepHostTraffic(DEFAULT_MODEL, { ...step, layout: 'in-place', aggregatedVectors: null });
    // 2 kinds * 4 layers * 256 rows * 2 heads * 160 positions * 64 * 4 bytes
    expect(traffic.toDevice.past).toBe(167_772_160);
    expect(traffic.toDevice.attentionMask).toBe(256 * 161 * 8);
    expect(traffic.toDevice.tokens).toBe(256 * 8 * 2 + 8);
    expect(traffic.toDevice.total).toBe(167_772_160 + 329_728 + 4_104);
    expect(traffic.fromDevice.cache).toBe(2 * 4 * 256 * 2 * 64 * 4);
    expect(traffic.fromDevice.logits).toBe(256 * 4096 * 4);
    expect(traffic.fromDevice.total).toBe(1_048_576 + 4_194_304);
  });

  it('0.5B shape: in-graph aggregation (3 vocabulary vectors) cuts the logits that come back 85x (256 rows to 3 vectors), not what goes up', () => {
    const perRow = decodeStepHostTraffic(HALF_B, { ...step, layout: 'in-place', aggregatedVectors: null });
    const aggregated = decodeStepHostTraffic(HALF_B, { ...step, layout: 'in-place', aggregatedVectors: 3 });
    expect(perRow.toDevice.past).toBe(1_006_632_960);
    expect(aggregated.toDevice).toEqual(perRow.toDevice);
    expect(perRow.fromDevice.total).toBe(155_582_464 + 6_291_456);
    expect(aggregated.fromDevice.total).toBe(3 * 151_936 * 4 + 6_291_456);
    expect(Math.round(perRow.fromDevice.total / aggregated.fromDevice.total)).toBe(20);
    expect(Math.round(perRow.fromDevice.logits / aggregated.fromDevice.logits)).toBe(85);
  });

  it('the concat layout (fp16 and int4 graphs, Optimum exports) also brings the whole present back', () => {
    const concat = decodeStepHostTraffic(HALF_B, { ...step, layout: 'concat', aggregatedVectors: 3 });
    expect(concat.toDevice.past).toBe(1_006_632_960);
    expect(concat.fromDevice.cache).toBe(2 * 24 * 256 * 2 * 161 * 64 * 4);
  });
});
