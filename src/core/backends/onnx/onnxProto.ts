/**
 * A minimal protobuf reader for ONNX's ModelProto (onnx/onnx.proto3), enough to
 * - count parameters from the initializers (names, dims, data types),
 * - know where each initializer's raw_data lies in the file (offset/length), so weights can later be patched in place
 *   (LoRA merge) and the session rebuilt from the patched bytes,
 * - list nodes (name, op type, inputs, outputs) and the graph's inputs/outputs with their declared shapes.
 * Subgraphs (If/Loop bodies, as in decoder_model_merged.onnx) are walked for initializers and nodes too.
 * It never copies tensor data.
 */

/** ONNX TensorProto.DataType values and their element sizes in bytes (0 = not fixed-size / sub-byte). */
export const ONNX_DATA_TYPES: Record<number, { name: string; bytes: number; floating: boolean }> = {
  1: { name: "float32", bytes: 4, floating: true },
  2: { name: "uint8", bytes: 1, floating: false },
  3: { name: "int8", bytes: 1, floating: false },
  4: { name: "uint16", bytes: 2, floating: false },
  5: { name: "int16", bytes: 2, floating: false },
  6: { name: "int32", bytes: 4, floating: false },
  7: { name: "int64", bytes: 8, floating: false },
  8: { name: "string", bytes: 0, floating: false },
  9: { name: "bool", bytes: 1, floating: false },
  10: { name: "float16", bytes: 2, floating: true },
  11: { name: "float64", bytes: 8, floating: true },
  12: { name: "uint32", bytes: 4, floating: false },
  13: { name: "uint64", bytes: 8, floating: false },
  16: { name: "bfloat16", bytes: 2, floating: true },
  21: { name: "uint4", bytes: 0, floating: false },
  22: { name: "int4", bytes: 0, floating: false },
};

export interface OnnxInitializer {
  name: string;
  dims: number[];
  dataType: number;
  /** Byte range of raw_data inside the model bytes; null when the values are stored elsewhere (typed fields or external data). */
  rawData: { offset: number; length: number } | null;
  /** True when data_location is EXTERNAL (values in a side file). */
  external: boolean;
  /** TensorProto.external_data entries (location, offset, length, checksum) by key; empty when none. */
  externalData: Record<string, string>;
}

/** How much graph the parser accepts: a hostile file must not exhaust memory or the stack. */
export const ONNX_PARSE_LIMITS = {
  /** Nodes over the graph and all its subgraphs. */
  maxNodes: 200_000,
  /** Subgraph nesting (If/Loop/Scan bodies inside bodies). */
  maxDepth: 64,
} as const;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Integer and integer-list attributes by name (e.g. Gemm's transB → [1], Transpose's perm → [1, 0]); others are skipped. */
  intAttributes: Record<string, number[]>;
  /** Whether the node has attributes of any kind. */
  hasAttributes: boolean;
  /** Where the node's field lies in the model bytes: its tag, and the end of its message (to remove it, onnxEncoder.rewriteGraph). */
  field: { tagStart: number; end: number };
}

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of the element, 0 when not a tensor. */
  elemType: number;
  /** Each dim is a number (dim_value), a string (dim_param) or null (unknown). Null shape when not declared. */
  shape: Array<number | string | null> | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Graphs found in node attributes (If/Loop/Scan bodies). */
  subgraphs: OnnxGraph[];
  /** Tensors that are not initializers: node attribute values (Constant's `value`, `t`/`tensors`) and sparse initializers' values and indices. */
  otherTensors: OnnxInitializer[];
}

export interface OnnxModelProto {
  irVersion: number;
  producerName: string;
  opsets: { domain: string; version: number }[];
  graph: OnnxGraph;
  /** Where ModelProto.graph lies in the bytes: its tag, and its message [start, end) (to append nodes, onnxEncoder.appendToGraph). */
  graphField: { tagStart: number; start: number; end: number };
}

export class OnnxParseError extends Error {}

class ProtoReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OnnxParseError("the protobuf data ends inside a varint");
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) return result;
      multiplier *= 128;
    }
    throw new OnnxParseError("a protobuf varint is longer than 10 bytes");
  }
  /** Reads a varint as a signed 64-bit integer (two's complement) approximated as a double. */
  signedVarint(): number {
    const v = this.varint();
    return v >= 2 ** 63 ? v - 2 ** 64 : v;
  }
  tag(): { field: number; wire: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wire: key % 8 };
  }
  lengthDelimited(): { start: number; end: number } {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new OnnxParseError("a protobuf field runs past the end of its message (the file is truncated or not ONNX)");
    this.pos = end;
    return { start, end };
  }
  string(): string {
    const { start, end } = this.lengthDelimited();
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString("utf8");
  }
  sub(): ProtoReader {
    const { start, end } = this.lengthDelimited();
    return new ProtoReader(this.bytes, start, end);
  }
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.lengthDelimited();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new OnnxParseError(`unsupported protobuf wire type ${wire} (the file is not ONNX)`);
    }
    if (this.pos > this.end) throw new OnnxParseError("a protobuf field runs past the end of its message");
  }
  /** Repeated int64 field, packed or not. */
  int64s(wire: number, into: number[]): void {
    if (wire === 2) {
      const sub = this.sub();
      while (!sub.done) into.push(sub.signedVarint());
    } else into.push(this.signedVarint());
  }
}

