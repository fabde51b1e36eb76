import { test } from "node:test";
import assert from "node:assert/strict";
import { Rescheduler, type TimerApi } from "../../../src/extension/rescheduler";
import { VersionGate } from "../../../src/extension/versionGate";

/** A fake clock: timers fire only when the test advances time. */
class FakeClock implements TimerApi {
  now = 0;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextHandle = 1;
  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.now + ms, callback });
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = until;
  }
}

test("a burst of edits to one document produces one run, the debounce delay after the last edit", () => {
  const clock = new FakeClock();
  const rescheduler = new Rescheduler<string>(clock);
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    rescheduler.schedule("doc", 500, () => runs.push(clock.now));
    clock.advance(100);
  }
  assert.deepEqual(runs, []);
  assert.ok(rescheduler.isPending("doc"));
  clock.advance(399);
  assert.deepEqual(runs, []);
  clock.advance(1);
  assert.deepEqual(runs, [900]);
  assert.ok(!rescheduler.isPending("doc"));
});

test("documents are debounced independently; cancel and dispose drop pending runs", () => {
  const clock = new FakeClock();
  const rescheduler = new Rescheduler<string>(clock);
  const runs: string[] = [];
  rescheduler.schedule("a", 200, () => runs.push("a"));
  rescheduler.schedule("b", 300, () => runs.push("b"));
  rescheduler.schedule("c", 300, () => runs.push("c"));
  rescheduler.cancel("b");
  clock.advance(250);
  assert.deepEqual(runs, ["a"]);
  rescheduler.dispose();
  clock.advance(1000);
  assert.deepEqual(runs, ["a"]);
  rescheduler.schedule("d", 10, () => runs.push("d"));
  clock.advance(100);
  assert.deepEqual(runs, ["a"], "nothing is scheduled after dispose");
});

test("a result is applied only for the document's current version", () => {
  const gate = new VersionGate();
  const ticket = gate.begin("doc", 3);
  assert.ok(gate.accepts(ticket, 3));
  assert.ok(!gate.accepts(ticket, 4), "the document changed while scoring");
  assert.ok(!gate.accepts(ticket, undefined), "the document was closed");
});

test("a newer request supersedes an older one even when the older finishes last", () => {
  const gate = new VersionGate();
  const older = gate.begin("doc", 3);
  const newer = gate.begin("doc", 4);
  assert.ok(!gate.isLatest(older));
  assert.ok(!gate.accepts(older, 3));
  assert.ok(gate.accepts(newer, 4));
  gate.finish(older);
  assert.equal(gate.inFlight("doc"), newer, "finishing a superseded request leaves the newer one in flight");
  gate.finish(newer);
  assert.equal(gate.inFlight("doc"), undefined);
});

test("a rescore of the same version (settings changed) supersedes the earlier one", () => {
  const gate = new VersionGate();
  const first = gate.begin("doc", 7);
  const second = gate.begin("doc", 7);
  assert.ok(!gate.accepts(first, 7));
  assert.ok(gate.accepts(second, 7));
});

test("forgetting a closed document refuses its results; other documents are unaffected", () => {
  const gate = new VersionGate();
  const a = gate.begin("a", 1);
  const b = gate.begin("b", 1);
  gate.forget("a");
  assert.ok(!gate.accepts(a, 1));
  assert.ok(gate.accepts(b, 1));
});
