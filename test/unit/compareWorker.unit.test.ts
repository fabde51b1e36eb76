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
import { EngineClient, EngineError } from "../../src/worker/engineClient";
import { compareModels } from "../../src/core/compare";
import { extToWorkerMessageProblem, type ComparisonResult, type ModelLoaded, type ProgressStep, type Stats } from "../../src/protocol/engine";
import { comparisonFolders } from "../helpers/onnxBuilder";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-compare-worker-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const workerScript = path.resolve(__dirname, "../../src/worker/engineWorker.js");
const { sum, words, tokenizerOnly } = comparisonFolders(tmp);
const text = "red blue green\nblue  blue red\n".repeat(4);
const targets = [{ path: sum }, { path: words, name: "words" }, { path: tokenizerOnly }];
const options = { method: "sliding" as const, window: 32, stride: 16 };

describe("the compare request", () => {
  test("answers the in-process comparison, with progress per step, and keeps the loaded model", async () => {
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await client.request<ModelLoaded>({ type: "loadModel", path: sum, source: "folder", kvBudgetBytes: 64 * 1024 * 1024, threads: 1 });
      const steps: ProgressStep[] = [];
      const answer = await client.request<ComparisonResult>({ type: "compare", text, targets, options }, { onProgress: (_done, _total, step) => void (step && steps.push(step)) });
      assert.equal(answer.kind, "comparison");
      const expected = await compareModels(text, targets, options);
      assert.deepEqual(
        answer.comparison.entries.map((e) => ({ ...e, millis: 0 })),
        expected.entries.map((e) => ({ ...e, millis: 0 })),
      );
      assert.deepEqual(answer.comparison.verdict, expected.verdict);
      assert.deepEqual([...new Set(steps.map((s) => `${s.index}/${s.count} ${s.name}`))], ["0/3 sum", "1/3 words", "2/3 tokenizer-only"]);
      const stats = await client.request<Stats>({ type: "getStats" });
      assert.equal(stats.model?.name, "sum", "the worker's model is still the one loaded");
      assert.equal(stats.cache.tokensCached, 0, "the comparison's keys and values were released");
    } finally {
      await client.dispose();
    }
  });

  test("malformed compare requests are refused with one sentence", async () => {
    assert.match(extToWorkerMessageProblem({ type: "compare", id: 1, text, targets: [{ path: sum }], options }) ?? "", /at least two targets/);
    assert.match(extToWorkerMessageProblem({ type: "compare", id: 1, text: 3, targets, options }) ?? "", /text string/);
    assert.match(extToWorkerMessageProblem({ type: "compare", id: 1, text, targets, options: { method: "greedy", window: 0, stride: 0 } }) ?? "", /options/);
    assert.equal(extToWorkerMessageProblem({ type: "compare", id: 1, text, targets, options }), null);
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await assert.rejects(
        client.request({ type: "compare", text, targets: [{ path: sum }, { path: path.join(tmp, "nowhere") }], options }),
        (e: unknown) => e instanceof EngineError && e.code === "badInput" && /does not exist\.$/.test(e.message),
      );
    } finally {
      await client.dispose();
    }
  });
});
