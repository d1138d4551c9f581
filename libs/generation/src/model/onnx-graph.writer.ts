import { onnx } from 'onnx-proto';

/** A typed ONNX attribute value (ONNX tells ints from floats, JavaScript does not). */
export type OnnxAttribute =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly string: string };

/** Element types this writer emits. */
export type OnnxElementType = 'float32' | 'float64' | 'float16' | 'uint8' | 'int64' | 'bool';

const ELEMENT_TYPE: Record<OnnxElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  float16: onnx.TensorProto.DataType.FLOAT16,
  uint8: onnx.TensorProto.DataType.UINT8,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A symbolic (`'batch'`) or fixed dimension of a graph input or output. */
export type OnnxDim = string | number;

/** Where large initializers go when a model is written with external data. */
export interface ExternalDataSink {
  /** File name relative to the model file. */
  readonly location: string;
  /** Appends the bytes and returns their offset in the data file. */
  append(bytes: Uint8Array): number;
}

/**
 * A minimal ONNX graph writer: nodes, initializers and typed inputs/outputs, encoded with
 * onnx-proto. Names are generated (`{prefix}_{n}`) so callers only name graph inputs, outputs and
 * weights. The writer keeps no state beyond the lists it builds.
 */
export class OnnxGraphWriter {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;

  /**
   * @param externalData when set, float initializers of at least `externalThresholdBytes` are
   *   written to the sink instead of inside the protobuf (needed past protobuf's 2 GiB limit).
   */
  constructor(
    private readonly externalData: ExternalDataSink | null = null,
    private readonly externalThresholdBytes = 1024,
  ) {}

  /** Adds a node and returns its output names (`outputs` of them). */
  op(
    type: string,
    inputs: readonly string[],
    attributes: Record<string, OnnxAttribute> = {},
    options: { outputs?: number; names?: readonly string[]; domain?: string } = {},
  ): string[] {
    const count = options.names?.length ?? options.outputs ?? 1;
    const outputs = options.names ? [...options.names] : Array.from({ length: count }, () => this.fresh(type));
    this.nodes.push({
      opType: type,
      domain: options.domain ?? '',
      name: this.fresh(`${type}_node`),
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => toAttribute(name, value)),
    });
    return outputs;
  }

  /** Adds a node with exactly one output and returns its name. */
  op1(type: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, options: { name?: string; domain?: string } = {}): string {
    const [output] = this.op(type, inputs, attributes, {
      ...(options.name ? { names: [options.name] } : {}),
      ...(options.domain ? { domain: options.domain } : {}),
    });
    return output as string;
  }

  /** A float32 initializer. `data.length` must equal the product of `dims`. */
  floatTensor(name: string, dims: readonly number[], data: Float32Array): string {
    return this.rawTensor(name, dims, 'float32', new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** A float16 initializer from half bits. */
  float16Tensor(name: string, dims: readonly number[], bits: Uint16Array): string {
    return this.rawTensor(name, dims, 'float16', new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
  }

  /** A uint8 initializer (packed low-bit weights, zero points). */
  uint8Tensor(name: string, dims: readonly number[], data: Uint8Array): string {
    return this.rawTensor(name, dims, 'uint8', data);
  }

  /**
   * An initializer from its little-endian bytes; large ones go to the external-data sink when
   * there is one.
   */
  private rawTensor(name: string, dims: readonly number[], type: OnnxElementType, bytes: Uint8Array): string {
    const tensor: onnx.ITensorProto = { name, dims: [...dims], dataType: ELEMENT_TYPE[type] };
    if (this.externalData && bytes.byteLength >= this.externalThresholdBytes) {
      const offset = this.externalData.append(bytes);
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: 'location', value: this.externalData.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ];
    } else {
      // Copy: the caller may reuse its buffer after this call returns.
      tensor.rawData = bytes.slice();
    }
    this.initializers.push(tensor);
    return name;
  }

  /** Adds an initializer taken over unchanged from another graph (its bytes are not copied). */
  existingTensor(tensor: onnx.ITensorProto): string {
    this.initializers.push(tensor);
    return tensor.name!;
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64Tensor(dims: readonly number[], values: readonly number[], name = this.fresh('const')): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [...dims], dataType: ELEMENT_TYPE.int64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** A float32 scalar or vector initializer. */
  floatConstant(values: readonly number[], dims: readonly number[] = values.length === 1 ? [] : [values.length]): string {
    return this.floatTensor(this.fresh('const'), dims, Float32Array.from(values));
  }

  input(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** Encodes the model. `opsetImports` maps a domain ('' is ONNX) to its version. */
  encode(options: { graphName: string; opsetImports: Record<string, number>; metadata?: Record<string, string>; producer?: string }): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: options.producer ?? 'synthgate',
      opsetImport: Object.entries(options.opsetImports).map(([domain, version]) => ({ domain, version })),
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: options.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }
}

function valueInfo(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function toAttribute(name: string, value: OnnxAttribute): onnx.IAttributeProto {
  const type = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: type.INT, i: value.int };
  if ('ints' in value) return { name, type: type.INTS, ints: [...value.ints] };
  if ('float' in value) return { name, type: type.FLOAT, f: value.float };
  return { name, type: type.STRING, s: new TextEncoder().encode(value.string) };
}
