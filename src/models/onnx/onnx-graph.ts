/**
 * Builds ONNX models in code and encodes them to the bytes an `.onnx` file holds, so the project
 * can write its own models (the embedded summarizer, the tiny test models) without Python.
 *
 * A `Graph` collects inputs, initializers (weights), nodes and outputs; `op()` adds a node and
 * returns the name of its (first) output, so graphs read like the math they compute:
 *
 *   const g = new Graph('double');
 *   const x = g.input('x', 'float32', ['batch', 4]);
 *   g.output(g.op('Mul', [x, g.constant('two', new Float32Array([2]), [])]), 'y', 'float32', ['batch', 4]);
 *   const bytes = encodeModel(g);
 *
 * Only the parts of onnx.proto that such models need are written (ir_version 8, the default
 * domain at opset 17, `com.microsoft` at version 1 where a node uses it, tensors as raw data).
 */
import { ProtoWriter } from './protobuf.js';

export type ElementType = 'float32' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
/** A dimension: a fixed size, or a name for a size known only at run time. */
export type Dim = number | string;
/** float16 values travel as their bit patterns in a Uint16Array (see float16.ts). */
export type TensorData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

// TensorProto.DataType
const DATA_TYPE: Record<ElementType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 };

export const OPSET = 17;
const IR_VERSION = 8;

/** Marks an attribute value that must be written as a float even if it is a whole number. */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const float = (value: number): FloatAttr => new FloatAttr(value);

export type AttrValue = number | FloatAttr | number[] | string | Graph | Tensor;
export interface Tensor {
  name: string;
  type: ElementType;
  dims: number[];
  data: TensorData;
}

export interface GraphNode {
  op: string;
  /** The operator set the op belongs to: '' (the default ONNX domain) or e.g. 'com.microsoft'. */
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  name: string;
}
type Node = GraphNode;
/** A graph input or output: its name, element type and shape. */
export interface GraphValue {
  name: string;
  type: ElementType;
  shape: Dim[];
}
type ValueInfo = GraphValue;

function elementTypeOf(data: TensorData): ElementType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'float16';
  return 'bool';
}

