import { TOKEN_AGGREGATION } from '@synthgate/privacy';
import { onnx } from 'onnx-proto';
import { tinyArchitecture, tinyWeights } from '../testing/tiny-llama';
import { inPlaceVariantOf } from './in-place-decoder';
import { buildLlamaOnnx, DECODER_IO, halfRotaryTable, unrotatedColumns } from './llama-graph.builder';

const floats = (bytes: Uint8Array): Float32Array => new Float32Array(Uint8Array.from(bytes).buffer);
const opTypes = (bytes: Uint8Array): string[] => onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!);

const arch = tinyArchitecture({ attentionBias: true, rmsNormEps: 3e-6 });
const weights = tinyWeights(arch, 5);

describe('inPlaceVariantOf', () => {
  it('rebuilds a stored concat graph in the in-place layout from its own initializers, byte for byte or as exact column copies', () => {
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
    // RotaryEmbedding form: the projection loses its rotated columns, the tables keep one column per pair.
    const derived = (name: string): string => name.replace('.qkv_rotary.', '.qkv.').replace(/^rotary\.(cos|sin)$/, 'rotary.$1_half');
    expect([...after.keys()].sort()).toEqual([...before.keys()].map(derived).sort());
    for (const [name, bytes] of before) {
      const expected =
        name === derived(name)
          ? bytes
          : name.startsWith('rotary.')
            ? halfRotaryTable(floats(bytes), arch)
            : unrotatedColumns(floats(bytes), arch);
      const actual = after.get(derived(name))!;
      expect(Buffer.from(actual).equals(Buffer.from(expected instanceof Float32Array ? new Uint8Array(expected.buffer) : expected))).toBe(true);
    }
    expect(opTypes(variantBytes)).toContain('RotaryEmbedding');
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

  it('reads the rope layout and partial rotary dimensions back from the stored graph', () => {
    for (const rope of [{ ropeLayout: 'interleaved' as const }, { ropeLayout: 'rotate-half' as const, rotaryDim: 4 }, { ropeLayout: 'interleaved' as const, rotaryDim: 6 }]) {
      const a = tinyArchitecture(rope);
      const w = tinyWeights(a, 3);
      expect(Buffer.from(inPlaceVariantOf(buildLlamaOnnx(a, w))!).equals(Buffer.from(buildLlamaOnnx(a, w, { cacheLayout: 'in-place', aggregation: TOKEN_AGGREGATION })))).toBe(true);
    }
  });

  it('keeps the folded rotation when the stored projection does not show which dimensions pair up', () => {
    const stored = onnx.ModelProto.decode(buildLlamaOnnx(arch, weights));
    const projection = stored.graph!.initializer!.find((t) => t.name === 'model.layers.0.self_attn.qkv_rotary.weight')!;
    const changed = floats(projection.rawData!);
    changed[arch.numHeads * arch.headDim + arch.numKvHeads * arch.headDim] += 1; // the first rotated q column
    projection.rawData = new Uint8Array(changed.buffer);
    const variantBytes = inPlaceVariantOf(onnx.ModelProto.encode(stored).finish())!;
    expect(opTypes(variantBytes)).not.toContain('RotaryEmbedding');
    expect(opTypes(variantBytes)).toContain('Gather');
    const initializers = onnx.ModelProto.decode(variantBytes).graph!.initializer!.map((t) => t.name);
    expect(initializers).toContain('model.layers.0.self_attn.qkv_rotary.weight');
    expect(initializers).toContain('rotary.cos');
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
