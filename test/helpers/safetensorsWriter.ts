/**
 * Writes safetensors files for tests (the layout safetensors.ts documents): hand-made tensors of any dtype, and copies of
 * the shipped adapters converted to F16/BF16 or broken on purpose.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { floatToHalf } from "../../src/core/backends/onnx/onnxEncoder";
import { parseSafetensors } from "../../src/core/safetensors";

export interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** Builds a safetensors buffer; `headerPad` spaces are added to the JSON header (the format pads to 8 bytes; tests also misalign it). */
export function encodeSafetensors(tensors: readonly RawTensor[], metadata?: Record<string, string>, headerPad = -1): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  if (metadata) header["__metadata__"] = metadata;
  let json = JSON.stringify(header);
  const pad = headerPad >= 0 ? headerPad : (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += " ".repeat(pad);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json, "utf8"), ...tensors.map((t) => Buffer.from(t.data))]);
}

export function f32Bytes(values: readonly number[] | Float32Array): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** Round-to-nearest-even float32 → binary16 bits: the engine's own converter (src/core/onnxEncoder.ts). */
export const toFloat16Bits = floatToHalf;

/** float32 → bfloat16 bits, round to nearest even. */
export function toBfloat16Bits(value: number): number {
  const x = new Uint32Array(new Float32Array([value]).buffer)[0]!;
  const rounding = 0x7fff + ((x >>> 16) & 1);
  return ((x + rounding) >>> 16) & 0xffff;
}

export function halfBytes(values: ArrayLike<number>, convert: (v: number) => number): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = convert(values[i]!);
  return new Uint8Array(out.buffer);
}

/** Copies an adapter folder to `dest`, letting `edit` change its config and tensors first. */
export function copyAdapter(
  src: string,
  dest: string,
  edit: { config?: (c: Record<string, unknown>) => void; tensors?: (t: RawTensor[]) => RawTensor[] } = {},
): string {
  fs.mkdirSync(dest, { recursive: true });
  const config = JSON.parse(fs.readFileSync(path.join(src, "adapter_config.json"), "utf8")) as Record<string, unknown>;
  edit.config?.(config);
  fs.writeFileSync(path.join(dest, "adapter_config.json"), JSON.stringify(config, null, 2));
  const file = path.join(src, "adapter_model.safetensors");
  const parsed = parseSafetensors(fs.readFileSync(file), file);
  let tensors: RawTensor[] = [...parsed.entries.values()].map((e) => ({
    name: e.name,
    dtype: "F32",
    shape: e.shape,
    data: f32Bytes(parsed.readFloat32(e.name)),
  }));
  if (edit.tensors) tensors = edit.tensors(tensors);
  fs.writeFileSync(path.join(dest, "adapter_model.safetensors"), encodeSafetensors(tensors, parsed.metadata));
  return dest;
}
