import { test } from "node:test";
import assert from "node:assert/strict";
import { LoraAdapters, adapterLabel, sameSelections, type AdapterEngine, type AdapterSnapshot } from "../../../src/extension/loraAdapters";
import type { AdapterSelection, AdaptersChanged } from "../../../src/protocol/engine";

/** A fake engine that applies what it is sent (or fails for an adapter named "broken"). */
function fakeEngine(): AdapterEngine & { sent: AdapterSelection[][] } {
  const sent: AdapterSelection[][] = [];
  return {
    sent,
    request: (async (method: string, params: { adapters?: AdapterSelection[] }) => {
      assert.equal(method, "setAdapters");
      const adapters = params.adapters ?? [];
      sent.push(adapters);
      if (adapters.some((a) => a.name === "broken")) throw new Error('Adapter "broken" has no adapter_model.safetensors.');
      const answer: Partial<AdaptersChanged> = {
        active: adapters,
        adapters: [],
        mode: adapters.length > 0 ? "feed" : "none",
        matchedModules: [],
        millis: 1,
      };
      return answer;
    }) as AdapterEngine["request"],
  };
}

const silent = { info: () => undefined, error: () => undefined };

test("adapters are named with their scale unless it is 1, and compared in order", () => {
  assert.equal(adapterLabel({ name: "legal", scale: 1 }), "legal");
  assert.equal(adapterLabel({ name: "legal", scale: 0.5 }), "legal ×0.5");
  assert.ok(sameSelections([{ name: "a", scale: 1 }], [{ name: "a", scale: 1 }]));
  assert.ok(!sameSelections([{ name: "a", scale: 1 }], [{ name: "a", scale: 2 }]));
  assert.ok(
    !sameSelections(
      [
        { name: "a", scale: 1 },
        { name: "b", scale: 1 },
      ],
      [
        { name: "b", scale: 1 },
        { name: "a", scale: 1 },
      ],
    ),
  );
});

test("setting adapters updates the one state every view reads, and scale 0 is not shown as on", async () => {
  const adapters = new LoraAdapters(silent);
  const seen: AdapterSnapshot[] = [];
  adapters.onDidChange((s) => seen.push(s));
  const engine = fakeEngine();
  await adapters.set(
    engine,
    [
      { name: "prose", scale: 1 },
      { name: "code", scale: 0 },
    ],
    [],
  );
  assert.deepEqual(adapters.current.active.map(adapterLabel), ["prose", "code ×0"]);
  assert.deepEqual(
    adapters.effective.map((a) => a.name),
    ["prose"],
  );
  assert.equal(seen.length, 1);
});

test("a restarted engine gets the set again, once; a session that has it is left alone", async () => {
  const adapters = new LoraAdapters(silent);
  const first = fakeEngine();
  await adapters.set(first, [{ name: "prose", scale: 1 }], []);
  await adapters.reapply(first, []);
  assert.equal(first.sent.length, 1, "nothing resent to the session that has the set");
  adapters.sessionRestarted(first);
  await adapters.reapply(first, []);
  assert.equal(first.sent.length, 2, "a crashed-and-restarted worker gets the set again");
  const second = fakeEngine();
  adapters.modelLoadedIn(second);
  await adapters.reapply(second, []);
  assert.deepEqual(second.sent, [[{ name: "prose", scale: 1 }]], "a new engine (restart for a setting) gets the set");
});

test("a failed switch keeps the previous set; a failed re-apply turns adapters off", async () => {
  const adapters = new LoraAdapters(silent);
  const engine = fakeEngine();
  await adapters.set(engine, [{ name: "prose", scale: 1 }], []);
  await assert.rejects(adapters.set(engine, [{ name: "broken", scale: 1 }], []), /broken/);
  assert.deepEqual(adapters.current.active, [{ name: "prose", scale: 1 }]);
  // A set that a new session cannot take (its files went bad meanwhile).
  const failing = fakeEngine();
  (adapters as unknown as { snapshot: AdapterSnapshot }).snapshot.active = [{ name: "broken", scale: 1 }];
  await assert.rejects(adapters.reapply(failing, []));
  assert.deepEqual(adapters.current.active, []);
});

test("loading another model clears the adapters and tells the views", () => {
  const adapters = new LoraAdapters(silent);
  let changes = 0;
  const subscription = adapters.onDidChange(() => changes++);
  adapters.forget();
  assert.equal(changes, 0, "nothing to clear");
  (adapters as unknown as { snapshot: AdapterSnapshot }).snapshot.active = [{ name: "prose", scale: 1 }];
  adapters.forget();
  assert.equal(changes, 1);
  subscription.dispose();
  (adapters as unknown as { snapshot: AdapterSnapshot }).snapshot.active = [{ name: "prose", scale: 1 }];
  adapters.forget();
  assert.equal(changes, 1, "a disposed listener hears nothing");
});
