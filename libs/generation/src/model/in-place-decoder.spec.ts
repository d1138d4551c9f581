import { TOKEN_AGGREGATION } from '@synthgate/privacy';
import { onnx } from 'onnx-proto';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { inPlaceVariantOf } from './in-place-decoder';
import { buildLlamaOnnx, DECODER_IO } from './llama-graph.builder';

const arch = tinyArchitecture({ attentionBias: true, rmsNormEps: 3e-6 });
const weights = tinyWeights(arch, 5);

describe('inPlaceVariantOf', () => {
  it('rebuilds a stored concat graph in the in-place layout from its own initializers, byte for byte', () => {
    const storedBytes = buildLlamaOnnx(arch, weights, { metadata: { 'synthgate.source': 'test' } });
    const variantBytes = inPlaceVariantOf(storedBytes)!;
    const stored = onnx.ModelProto.decode(storedBytes);
    const variant = onnx.ModelProto.decode(variantBytes);
    // Same graph as building the in-place layout from the weights directly.
    expect(
      Buffer.from(variantBytes).equals(Buffer.from(buildLlamaOnnx(arch, weights, { metadata: { 'synthgate.source': 'test' }, cacheLayout: 'in-place', aggregation: TOKEN_AGGREGATION }))),
    ).toBe(true);
    expect(
      Buffer.from(inPlaceVariantOf(storedBytes, { aggregation: false })!).equals(Buffer.from(buildLlamaOnnx(arch, weights, { metadata: { 'synthgate.source': 'test' }, cacheLayout: 'in-place' }))),
    ).toBe(true);
    const named = (m: onnx.ModelProto): Map<string, Uint8Array> =>
      new Map((m.graph!.initializer ?? []).filter((t) => t.name!.startsWith('model.') || t.name!.startsWith('rotary.')).map((t) => [t.name!, t.rawData!]));
    const before = named(stored);
    const after = named(variant);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [name, bytes] of before) expect(Buffer.from(after.get(name)!).equals(Buffer.from(bytes))).toBe(true);
    const outputs = (variant.graph!.output ?? []).map((o) => o.name);
    expect(outputs).toContain(DECODER_IO.newKey(arch.numLayers - 1));
    expect(outputs).not.toContain(DECODER_IO.presentKey(0));
    // libs/privacy's token aggregation rides along (aggregation-graph.ts).
    expect(outputs).toEqual(expect.arrayContaining(['aggregate.clippedSum', 'aggregate.softmaxSum']));
    expect(variant.metadataProps).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'synthgate.source', value: 'test' }), expect.objectContaining({ key: 'synthgate.weight_storage', value: 'fp32' })]),
    );
  });

  it('rebuilds a graph with Qwen3 q/k norms the same as building it in place from the weights', () => {
    const qwen = tinyArchitecture({ qkNorm: true });
    const qwenWeights = tinyWeights(qwen, 9);
    const variantBytes = inPlaceVariantOf(buildLlamaOnnx(qwen, qwenWeights))!;
    expect(Buffer.from(variantBytes).equals(Buffer.from(buildLlamaOnnx(qwen, qwenWeights, { cacheLayout: 'in-place', aggregation: TOKEN_AGGREGATION })))).toBe(true);
  });

  it('leaves fp16 and int4 weight storage as stored (run on the copying path)', () => {
    expect(inPlaceVariantOf(buildLlamaOnnx(arch, weights, { weightStorage: 'fp16' }))).toBeNull();
    expect(inPlaceVariantOf(buildLlamaOnnx(arch, weights, { weightStorage: 'int4' }))).toBeNull();
  });

  it('leaves other graphs as stored', () => {
    expect(inPlaceVariantOf(new Uint8Array([1, 2, 3, 255]))).toBeNull();
    const other = onnx.ModelProto.decode(buildLlamaOnnx(arch, weights));
    other.producerName = 'pytorch';
    expect(inPlaceVariantOf(onnx.ModelProto.encode(other).finish())).toBeNull();
  });
});
