import { test } from "node:test";
import assert from "node:assert/strict";
import { RescoreHistory, rescoreAggregates } from "../../../src/core/rescoreHistory";

const close = (actual: number | null, expected: number, tolerance = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `${actual} ≉ ${expected}`);

test("rescore aggregates: sums, reuse fraction and the time the cache saved", () => {
  const history = new RescoreHistory(3);
  history.add("a.txt", { tokensReused: 0, tokensRecomputed: 100, millis: 50, fullRescoreMillisEstimate: 50 }, 1);
  history.add("a.txt", { tokensReused: 90, tokensRecomputed: 10, millis: 10, fullRescoreMillisEstimate: 50 }, 2);
  history.add("a.txt", { tokensReused: 95, tokensRecomputed: 5, millis: 5, fullRescoreMillisEstimate: 50 }, 3);
  let totals = history.aggregates();
  assert.equal(totals.rescores, 3);
  assert.equal(totals.tokensReused, 185);
  assert.equal(totals.tokensRecomputed, 115);
  close(totals.reuseFraction, 185 / 300);
  assert.equal(totals.millis, 65);
  assert.equal(totals.fullRescoreMillisEstimate, 150);
  assert.equal(totals.millisSaved, 85);
  close(totals.speedup, 150 / 65);

  // Capacity 3: the oldest record drops out.
  history.add("b.txt", { tokensReused: 100, tokensRecomputed: 0, millis: 0, fullRescoreMillisEstimate: 40 }, 4);
  assert.deepEqual(
    history.records.map((r) => r.at),
    [2, 3, 4],
  );
  totals = history.aggregates();
  close(totals.reuseFraction, 285 / 300);
  assert.equal(totals.millis, 15);

  const empty = rescoreAggregates([]);
  assert.equal(empty.reuseFraction, null);
  assert.equal(empty.speedup, null);
  history.clear();
  assert.equal(history.records.length, 0);
  assert.throws(() => new RescoreHistory(0), /capacity/);
});
