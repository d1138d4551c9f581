import { type AggregationNode, type AggregationOutputName, type AggregationParameterName, type AggregationSpec, FLOAT32_MAX } from '@synthgate/privacy';
import { type OnnxGraphWriter } from './onnx-graph.writer';

/** Names of the aggregation's graph inputs and outputs. */
export const AGGREGATION_IO = {
  /** int64 `[k]`: which rows of the batch are aggregated (the private ones); empty: none. */
  rows: 'aggregation_rows',
  /** float32 scalar per parameter of the specification (e.g. `aggregation.clip`). */
  parameter: (name: AggregationParameterName): string => `aggregation.${name}`,
  /** float64 `[positions, vocab]` per output of the specification (e.g. `aggregate.clippedSum`). */
  output: (name: AggregationOutputName): string => `aggregate.${name}`,
} as const;

/**
 * Writes libs/privacy's aggregation specification into a decoder graph, reading the graph's
 * `logits` (`[batch, positions, vocab]` float32): one ONNX operator (or three, for `finite`) per node
 * of the specification, nothing else, so the privacy library stays the only definition of the
 * computation. The rows listed in `aggregation_rows` are gathered first; with none listed the
 * operators run on empty tensors (the public row's batch, mechanisms that read logits).
 *
 * Operator choices, checked against onnxruntime's CPU kernels by aggregation-graph.spec.ts:
 * - `finite`: `Where(IsNaN(x), -FLT_MAX, Clip(x, -FLT_MAX, FLT_MAX))`, so no NaN or infinity reaches
 *   ReduceMax, Sub or Max (whose NaN behaviour is not specified);
 * - `sumRows` and `rowSum` are float64 ReduceSums: `sumRows` of the clipped terms is exact in any
 *   order (token-aggregation.ts), so the kernel's summation order does not matter.
 */
export function writeAggregation(g: OnnxGraphWriter, spec: AggregationSpec, logits: string, vocabSize: number): void {
  const rows = g.input(AGGREGATION_IO.rows, 'int64', ['aggregated_rows']);
  for (const name of spec.parameters) g.input(AGGREGATION_IO.parameter(name), 'float32', []);
  const selected = g.op1('Gather', [logits, rows], { axis: { int: 0 } });
  const lastAxis = g.int64Tensor([1], [-1]);
  const rowAxis = g.int64Tensor([1], [0]);
  const written = new Map<AggregationNode, string>();
  const write = (node: AggregationNode): string => {
    const known = written.get(node);
    if (known !== undefined) return known;
    let out: string;
    switch (node.op) {
      case 'logits':
        out = selected;
        break;
      case 'parameter':
        out = AGGREGATION_IO.parameter(node.name);
        break;
      case 'finite': {
        const x = write(node.x);
        const low = g.floatConstant([-FLOAT32_MAX]);
        const clamped = g.op1('Clip', [x, low, g.floatConstant([FLOAT32_MAX])]);
        out = g.op1('Where', [g.op1('IsNaN', [x]), low, clamped]);
        break;
      }
      case 'rowMax':
        out = g.op1('ReduceMax', [write(node.x)], { axes: { ints: [-1] }, keepdims: { int: 1 } });
        break;
      case 'rowSum':
        out = g.op1('ReduceSum', [write(node.x), lastAxis], { keepdims: { int: 1 } });
        break;
      case 'sumRows':
        out = g.op1('ReduceSum', [write(node.x), rowAxis], { keepdims: { int: 0 } });
        break;
      case 'sub':
      case 'add':
      case 'max':
      case 'div': {
        const type = { sub: 'Sub', add: 'Add', max: 'Max', div: 'Div' }[node.op];
        out = g.op1(type, [write(node.a), write(node.b)]);
        break;
      }
      case 'exp':
        out = g.op1('Exp', [write(node.x)]);
        break;
      case 'float64':
        out = g.op1('Cast', [write(node.x)], { to: { int: 11 } });
        break;
    }
    written.set(node, out);
    return out;
  };
  for (const [name, node] of Object.entries(spec.outputs) as [AggregationOutputName, AggregationNode][]) {
    const output = AGGREGATION_IO.output(name);
    g.op1('Identity', [write(node)], {}, { name: output });
    g.output(output, 'float64', ['num_logits', vocabSize]);
  }
}