export class Graph {
  private readonly nodes: Node[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: Tensor[] = [];
  private readonly names = new Set<string>();
  private readonly smallConstants = new Map<string, string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name; `hint` makes graphs readable in a viewer such as Netron. */
  fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  input(name: string, type: ElementType, shape: Dim[]): string {
    this.names.add(name);
    this.inputs.push({ name, type, shape });
    return name;
  }

  /** Declares `value` a graph output called `name` (an Identity node renames it if needed). */
  output(value: string, name: string, type: ElementType, shape: Dim[]): void {
    if (value !== name) {
      this.names.add(name);
      this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name], attrs: {}, name: `${name}_out` });
    }
    this.outputs.push({ name, type, shape });
  }

  /** A weight or constant stored in the model (a Uint8Array is bool unless `type` says uint8). */
  constant(name: string, data: TensorData, dims: number[], type: ElementType = elementTypeOf(data)): string {
    const unique = this.fresh(name);
    this.initializers.push({ name: unique, type, dims, data });
    return unique;
  }

  /**
   * The graph's nodes and weights themselves, for passes that rewrite a built graph (such as
   * weight-variants.ts, which stores weights quantized); changes made to them are kept.
   */
  get parts(): { nodes: GraphNode[]; initializers: Tensor[]; inputs: GraphValue[]; outputs: GraphValue[] } {
    return { nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  /** A small constant, stored once per graph however often it is asked for. */
  private small(name: string, data: Float32Array | BigInt64Array, dims: number[]): string {
    const key = `${elementTypeOf(data)}[${dims.join(',')}]${Array.from(data as ArrayLike<number | bigint>).join(',')}`;
    let id = this.smallConstants.get(key);
    if (!id) {
      id = this.constant(name, data, dims);
      this.smallConstants.set(key, id);
    }
    return id;
  }

  int64s(name: string, values: readonly number[]): string {
    return this.small(name, BigInt64Array.from(values, BigInt), [values.length]);
  }

  /** A 0-d int64 (what Range, Gather indices and shape arithmetic take). */
  int64(name: string, value: number): string {
    return this.small(name, BigInt64Array.of(BigInt(value)), []);
  }

  scalar(name: string, value: number): string {
    return this.small(name, new Float32Array([value]), []);
  }

  /** Adds a node; returns its first output's name (`outputs` names more than one). */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string {
    const names = Array.isArray(outputs) ? outputs : Array.from({ length: outputs }, (_, i) => this.fresh(`${op.toLowerCase()}${i ? `_${i}` : ''}`));
    for (const n of names) this.names.add(n);
    this.nodes.push({ op, inputs, outputs: names, attrs, name: this.fresh(`${op}_node`) });
    return names[0]!;
  }

  /** A node of another operator set than the default one, such as com.microsoft's contrib ops. */
  opIn(domain: string, op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    const output = this.fresh(op.toLowerCase());
    this.nodes.push({ op, domain, inputs, outputs: [output], attrs, name: this.fresh(`${op}_node`) });
    return output;
  }

  /** The operator sets that this graph and its subgraphs use, besides the default one. */
  domains(): Set<string> {
    const out = new Set<string>();
    for (const n of this.nodes) {
      if (n.domain) out.add(n.domain);
      for (const a of Object.values(n.attrs)) if (a instanceof Graph) for (const d of a.domains()) out.add(d);
    }
    return out;
  }

  /** Like `op`, returning every output name. */
  opMulti(op: string, inputs: string[], outputs: string[] | number, attrs: Record<string, AttrValue> = {}): string[] {
    const names = Array.isArray(outputs) ? outputs : Array.from({ length: outputs }, (_, i) => this.fresh(`${op.toLowerCase()}_${i}`));
    this.op(op, inputs, attrs, names);
    return names;
  }

  encode(): ProtoWriter {
    const g = new ProtoWriter();
    for (const node of this.nodes) g.message(1, encodeNode(node));
    g.string(2, this.name);
    for (const t of this.initializers) g.message(5, encodeTensor(t));
    for (const v of this.inputs) g.message(11, encodeValueInfo(v));
    for (const v of this.outputs) g.message(12, encodeValueInfo(v));
    return g;
  }
}

function encodeNode(node: Node): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of node.inputs) w.string(1, i);
  for (const o of node.outputs) w.string(2, o);
  w.string(3, node.name).string(4, node.op);
  if (node.domain) w.string(7, node.domain);
  for (const [name, value] of Object.entries(node.attrs)) w.message(5, encodeAttribute(name, value));
  return w;
}

// AttributeProto.AttributeType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, INTS: 7 } as const;

function encodeAttribute(name: string, value: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (value instanceof FloatAttr) return w.float(2, value.value).int(20, ATTR.FLOAT);
  if (typeof value === 'number') return Number.isInteger(value) ? w.int(3, value).int(20, ATTR.INT) : w.float(2, value).int(20, ATTR.FLOAT);
  if (typeof value === 'string') return w.string(4, value).int(20, ATTR.STRING);
  if (Array.isArray(value)) return w.packedInts(8, value).int(20, ATTR.INTS);
  if (value instanceof Graph) return w.message(6, value.encode()).int(20, ATTR.GRAPH);
  return w.message(5, encodeTensor(value)).int(20, ATTR.TENSOR);
}

function encodeTensor(t: Tensor): ProtoWriter {
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  // raw_data is little-endian, which is what typed arrays hold on every platform Node runs on.
  return new ProtoWriter().packedInts(1, t.dims).int(2, DATA_TYPE[t.type]).string(8, t.name).bytes(9, raw);
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, DATA_TYPE[v.type]).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

/** The bytes of an `.onnx` file holding `graph`. */
export function encodeModel(graph: Graph, producer = 'livecap'): Uint8Array {
  const model = new ProtoWriter().int(1, IR_VERSION).string(2, producer).message(7, graph.encode());
  model.message(8, new ProtoWriter().string(1, '').int(2, OPSET));
  for (const domain of graph.domains()) model.message(8, new ProtoWriter().string(1, domain).int(2, 1));
  return model.finish();
}
