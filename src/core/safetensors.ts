/**
 * A reader for the safetensors format (huggingface/safetensors, docs "Format"):
 *
 *     8 bytes   N, unsigned little-endian 64-bit: the header's length in bytes
 *     N bytes   a UTF-8 JSON object { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} }
 *     rest      the byte buffer; a tensor's bytes are buffer[begin, end), little-endian, row-major
 *
 * Tensors of dtype F32, F16 and BF16 are read as Float32Array (F16 and BF16 widened exactly). Every length, offset and
 * shape is checked against the file before a byte is read, so a truncated or malformed file gives one sentence naming
 * the file, never a RangeError from deep inside.
 */
export class SafetensorsError extends Error {}

/** Element sizes in bytes of the dtypes the format defines; only the float ones can be read as Float32Array. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
export const READABLE_DTYPES = ["F32", "F16", "BF16"] as const;
export type ReadableDtype = (typeof READABLE_DTYPES)[number];

/** The format's own limit on the header (100 MB), which also keeps a corrupt length from allocating gigabytes. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range within the data buffer (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  /** The file (or description) errors name. */
  file: string;
  metadata: Record<string, string>;
  /** Entries in header order. */
  entries: Map<string, SafetensorsEntry>;
  /** Reads one tensor as float32 values; throws SafetensorsError for unknown names and non-float dtypes. */
  readFloat32(name: string): Float32Array;
}

/** IEEE 754 binary16 → number (exact). */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 is the top half of a float32: shifting it up by 16 bits gives the float32 exactly. */
function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i]! << 16;
  return new Float32Array(words.buffer);
}

/** Copies [begin, end) of `bytes` into a fresh, aligned ArrayBuffer (the data may start at any byte). */
function alignedCopy(bytes: Uint8Array, begin: number, end: number): ArrayBuffer {
  const copy = new Uint8Array(end - begin);
  copy.set(bytes.subarray(begin, end));
  return copy.buffer;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Parses a safetensors file held in memory. `file` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  if (!littleEndianHost) throw new SafetensorsError(`${file} cannot be read on a big-endian machine.`);
  if (bytes.length < 8) throw new SafetensorsError(`${file} is truncated: it has ${bytes.length} bytes, fewer than the 8-byte header length.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES)
    throw new SafetensorsError(`${file} is not a safetensors file: its header length ${headerLength} exceeds the format's 100 MB limit.`);
  if (8 + headerLength > bytes.length)
    throw new SafetensorsError(`${file} is truncated: its header needs ${headerLength} bytes but only ${bytes.length - 8} follow the length.`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString("utf8"));
  } catch (e) {
    throw new SafetensorsError(`${file} is not a safetensors file: its header is not JSON (${(e as Error).message.replace(/\.$/, "")}).`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw new SafetensorsError(`${file} is not a safetensors file: its header is not a JSON object.`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw === "object" && raw !== null) for (const [k, v] of Object.entries(raw)) if (typeof v === "string") metadata[k] = v;
      continue;
    }
    if (typeof raw !== "object" || raw === null) throw new SafetensorsError(`${file}: the header entry of tensor ${name} is not an object.`);
    const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== "string" || DTYPE_BYTES[dtype] === undefined)
      throw new SafetensorsError(`${file}: tensor ${name} has an unknown dtype ${JSON.stringify(dtype)}.`);
    if (!Array.isArray(shape) || !shape.every((d): d is number => Number.isSafeInteger(d) && d >= 0))
      throw new SafetensorsError(`${file}: tensor ${name} has an invalid shape ${JSON.stringify(shape)}.`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o): o is number => Number.isSafeInteger(o) && o >= 0) || offsets[0]! > offsets[1]!) {
      throw new SafetensorsError(`${file}: tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}.`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[dtype]!;
    if (end - begin !== expected)
      throw new SafetensorsError(
        `${file}: tensor ${name} (${dtype} ${JSON.stringify(shape)}) needs ${expected} bytes but its data_offsets span ${end - begin}.`,
      );
    if (end > dataLength)
      throw new SafetensorsError(`${file} is truncated: tensor ${name} ends at byte ${end} of the data but the file holds only ${dataLength} data bytes.`);
    entries.set(name, { name, dtype, shape: [...shape], begin, end });
  }

  return {
    file,
    metadata,
    entries,
    readFloat32(name: string): Float32Array {
      const entry = entries.get(name);
      if (entry === undefined) throw new SafetensorsError(`${file} has no tensor ${name}.`);
      const begin = dataStart + entry.begin;
      const end = dataStart + entry.end;
      switch (entry.dtype) {
        case "F32":
          return new Float32Array(alignedCopy(bytes, begin, end));
        case "F16": {
          const halves = new Uint16Array(alignedCopy(bytes, begin, end));
          const out = new Float32Array(halves.length);
          for (let i = 0; i < halves.length; i++) out[i] = float16ToNumber(halves[i]!);
          return out;
        }
        case "BF16":
          return bfloat16ToFloat32(new Uint16Array(alignedCopy(bytes, begin, end)));
        default:
          throw new SafetensorsError(`${file}: tensor ${name} is ${entry.dtype}; only ${READABLE_DTYPES.join(", ")} tensors can be read.`);
      }
    },
  };
}
