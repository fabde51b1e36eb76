import { test } from "node:test";
import assert from "node:assert/strict";
import { DisposableStore } from "../../../src/extension/disposableStore";

test("disposing the store disposes everything, newest first, once", () => {
  const order: string[] = [];
  const store = new DisposableStore();
  store.add({ dispose: () => order.push("a") });
  store.add({ dispose: () => order.push("b") });
  store.dispose();
  store.dispose();
  assert.deepEqual(order, ["b", "a"]);
  assert.ok(store.isDisposed);
});

test("anything added after disposal is disposed at once", () => {
  const store = new DisposableStore();
  store.dispose();
  let disposed = false;
  store.add({ dispose: () => (disposed = true) });
  assert.ok(disposed);
});

test("clear empties a store that stays usable (the engine lifetime), and one failure does not stop the rest", () => {
  const errors: unknown[] = [];
  const store = new DisposableStore((e) => errors.push(e));
  let disposed = 0;
  store.add({ dispose: () => disposed++ });
  store.add({
    dispose: () => {
      throw new Error("boom");
    },
  });
  store.clear();
  assert.equal(disposed, 1);
  assert.equal(errors.length, 1);
  store.add({ dispose: () => disposed++ });
  assert.equal(disposed, 1, "added after clear, not disposed yet");
  store.dispose();
  assert.equal(disposed, 2);
});
