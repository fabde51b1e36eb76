/**
 * The `compare` request through EngineClient and the worker: the answer equals the in-process comparison, progress
 * names each step, the worker's loaded model stays loaded (and scores its own target), and malformed requests are
 * refused with one sentence.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineClient, EngineError } from "../../../src/worker/engineClient";
import { compareModels } from "../../../src/core/compare";
import { engineRequestProblem, type ProgressStep } from "../../../src/protocol/engine";
import { comparisonFolders } from "../../helpers/onnxBuilder";
import { workerScript } from "../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-compare-worker-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const { sum, words, tokenizerOnly } = comparisonFolders(tmp);
const text = "red blue green\nblue  blue red\n".repeat(4);
const targets = [{ path: sum }, { path: words, name: "words" }, { path: tokenizerOnly }];
const options = { method: "sliding" as const, window: 32, stride: 16 };

describe("the compare request", () => {
  test("answers the in-process comparison, with progress per step, and keeps the loaded model", async () => {
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await client.request("loadModel", { path: sum, source: "folder", kvBudgetBytes: 64 * 1024 * 1024, threads: 1 });
      const steps: ProgressStep[] = [];
      const answer = await client.request("compare", { text, targets, options }, { onProgress: ({ step }) => void (step && steps.push(step)) });
      const expected = await compareModels(text, targets, options);
      assert.deepEqual(
        answer.entries.map((e) => ({ ...e, millis: 0 })),
        expected.entries.map((e) => ({ ...e, millis: 0 })),
      );
      assert.deepEqual(answer.verdict, expected.verdict);
      assert.deepEqual([...new Set(steps.map((s) => `${s.index}/${s.count} ${s.name}`))], ["0/3 sum", "1/3 words", "2/3 tokenizer-only"]);
      const stats = await client.request("getStats", {});
      assert.equal(stats.model?.name, "sum", "the worker's model is still the one loaded");
      assert.equal(stats.cache.tokensCached, 0, "the comparison's keys and values were released");
    } finally {
      await client.dispose();
    }
  });

  test("malformed compare requests are refused with one sentence", async () => {
    assert.equal(engineRequestProblem("compare", { text, targets: [{ path: sum }], options }), "params.targets must have at least 2 items, not 1");
    assert.equal(engineRequestProblem("compare", { text: 3, targets, options }), "params.text must be a string, not 3");
    assert.match(
      engineRequestProblem("compare", { text, targets, options: { method: "greedy", window: 0, stride: 0 } }) ?? "",
      /^params\.options\.method must be one of "sliding", "rolling", not "greedy"$/,
    );
    assert.equal(engineRequestProblem("compare", { text, targets, options }), null);
    const refused = new EngineClient(workerScript, () => undefined);
    try {
      await assert.rejects(
        refused.request("compare", { text, targets: [{ path: sum }], options }),
        (e: unknown) =>
          e instanceof EngineError &&
          e.code === "badInput" &&
          e.message === "The engine refused a compare request: params.targets must have at least 2 items, not 1.",
      );
    } finally {
      await refused.dispose();
    }
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await assert.rejects(
        client.request("compare", { text, targets: [{ path: sum }, { path: path.join(tmp, "nowhere") }], options }),
        (e: unknown) => e instanceof EngineError && e.code === "badInput" && /does not exist\.$/.test(e.message),
      );
    } finally {
      await client.dispose();
    }
  });
});
