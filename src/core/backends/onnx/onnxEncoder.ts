/**
 * A small protobuf encoder for ONNX ModelProto: the engine builds its own helper graphs with it (the logits statistics
 * graph in logitsStats.ts), and the tests build whole models with it. Only what those need: nodes with integer and
 * integer-list attributes, initializers as raw_data, typed inputs/outputs with symbolic or fixed dims.
 */

class ProtoWriter {
  private readonly parts: Buffer[] = [];
  private static varintBytes(value: number): Buffer {
    const out: number[] = [];
    let v = value;
    if (v < 0) {
      // Two's complement 64-bit for negative int64 values.
      let big = BigInt.asUintN(64, BigInt(v));
      while (big >= 0x80n) {
        out.push(Number((big & 0x7fn) | 0x80n));
        big >>= 7n;
      }
      out.push(Number(big));
      return Buffer.from(out);
    }
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Buffer.from(out);
  }
  varint(field: number, value: number): this {
    this.parts.push(ProtoWriter.varintBytes(field * 8), ProtoWriter.varintBytes(value));
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.parts.push(ProtoWriter.varintBytes(field * 8 + 2), ProtoWriter.varintBytes(data.length), Buffer.from(data));
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, "utf8"));
  }
  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }
  float(field: number, value: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.parts.push(ProtoWriter.varintBytes(field * 8 + 5), b);
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export const FLOAT = 1;
export const INT64 = 7;
export const DOUBLE = 11;
export const BOOL = 9;
export const FLOAT16 = 10;
export const UINT8 = 2;

export interface TensorSpec {
  name: string;
  dataType: typeof FLOAT | typeof INT64 | typeof DOUBLE | typeof FLOAT16 | typeof UINT8;
  dims: number[];
  values: ArrayLike<number>;
}

function tensorProto(t: TensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, t.dataType);
  w.string(8, t.name);
  let raw: Buffer;
  if (t.dataType === FLOAT16) {
    raw = Buffer.alloc(2 * t.values.length);
    for (let i = 0; i < t.values.length; i++) raw.writeUInt16LE(floatToHalf(t.values[i]!), 2 * i);
  } else if (t.dataType === DOUBLE) {
    raw = Buffer.alloc(8 * t.values.length);
    for (let i = 0; i < t.values.length; i++) raw.writeDoubleLE(t.values[i]!, 8 * i);
  } else if (t.dataType === UINT8) {
    raw = Buffer.from(Uint8Array.from(t.values));
  } else if (t.dataType === FLOAT) {
    raw = Buffer.alloc(4 * t.values.length);
    for (let i = 0; i < t.values.length; i++) raw.writeFloatLE(t.values[i]!, 4 * i);
  } else {
    raw = Buffer.alloc(8 * t.values.length);
    for (let i = 0; i < t.values.length; i++) raw.writeBigInt64LE(BigInt(t.values[i]!), 8 * i);
  }
  w.bytes(9, raw);
  return w;
}

export type Dim = number | string;
export interface ValueSpec {
  name: string;
  elemType: number;
  shape: Dim[];
}

function valueInfo(v: ValueSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, typeof d === "number" ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().varint(1, v.elemType).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Integer attributes (e.g. axis). */
  ints?: Record<string, number>;
  /** Integer-list attributes (e.g. axes). */
  intLists?: Record<string, number[]>;
}

function nodeProto(n: NodeSpec, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name ?? `${n.op}_${index}`);
  w.string(4, n.op);
  for (const [name, value] of Object.entries(n.ints ?? {})) w.message(5, new ProtoWriter().string(1, name).varint(3, value).varint(20, 2));
  for (const [name, values] of Object.entries(n.intLists ?? {})) {
    const attr = new ProtoWriter().string(1, name);
    for (const v of values) attr.varint(8, v);
    w.message(5, attr.varint(20, 7));
  }
  return w;
}

export interface GraphParts {
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
}

/** GraphProto fields (nodes, initializers, inputs, outputs) without a graph name, for appending to an existing graph. */
export function encodeGraphFields(graph: GraphParts): Buffer {
  const g = new ProtoWriter();
  graph.nodes.forEach((n, i) => g.message(1, nodeProto(n, i)));
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  for (const v of graph.inputs) g.message(11, valueInfo(v));
  for (const v of graph.outputs) g.message(12, valueInfo(v));
  return g.finish();
}

/**
 * A copy of `model` whose graph has `extraFields` appended. Protobuf merges repeated fields by concatenation, so
 * appending node/initializer/input/output fields to the graph message adds them; only the graph's length changes.
 */
export function appendToGraph(model: Uint8Array, graphField: { tagStart: number; start: number; end: number }, extraFields: Uint8Array): Buffer {
  return rewriteGraph(model, graphField, [], extraFields);
}

/**
 * A copy of `model` whose graph lacks the fields at `removed` (byte ranges inside the graph message, such as
 * OnnxNode.field) and has `extraFields` appended; only the graph's length changes besides.
 */
export function rewriteGraph(
  model: Uint8Array,
  graphField: { tagStart: number; start: number; end: number },
  removed: ReadonlyArray<{ tagStart: number; end: number }>,
  extraFields: Uint8Array,
): Buffer {
  const view = (from: number, to: number): Buffer => Buffer.from(model.buffer, model.byteOffset + from, to - from);
  const kept: Buffer[] = [];
  let at = graphField.start;
  for (const r of [...removed].sort((a, b) => a.tagStart - b.tagStart)) {
    if (r.tagStart < at || r.end > graphField.end) throw new RangeError("internal: a removed field lies outside the graph or overlaps another");
    kept.push(view(at, r.tagStart));
    at = r.end;
  }
  kept.push(view(at, graphField.end));
  const length = kept.reduce((sum, b) => sum + b.length, 0) + extraFields.length;
  return Buffer.concat([view(0, graphField.tagStart), varintBuffer(7 * 8 + 2), varintBuffer(length), ...kept, extraFields, view(graphField.end, model.length)]);
}

function varintBuffer(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

export function encodeModel(graph: { nodes: NodeSpec[]; initializers: TensorSpec[]; inputs: ValueSpec[]; outputs: ValueSpec[] }, opset = 17): Buffer {
  const g = new ProtoWriter();
  graph.nodes.forEach((n, i) => g.message(1, nodeProto(n, i)));
  g.string(2, "test_graph");
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  for (const v of graph.inputs) g.message(11, valueInfo(v));
  for (const v of graph.outputs) g.message(12, valueInfo(v));
  return new ProtoWriter().varint(1, 8).string(2, "perplexity-lens-tests").message(7, g).message(8, new ProtoWriter().string(1, "").varint(2, opset)).finish();
}

/** IEEE 754 binary16 bits of `value`, rounded to nearest even (normal and subnormal range; overflow gives ±inf). */
export function floatToHalf(value: number): number {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (((bits >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    const half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rest > mid || (rest === mid && half & 1) ? half + 1 : half);
  }
  const half = (exponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half);
}