/** Nodes seen so far and the nesting depth, shared by one parse. */
interface ParseBudget {
  nodes: number;
}

function readTensor(r: ProtoReader): OnnxInitializer {
  const t: OnnxInitializer = { name: "", dims: [], dataType: 0, rawData: null, external: false, externalData: {} };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1) r.int64s(wire, t.dims);
    else if (field === 2 && wire === 0) t.dataType = r.varint();
    else if (field === 8 && wire === 2) t.name = r.string();
    else if (field === 9 && wire === 2) {
      const { start, end } = r.lengthDelimited();
      t.rawData = { offset: start, length: end - start };
    } else if (field === 14 && wire === 0) t.external = r.varint() === 1;
    else if (field === 13 && wire === 2) {
      // StringStringEntryProto: key = 1, value = 2.
      const entry = r.sub();
      let key = "";
      let value = "";
      while (!entry.done) {
        const e = entry.tag();
        if (e.field === 1 && e.wire === 2) key = entry.string();
        else if (e.field === 2 && e.wire === 2) value = entry.string();
        else entry.skip(e.wire);
      }
      t.externalData[key] = value;
    } else r.skip(wire);
  }
  return t;
}

/** SparseTensorProto: values = 1, indices = 2 (both TensorProto). */
function readSparseTensor(r: ProtoReader, into: OnnxInitializer[]): void {
  while (!r.done) {
    const { field, wire } = r.tag();
    if ((field === 1 || field === 2) && wire === 2) into.push(readTensor(r.sub()));
    else r.skip(wire);
  }
}

function readValueInfo(r: ProtoReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: "", elemType: 0, shape: null };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) v.name = r.string();
    else if (field === 2 && wire === 2) {
      const type = r.sub();
      while (!type.done) {
        const tt = type.tag();
        if (tt.field === 1 && tt.wire === 2) {
          const tensorType = type.sub();
          while (!tensorType.done) {
            const f = tensorType.tag();
            if (f.field === 1 && f.wire === 0) v.elemType = tensorType.varint();
            else if (f.field === 2 && f.wire === 2) {
              v.shape = [];
              const shape = tensorType.sub();
              while (!shape.done) {
                const d = shape.tag();
                if (d.field === 1 && d.wire === 2) {
                  const dim = shape.sub();
                  let value: number | string | null = null;
                  while (!dim.done) {
                    const df = dim.tag();
                    if (df.field === 1 && df.wire === 0) value = dim.signedVarint();
                    else if (df.field === 2 && df.wire === 2) value = dim.string();
                    else dim.skip(df.wire);
                  }
                  v.shape.push(value);
                } else shape.skip(d.wire);
              }
            } else tensorType.skip(f.wire);
          }
        } else type.skip(tt.wire);
      }
    } else r.skip(wire);
  }
  return v;
}

function readNode(r: ProtoReader, g: OnnxGraph, tagStart: number, budget: ParseBudget, depth: number): OnnxNode {
  const n: OnnxNode = { name: "", opType: "", domain: "", inputs: [], outputs: [], intAttributes: {}, hasAttributes: false, field: { tagStart, end: r.end } };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) n.inputs.push(r.string());
    else if (field === 2 && wire === 2) n.outputs.push(r.string());
    else if (field === 3 && wire === 2) n.name = r.string();
    else if (field === 4 && wire === 2) n.opType = r.string();
    else if (field === 7 && wire === 2) n.domain = r.string();
    else if (field === 5 && wire === 2) {
      // AttributeProto: name = 1, i = 3 (int64), t = 5 (TensorProto), g = 6 (GraphProto), ints = 8 (repeated int64),
      // tensors = 10 (repeated TensorProto), graphs = 11 (repeated GraphProto), sparse_tensor = 22, sparse_tensors = 23.
      const attr = r.sub();
      n.hasAttributes = true;
      let attrName = "";
      const ints: number[] = [];
      while (!attr.done) {
        const a = attr.tag();
        if ((a.field === 6 || a.field === 11) && a.wire === 2) g.subgraphs.push(readGraph(attr.sub(), budget, depth + 1));
        else if ((a.field === 5 || a.field === 10) && a.wire === 2) g.otherTensors.push(readTensor(attr.sub()));
        else if ((a.field === 22 || a.field === 23) && a.wire === 2) readSparseTensor(attr.sub(), g.otherTensors);
        else if (a.field === 1 && a.wire === 2) attrName = attr.string();
        else if ((a.field === 3 && a.wire === 0) || a.field === 8) attr.int64s(a.wire, ints);
        else attr.skip(a.wire);
      }
      if (attrName !== "" && ints.length > 0) n.intAttributes[attrName] = ints;
    } else r.skip(wire);
  }
  return n;
}

