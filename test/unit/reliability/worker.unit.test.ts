/**
 * The worker under failure and contention, through EngineClient: running out of memory is a crash like any other
 * (restarted once with the model reloaded, in-flight requests rejected, not answered); every request in flight at a
 * crash is rejected; switching model or adapters while a scoring runs never mixes the two (the result in flight is the
 * old model's, labelled so); many documents stay within the KV-cache budget.
 */
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineClient, EngineError } from "../../../src/worker/engineClient";
import type { ModelInfo } from "../../../src/core/types";
import type { AdaptersChanged } from "../../../src/protocol/engine";
import { runningSumFolder } from "../../helpers/onnxBuilder";
import { CRASH_TEXT } from "../../helpers/crashText";
import { OOM_TEXT } from "../../helpers/oomText";
import { committedArtifact, embeddedModelDir, helperScript, workerScript } from "../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-relworker-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const crashingScript = helperScript("crashingWorker.js");
const oomScript = helperScript("oomWorker.js");
const embeddedDir = embeddedModelDir("lens-gpt2-bpe4k");
committedArtifact("models/lens-gpt2-bpe4k/adapters/markdown-prose/adapter_model.safetensors", "npm run models");
const options = { method: "sliding" as const, window: 64, stride: 32, topK: 3 };
const longText = "Nothing freezes and nothing is lost when the engine worker fails. ".repeat(60);

let sumDir: string;
let otherDir: string;
before(() => {
  sumDir = runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 });
  otherDir = runningSumFolder(path.join(tmp, "other"), { dim: 8, positions: 64, seed: 2 });
});

const loadRequest = (dir: string, kvBudgetBytes = 64 * 1024 * 1024) => ({ path: dir, source: "folder" as const, kvBudgetBytes, threads: 1 });
const score = (docId: string, version: number, text: string) => ({ docId, version, text, options });
const isCrashed = (e: unknown): boolean => e instanceof EngineError && e.code === "crashed" && /crashed while working on this request/.test(e.message);

describe("worker failures", () => {
  test("running out of memory: in-flight requests rejected, restarted once with the model reloaded, then scoring goes on", async () => {
    const logs: string[] = [];
    const client = new EngineClient(oomScript, (level, message) => void logs.push(`${level} ${message}`), {
      resourceLimits: { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 32 },
    });
    const crashes: Array<{ message: string; willRestart: boolean }> = [];
    client.onDidCrash((err, willRestart) => crashes.push({ message: err.message, willRestart }));
    try {
      await client.request("loadModel", loadRequest(sumDir));
      const before = await client.request("score", score("d", 1, longText));
      const started = Date.now();
      const inFlight = client.request("score", score("other", 1, longText));
      const oom = client.request("score", score("d", 2, OOM_TEXT));
      const [a, b] = await Promise.allSettled([inFlight, oom]);
      console.log(`[reliability] out-of-memory crash noticed in ${Date.now() - started} ms: ${crashes[0]?.message}`);
      assert.equal(b.status, "rejected");
      assert.ok(isCrashed((b as PromiseRejectedResult).reason), String((b as PromiseRejectedResult).reason));
      // The other request either finished before the allocation started or was rejected; it is never left hanging.
      if (a.status === "rejected") assert.ok(isCrashed(a.reason));
      assert.deepEqual(
        crashes.map((c) => c.willRestart),
        [true],
      );
      assert.match(crashes[0]!.message, /memory|ERR_WORKER_OUT_OF_MEMORY|exited/i);
      const afterwards = await client.request("score", score("d", 3, longText));
      assert.equal(afterwards.model, "sum", "the restarted worker has the model loaded again");
      assert.deepEqual(afterwards.tokens, before.tokens, "and gives the same numbers");
      assert.equal(client.stopped, false);
      assert.ok(logs.some((l) => l.startsWith("error") && /restarting it once/.test(l)));
    } finally {
      await client.dispose();
    }
  });

  test("every request in flight at a crash is rejected (none answered late); the second crash is final", async () => {
    const client = new EngineClient(crashingScript, () => undefined);
    const crashes: boolean[] = [];
    client.onDidCrash((_err, willRestart) => crashes.push(willRestart));
    try {
      await client.request("loadModel", loadRequest(sumDir));
      const pending = [
        client.request("score", score("a", 1, longText)),
        client.request("getStats", {}),
        client.request("score", score("b", 1, CRASH_TEXT)),
        client.request("score", score("c", 1, "queued behind the crash")),
      ];
      const settled = await Promise.allSettled(pending);
      // getStats may be answered before the crash message is read; the crash request and everything after it are not.
      assert.equal(settled[2]!.status, "rejected");
      assert.equal(settled[3]!.status, "rejected");
      for (const s of settled) if (s.status === "rejected") assert.ok(isCrashed(s.reason), String(s.reason));
      assert.deepEqual(crashes, [true]);
      const ok = await client.request("score", score("a", 2, "after the restart"));
      assert.equal(ok.version, 2);
      await assert.rejects(client.request("score", score("a", 3, CRASH_TEXT)), isCrashed);
      assert.deepEqual(crashes, [true, false]);
      assert.equal(client.stopped, true);
      await assert.rejects(
        client.request("score", score("a", 4, "no more")),
        (e: unknown) => e instanceof EngineError && e.code === "crashed" && e.message === "The engine worker crashed twice and was not restarted.",
      );
    } finally {
      await client.dispose();
    }
  });
});

