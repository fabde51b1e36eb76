import { test } from "node:test";
import assert from "node:assert/strict";
import { kvBytesBreakdown } from "../../../src/core/kvBytes";

test("KV bytes: 2 · layers · kv_heads · head_dim · tokens · dtype size", () => {
  // 4 layers, 4 kv heads, head_dim 64, float32, 312 tokens: 2·4·4·64·4 = 8192 B per token; ·312 = 2,555,904 B.
  const b = kvBytesBreakdown({ numLayers: 4, numKvHeads: 4, headDim: 64, kvDtype: "float32" }, 312);
  assert.equal(b.bytesPerToken, 8192);
  assert.equal(b.bytes, 2_555_904);
  assert.equal(b.dtypeBytes, 4);
  // A grouped-query float16 model: 22 layers, 4 kv heads, head_dim 64: 2·22·4·64·2 = 22,528 B per token.
  const gqa = kvBytesBreakdown({ numLayers: 22, numKvHeads: 4, headDim: 64, kvDtype: "float16" }, 1000);
  assert.equal(gqa.bytesPerToken, 22_528);
  assert.equal(gqa.bytes, 22_528_000);
});
