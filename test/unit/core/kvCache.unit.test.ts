/**
 * KV-cache counters from tensor shapes, the byte formula, LRU eviction under a budget, and the engine's use of it.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { KvCache, sliceKv } from "../../../src/core/kvCache";
import { kvBytes } from "../../../src/core/kvBytes";
import type { KvState } from "../../../src/core/backends/onnx/onnxSession";
import { Engine } from "../../../src/core/engine";
import { runningSumFolder } from "../../helpers/onnxBuilder";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-kv-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Keys/values of `layers` layers with distinct values, [1, heads, length, dim], as a model would return them. */
function fakeKv(layers: number, heads: number, length: number, dim: number, type: "float32" | "float16" = "float32"): KvState {
  const tensors: ort.Tensor[] = [];
  for (let i = 0; i < 2 * layers; i++) {
    const n = heads * length * dim;
    const data = type === "float32" ? Float32Array.from({ length: n }, (_, k) => i * 1000 + k) : Uint16Array.from({ length: n }, (_, k) => k);
    tensors.push(new ort.Tensor(type, data, [1, heads, length, dim]));
  }
  return { tensors, length };
}

describe("KvCache", () => {
  test("bytes = 2 · layers · kv_heads · head_dim · tokens · dtype size, from the tensors' shapes", () => {
    const cache = new KvCache(1e9);
    cache.put("a", 0, fakeKv(3, 2, 10, 4), new Array<number>(10).fill(1));
    assert.equal(kvBytes(3, 2, 4, 10, 4), 2 * 3 * 2 * 4 * 10 * 4);
    assert.equal(cache.stats().bytesHeld, 1920);
    cache.put("b", 0, fakeKv(3, 2, 5, 4, "float16"), new Array<number>(5).fill(1));
    const stats = cache.stats();
    assert.equal(stats.bytesHeld, 1920 + 2 * 3 * 2 * 4 * 5 * 2);
    assert.equal(stats.tokensCached, 15);
    assert.deepEqual(stats.layerShape, [1, 2, 5, 4]);
    assert.equal(stats.hitRate, null, "no work yet");
    cache.record(30, 10);
    assert.equal(cache.stats().hitRate, 0.75);
  });

  test("the least recently used entries are evicted to keep within the budget", () => {
    const entryBytes = kvBytes(1, 1, 4, 8, 4); // 256
    const cache = new KvCache(entryBytes * 2);
    cache.put("a", 0, fakeKv(1, 1, 8, 4), new Array<number>(8).fill(0));
    cache.put("b", 0, fakeKv(1, 1, 8, 4), new Array<number>(8).fill(0));
    assert.ok(cache.get("a", 0), "touch a so that b is the oldest");
    cache.put("c", 0, fakeKv(1, 1, 8, 4), new Array<number>(8).fill(0));
    assert.equal(cache.stats().evictions, 1);
    assert.ok(cache.get("a", 0) && cache.get("c", 0));
    assert.equal(cache.get("b", 0), undefined);
    assert.equal(cache.stats().bytesHeld, 2 * entryBytes);
    assert.equal(cache.put("huge", 0, fakeKv(1, 1, 24, 4), new Array<number>(24).fill(0)), false, "an entry larger than the budget is not kept");
    assert.ok(cache.stats().bytesHeld <= 2 * entryBytes);
    cache.releaseDocument("a");
    assert.equal(cache.get("a", 0), undefined);
    cache.clear("adapter changed");
    assert.equal(cache.stats().bytesHeld, 0);
    assert.equal(cache.stats().lastReset, "adapter changed");
  });

  test("slicing keeps the first positions of every head", () => {
    const kv = fakeKv(1, 2, 5, 3);
    const sliced = sliceKv(ort, kv, 2);
    const data = sliced.tensors[0]!.data as Float32Array;
    assert.deepEqual(sliced.tensors[0]!.dims, [1, 2, 2, 3]);
    // head 0 positions 0..1 = elements 0..5; head 1 starts at 5·3 = 15.
    assert.deepEqual([...data], [0, 1, 2, 3, 4, 5, 15, 16, 17, 18, 19, 20]);
  });
});

describe("the engine's cache", () => {
  const dir = runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 });
  const perToken = kvBytes(1, 1, 8, 1, 4);

  test("counts tokens cached, bytes, reuse and hit rate from what the scorings did", async () => {
    const engine = new Engine({ chunkTokens: 16 });
    await engine.loadModel(dir);
    const text = "abcdefghijklmnopqrstuvwxyz0123456789"; // 36 byte tokens, one window of 64
    const first = await engine.score("doc", text);
    assert.equal(first.cache.tokensCached, 36, "positions [0, 36): the prefix and the first 35 tokens (the last token is never fed)");
    assert.equal(first.cache.bytesHeld, 36 * perToken);
    assert.deepEqual(first.cache.layerShape, [1, 1, 36, 8]);
    assert.equal(first.rescore.tokensRecomputed, 36);
    const second = await engine.score("doc", text.slice(0, 30) + "!" + text.slice(31));
    assert.equal(second.rescore.tokensReused, 30);
    assert.equal(second.rescore.tokensRecomputed, 6);
    assert.equal(second.cache.tokensReused, 30);
    assert.equal(second.cache.tokensRecomputed, 42);
    assert.equal(second.cache.hitRate, 30 / 72);
    await engine.releaseDocument("doc");
    assert.equal(engine.cacheStats().tokensCached, 0);
    await engine.dispose();
  });

  test("a budget smaller than two documents evicts the older one and results stay correct", async () => {
    const engine = new Engine({ chunkTokens: 16, kvBudgetBytes: 50 * perToken });
    await engine.loadModel(dir);
    const a = "The first document has some text.";
    const b = "A second document, also with text.";
    const firstA = await engine.score("a", a);
    await engine.score("b", b);
    const stats = engine.cacheStats();
    assert.equal(stats.evictions, 1);
    assert.ok(stats.bytesHeld <= 50 * perToken);
    const editedA = await engine.score("a", a + "!");
    firstA.tokens.forEach((t, j) => assert.ok(Math.abs(t.logprob! - editedA.tokens[j]!.logprob!) < 1e-6));
    await engine.dispose();
  });

  test("the per-document state is bounded: the least recently scored document is forgotten with its keys/values", async () => {
    const engine = new Engine({ chunkTokens: 16, maxDocuments: 2 });
    await engine.loadModel(dir);
    await engine.score("one", "first document");
    await engine.score("two", "second document");
    const before = engine.cacheStats().tokensCached;
    await engine.score("three", "third document");
    assert.equal(engine.cacheStats().tokensCached, before - "first document".length + "third document".length);
    const again = await engine.score("one", "first document");
    assert.equal(again.rescore.tokensReused, 0, "nothing kept for a forgotten document");
    const kept = await engine.score("three", "third document");
    assert.equal(kept.rescore.tokensReused, "third document".length);
    await engine.dispose();
  });
});