describe("switching while a scoring runs", () => {
  test("a model switch sent mid-run: the run in flight finishes with the old model and says so; later runs use the new one", async () => {
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await client.request("loadModel", loadRequest(sumDir));
      const reference = await client.request("score", score("ref", 1, longText));
      let progressSeen = 0;
      let switchSent: Promise<ModelInfo> | undefined;
      const run = client.request("score", score("doc", 1, longText), {
        onProgress: () => {
          if (progressSeen++ === 0) switchSent = client.request("loadModel", loadRequest(otherDir));
        },
      });
      const result = await run;
      assert.ok(switchSent !== undefined, "the switch was sent while the run was in progress");
      const switched = await switchSent;
      assert.equal(result.model, "sum");
      assert.deepEqual(result.tokens, reference.tokens, "the run in flight is entirely the old model's");
      assert.equal(switched.name, "other");
      const after = await client.request("score", score("doc", 2, longText));
      assert.equal(after.model, "other");
      assert.notDeepEqual(
        after.tokens.map((t) => t.logprob),
        reference.tokens.map((t) => t.logprob),
        "the new model's numbers",
      );
      assert.equal(after.rescore.tokensReused, 0, "nothing of the old model's cache is reused");
    } finally {
      await client.dispose();
    }
  });

  test("an adapter switch sent mid-run: the run in flight has no adapter, the next has it; no cache crosses the switch", async () => {
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await client.request("loadModel", loadRequest(embeddedDir));
      const text = "## Notes\n\nAdapters change the weights, so a result computed before the switch must not be mixed with one after it. ".repeat(4);
      const opts = { method: "sliding" as const, window: 0, stride: 0, topK: 3 };
      let switchSent: Promise<AdaptersChanged> | undefined;
      const run = client.request(
        "score",
        { docId: "md", version: 1, text, options: opts },
        {
          onProgress: () => {
            switchSent ??= client.request("setAdapters", { adapters: [{ name: "markdown-prose", scale: 1 }] });
          },
        },
      );
      const before = await run;
      assert.ok(switchSent !== undefined);
      const changed = await switchSent;
      assert.equal(before.method.adapters, undefined, "scored before the switch took effect");
      assert.deepEqual(changed.active, [{ name: "markdown-prose", scale: 1 }]);
      assert.equal(changed.cache.lastReset, "adapter changed");
      const after = await client.request("score", { docId: "md", version: 2, text, options: opts });
      assert.deepEqual(after.method.adapters, [{ name: "markdown-prose", scale: 1 }]);
      assert.equal(after.rescore.tokensReused, 0, "the old weights' keys/values are not reused");
      assert.notDeepEqual(
        after.tokens.map((t) => t.logprob),
        before.tokens.map((t) => t.logprob),
      );
    } finally {
      await client.dispose();
    }
  });
});

describe("many documents", () => {
  test("80 documents through the worker: the KV cache never holds more than its budget, and its bytes match its tokens", async () => {
    const budget = 96 * 1024; // 1 layer × 1 head × 8 dims × key+value × 4 bytes = 64 bytes per token: 1536 tokens
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await client.request("loadModel", loadRequest(sumDir, budget));
      let maxHeld = 0;
      let evictions = 0;
      for (let i = 0; i < 80; i++) {
        const result = await client.request("score", score(`doc-${i}`, 1, `Document ${i}: ` + "many documents open at once. ".repeat(10 + (i % 7))));
        assert.ok(result.cache.bytesHeld <= budget, `after document ${i}: ${result.cache.bytesHeld} bytes held, budget ${budget}`);
        assert.equal(result.cache.bytesHeld, result.cache.tokensCached * 64, "bytes = tokens × 64 (from the tensors' shapes)");
        maxHeld = Math.max(maxHeld, result.cache.bytesHeld);
        evictions = result.cache.evictions;
      }
      const stats = await client.request("getStats", {});
      assert.ok(stats.cache.bytesHeld <= budget);
      assert.ok(evictions > 0, "documents were evicted to stay within the budget");
      console.log(
        `[reliability] 80 documents, KV budget ${budget} bytes: at most ${maxHeld} bytes held, ${evictions} evictions, worker RSS ${(stats.rssBytes / 2 ** 20).toFixed(0)} MiB`,
      );
      // An evicted document is rescored correctly (from scratch).
      const again = await client.request("score", score("doc-0", 2, "Document 0: " + "many documents open at once. ".repeat(10)));
      const fresh = await client.request("score", score("fresh", 1, "Document 0: " + "many documents open at once. ".repeat(10)));
      assert.deepEqual(again.tokens, fresh.tokens);
    } finally {
      await client.dispose();
    }
  });
});