function readGraph(r: ProtoReader, budget: ParseBudget, depth: number): OnnxGraph {
  if (depth > ONNX_PARSE_LIMITS.maxDepth)
    throw new OnnxParseError(`its subgraphs are nested more than ${ONNX_PARSE_LIMITS.maxDepth} deep, more than Perplexity Lens accepts`);
  const g: OnnxGraph = { name: "", nodes: [], initializers: [], inputs: [], outputs: [], subgraphs: [], otherTensors: [] };
  while (!r.done) {
    const tagStart = r.pos;
    const { field, wire } = r.tag();
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    if (field === 1) {
      if (++budget.nodes > ONNX_PARSE_LIMITS.maxNodes)
        throw new OnnxParseError(
          `it has more than ${ONNX_PARSE_LIMITS.maxNodes.toLocaleString("en-US")} nodes (over all subgraphs), more than Perplexity Lens accepts`,
        );
      g.nodes.push(readNode(r.sub(), g, tagStart, budget, depth));
    } else if (field === 2) g.name = r.string();
    else if (field === 5) g.initializers.push(readTensor(r.sub()));
    else if (field === 15) readSparseTensor(r.sub(), g.otherTensors);
    else if (field === 11) g.inputs.push(readValueInfo(r.sub()));
    else if (field === 12) g.outputs.push(readValueInfo(r.sub()));
    else r.skip(wire);
  }
  return g;
}

/** Parses ModelProto bytes. Throws OnnxParseError when the bytes are not a well-formed ONNX model. */
export function parseOnnxModel(bytes: Uint8Array): OnnxModelProto {
  const r = new ProtoReader(bytes, 0, bytes.length);
  const model: OnnxModelProto = {
    irVersion: 0,
    producerName: "",
    opsets: [],
    graph: { name: "", nodes: [], initializers: [], inputs: [], outputs: [], subgraphs: [], otherTensors: [] },
    graphField: { tagStart: 0, start: 0, end: 0 },
  };
  let sawGraph = false;
  while (!r.done) {
    const tagStart = r.pos;
    const { field, wire } = r.tag();
    if (field === 1 && wire === 0) model.irVersion = r.varint();
    else if (field === 2 && wire === 2) model.producerName = r.string();
    else if (field === 7 && wire === 2) {
      const sub = r.sub();
      model.graphField = { tagStart, start: sub.pos, end: sub.end };
      model.graph = readGraph(sub, { nodes: 0 }, 0);
      sawGraph = true;
    } else if (field === 8 && wire === 2) {
      const op = r.sub();
      const opset = { domain: "", version: 0 };
      while (!op.done) {
        const f = op.tag();
        if (f.field === 1 && f.wire === 2) opset.domain = op.string();
        else if (f.field === 2 && f.wire === 0) opset.version = op.varint();
        else op.skip(f.wire);
      }
      model.opsets.push(opset);
    } else r.skip(wire);
  }
  if (!sawGraph || model.irVersion === 0) throw new OnnxParseError("the bytes hold no ONNX graph (not an ONNX model)");
  return model;
}

/** Every tensor of the graph and its subgraphs: initializers, attribute tensors, sparse initializers' parts. */
export function allTensors(graph: OnnxGraph): OnnxInitializer[] {
  const out = [...graph.initializers, ...graph.otherTensors];
  for (const sub of graph.subgraphs) out.push(...allTensors(sub));
  return out;
}

/** Every initializer of the graph and its subgraphs. */
export function allInitializers(graph: OnnxGraph): OnnxInitializer[] {
  const out = [...graph.initializers];
  for (const sub of graph.subgraphs) out.push(...allInitializers(sub));
  return out;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Parameters counted from the initializers: elements of every floating-point or 8/4-bit (quantized weight) initializer
 * with more than one element. Integer shape constants and scalars (scales, zero points) are not parameters.
 * A tied embedding stored twice by the exporter (constant folding writes a transposed copy) is counted twice.
 */
export function countParameters(graph: OnnxGraph): number {
  let total = 0;
  for (const init of allInitializers(graph)) {
    const type = ONNX_DATA_TYPES[init.dataType];
    const weightLike = type !== undefined && (type.floating || init.dataType === 2 || init.dataType === 3 || init.dataType === 21 || init.dataType === 22);
    const n = elementCount(init.dims);
    if (weightLike && n > 1) total += n;
  }
  return total;
}

/** The opset version the model imports for a domain ("" = the default ONNX domain), or null. */
export function opsetVersion(model: OnnxModelProto, domain = ""): number | null {
  const entry = model.opsets.find((o) => o.domain === domain || (domain === "" && o.domain === "ai.onnx"));
  return entry ? entry.version : null;
}
