// The safetensors reader on hand-made buffers: F32/F16/BF16 values (exact widening), any header alignment, metadata,
// and one-sentence errors naming the file for every kind of malformed or truncated file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { float16ToNumber, parseSafetensors, SafetensorsError } from "../../../src/core/safetensors";
import { encodeSafetensors, f32Bytes, halfBytes, toBfloat16Bits, toFloat16Bits } from "../../helpers/safetensorsWriter";

const FILE = "/adapters/x/adapter_model.safetensors";

function u16(values: number[]): Uint8Array {
  return new Uint8Array(Uint16Array.from(values).buffer);
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => {
      const f = parseSafetensors(bytes, FILE);
      for (const name of f.entries.keys()) f.readFloat32(name);
    },
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${String(e)}`);
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(FILE), `the message names the file: ${e.message}`);
      assert.equal(e.message.split(/\.\s+[A-Z]/).length, 1, `one sentence: ${e.message}`);
      return true;
    },
  );
}

test("F32 tensors read back exactly, with shapes, header order and metadata", () => {
  const a = [1, -2.5, 3.25, 1e-30, 6.5e30, -0];
  const bytes = encodeSafetensors(
    [
      { name: "w", dtype: "F32", shape: [2, 3], data: f32Bytes(a) },
      { name: "b", dtype: "F32", shape: [1], data: f32Bytes([Math.PI]) },
    ],
    { format: "pt" },
  );
  const f = parseSafetensors(bytes, FILE);
  assert.deepEqual([...f.entries.keys()], ["w", "b"]);
  assert.deepEqual(f.entries.get("w")!.shape, [2, 3]);
  assert.deepEqual(f.metadata, { format: "pt" });
  assert.deepEqual([...f.readFloat32("w")], a.map(Math.fround));
  assert.equal(f.readFloat32("b")[0], Math.fround(Math.PI));
});

test("F16 widens exactly: normals, subnormals, signed zero, infinities, NaN", () => {
  const bits = [0x3c00, 0xc000, 0x3800, 0x0001, 0x03ff, 0x7bff, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
  const expected = [1, -2, 0.5, 2 ** -24, 1023 * 2 ** -24, 65504, -0, Infinity, -Infinity, NaN, 0.333251953125];
  const f = parseSafetensors(encodeSafetensors([{ name: "h", dtype: "F16", shape: [bits.length], data: u16(bits) }]), FILE);
  const got = [...f.readFloat32("h")];
  expected.forEach((v, i) => assert.ok(Object.is(got[i], v), `bits 0x${bits[i]!.toString(16)}: ${got[i]} vs ${v}`));
  assert.equal(float16ToNumber(0x3555), 0.333251953125);
  // The test writer's rounding agrees with the reader (round trip of representable values).
  for (const v of [1, -2, 0.5, 65504, 2 ** -24]) assert.equal(float16ToNumber(toFloat16Bits(v)), v);
});

test("BF16 widens to the float32 whose top half it is", () => {
  const bits = [0x3f80, 0x4049, 0xc2c8, 0x0000, 0x8000, 0x7f80];
  const expected = [1, 3.140625, -100, 0, -0, Infinity];
  const f = parseSafetensors(encodeSafetensors([{ name: "g", dtype: "BF16", shape: [2, 3], data: u16(bits) }]), FILE);
  const got = [...f.readFloat32("g")];
  expected.forEach((v, i) => assert.ok(Object.is(got[i], v), `${got[i]} vs ${v}`));
  assert.equal(toBfloat16Bits(Math.PI), 0x4049);
});

test("data that starts at an odd byte (header not padded to 8) is still read", () => {
  for (const pad of [0, 1, 2, 3, 5]) {
    const vals = [0.1, 0.2, 0.3];
    const f = parseSafetensors(encodeSafetensors([{ name: "x", dtype: "F32", shape: [3], data: f32Bytes(vals) }], undefined, pad), FILE);
    assert.deepEqual([...f.readFloat32("x")], vals.map(Math.fround));
    const h = parseSafetensors(encodeSafetensors([{ name: "y", dtype: "F16", shape: [1], data: halfBytes([0.5], toFloat16Bits) }], undefined, pad), FILE);
    assert.deepEqual([...h.readFloat32("y")], [0.5]);
  }
});

test("empty tensors and a subarray view of a larger buffer", () => {
  const bytes = encodeSafetensors([
    { name: "e", dtype: "F32", shape: [0, 4], data: new Uint8Array(0) },
    { name: "v", dtype: "F32", shape: [1], data: f32Bytes([7]) },
  ]);
  const outer = new Uint8Array(bytes.length + 10);
  outer.set(bytes, 3);
  const f = parseSafetensors(outer.subarray(3, 3 + bytes.length), FILE);
  assert.equal(f.readFloat32("e").length, 0);
  assert.deepEqual([...f.readFloat32("v")], [7]);
});

test("malformed and truncated files give one sentence naming the file", () => {
  const good = encodeSafetensors([{ name: "w", dtype: "F32", shape: [4], data: f32Bytes([1, 2, 3, 4]) }]);
  expectError(good.subarray(0, 5), /truncated: it has 5 bytes/);
  expectError(good.subarray(0, 20), /truncated: its header needs \d+ bytes/);
  expectError(good.subarray(0, good.length - 1), /truncated: tensor w ends at byte 16 of the data but the file holds only 15/);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(2n ** 40n);
  expectError(huge, /header length \d+ exceeds the format's 100 MB limit/);
  const notJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{abc")]);
  expectError(notJson, /header is not JSON/);
  const array = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("[]")]);
  expectError(array, /header is not a JSON object/);
  const raw = (entry: unknown): Buffer => {
    const json = JSON.stringify({ w: entry });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, Buffer.from(json), Buffer.alloc(16)]);
  };
  expectError(raw({ dtype: "F33", shape: [4], data_offsets: [0, 16] }), /unknown dtype "F33"/);
  expectError(raw({ dtype: "F32", shape: [-1], data_offsets: [0, 16] }), /invalid shape/);
  expectError(raw({ dtype: "F32", shape: [4], data_offsets: [8, 0] }), /invalid data_offsets/);
  expectError(raw({ dtype: "F32", shape: [3], data_offsets: [0, 16] }), /needs 12 bytes but its data_offsets span 16/);
  expectError(raw(5), /header entry of tensor w is not an object/);
});

test("non-float dtypes are listed but not read as floats; unknown names are refused", () => {
  const f = parseSafetensors(encodeSafetensors([{ name: "i", dtype: "I64", shape: [1], data: new Uint8Array(8) }]), FILE);
  assert.equal(f.entries.get("i")!.dtype, "I64");
  assert.throws(() => f.readFloat32("i"), /tensor i is I64; only F32, F16, BF16 tensors can be read/);
  assert.throws(() => f.readFloat32("nope"), /has no tensor nope/);
});
