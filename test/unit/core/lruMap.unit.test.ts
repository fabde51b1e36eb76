import { test } from "node:test";
import assert from "node:assert/strict";
import { LruMap } from "../../../src/core/lruMap";

test("keeps the most recently set entries, evicting the oldest with a callback; get does not refresh", () => {
  const evicted: string[] = [];
  const map = new LruMap<string, number>(2, (key, value) => evicted.push(`${key}=${value}`));
  map.set("a", 1);
  map.set("b", 2);
  assert.equal(map.get("a"), 1);
  map.set("c", 3);
  assert.deepEqual(evicted, ["a=1"], "get did not make a recent");
  map.set("b", 20);
  map.set("d", 4);
  assert.deepEqual(evicted, ["a=1", "c=3"], "setting b again made it recent");
  assert.equal(map.size, 2);
  assert.equal(map.has("b") && map.has("d"), true);
  assert.equal(map.delete("b"), true);
  map.clear();
  assert.equal(map.size, 0);
  assert.deepEqual(evicted, ["a=1", "c=3"], "delete and clear are not evictions");
  assert.throws(() => new LruMap(0), /capacity must be at least 1/);
});
