/**
 * Soak: one large document scored and edited through the worker (EngineClient → engine worker → onnxruntime) for a
 * bounded time — typing at the end, deleting and pasting at random places, now and then a run cancelled half-way —
 * sampling the worker's resident memory (getStats) after every rescore. After a warm-up, the largest RSS of the last
 * third must stay within 10% + 24 MiB of the largest of the first third: memory stays flat, nothing accumulates.
 *
 * LENS_SOAK_SECONDS sets the duration (default 25). The run prints its duration, edits and memory before/after.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineClient, EngineError } from "../../../src/worker/engineClient";
import { runningSumFolder, seededRandom } from "../../helpers/onnxBuilder";
import { embeddedModelDir, workerScript } from "../../helpers/paths";

const SECONDS = Number(process.env["LENS_SOAK_SECONDS"] ?? 25);
const WARM_UP_FRACTION = 0.25;
const embeddedDir = embeddedModelDir("lens-gpt2-bpe4k");
const hasEmbedded = fs.existsSync(path.join(embeddedDir, "onnx", "model.onnx"));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-soak-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MiB = 2 ** 20;
const paragraph = (i: number): string =>
  `Paragraph ${i}. A long document is edited while it is being scored: words are typed at the end, lines are deleted and pasted elsewhere, and the engine reuses the keys and values of the unchanged prefix.\n\n`;

test(
  `soak: a large document scored and edited through the worker for ${SECONDS} s keeps the worker's memory flat`,
  { timeout: (SECONDS + 120) * 1000 },
  async () => {
    const client = new EngineClient(workerScript, () => undefined);
    const random = seededRandom(42);
    const int = (n: number): number => Math.min(n - 1, Math.floor(((random() + 1) / 2) * n));
    try {
      const loaded = await client.request("loadModel", {
        path: hasEmbedded ? embeddedDir : runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 }),
        source: "folder",
        kvBudgetBytes: 64 * MiB,
        threads: 1,
      });
      const options = { method: "sliding" as const, window: 0, stride: 0, topK: 5 };
      let text = Array.from({ length: 24 }, (_, i) => paragraph(i)).join("");
      let version = 1;
      const first = await client.request("score", { docId: "soak", version, text, options });
      const rssAtStart = (await client.request("getStats", {})).rssBytes;
      const samples: Array<{ at: number; rss: number }> = [];
      const started = Date.now();
      let edits = 0;
      let cancelled = 0;
      let tokensRecomputed = 0;
      let tokensReused = 0;
      while (Date.now() - started < SECONDS * 1000) {
        const kind = int(10);
        if (kind < 5)
          text += ["word ", "typed ", "at ", "the ", "end. "][int(5)]; // typing at the end
        else if (kind < 7) {
          const at = int(text.length);
          text = text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + int(200))); // a deletion
        } else if (kind < 9) {
          const at = int(text.length);
          text = text.slice(0, at) + paragraph(1000 + edits) + text.slice(at); // a paste
        } else {
          // Keep the document from growing without bound: cut it back to about its first size.
          text = text.slice(0, 24 * paragraph(0).length);
        }
        if (text.length > 40 * paragraph(0).length) text = text.slice(0, 24 * paragraph(0).length);
        edits++;
        version++;
        const controller = new AbortController();
        const cancelHalfWay = edits % 13 === 0;
        try {
          const result = await client.request(
            "score",
            { docId: "soak", version, text, options },
            { signal: controller.signal, onProgress: ({ done, total }) => void (cancelHalfWay && done * 2 >= total && controller.abort()) },
          );
          assert.equal(result.version, version);
          tokensRecomputed += result.rescore.tokensRecomputed;
          tokensReused += result.rescore.tokensReused;
        } catch (e) {
          if (!(e instanceof EngineError && e.code === "cancelled")) throw e;
          cancelled++;
        }
        const stats = await client.request("getStats", {});
        assert.ok(stats.cache.bytesHeld <= stats.cache.budgetBytes);
        samples.push({ at: Date.now() - started, rss: stats.rssBytes });
      }
      const elapsed = Date.now() - started;
      const steady = samples.filter((s) => s.at >= WARM_UP_FRACTION * elapsed);
      assert.ok(steady.length >= 9, `enough samples after the warm-up (${steady.length})`);
      const third = Math.floor(steady.length / 3);
      const firstMax = Math.max(...steady.slice(0, third).map((s) => s.rss));
      const lastMax = Math.max(...steady.slice(-third).map((s) => s.rss));
      const allowed = firstMax * 1.1 + 24 * MiB;
      console.log(
        `[soak] ${loaded.name}: ${(elapsed / 1000).toFixed(1)} s, ${edits} edits (${cancelled} cancelled half-way), ${tokensRecomputed} tokens recomputed, ${tokensReused} reused; first scoring ${first.tokens.length} tokens; ` +
          `worker RSS ${(rssAtStart / MiB).toFixed(0)} MiB before, ${(firstMax / MiB).toFixed(0)} MiB max in the first third after warm-up, ${(lastMax / MiB).toFixed(0)} MiB max in the last third, ${(samples.at(-1)!.rss / MiB).toFixed(0)} MiB at the end (allowed ${(allowed / MiB).toFixed(0)} MiB)`,
      );
      assert.ok(lastMax <= allowed, `RSS grew from ${(firstMax / MiB).toFixed(1)} MiB to ${(lastMax / MiB).toFixed(1)} MiB`);
      // The document's final state is still scored correctly: equal to a fresh scoring of the same text.
      const final = await client.request("score", { docId: "soak", version: version + 1, text, options });
      const fresh = await client.request("score", { docId: "soak-fresh", version: 1, text, options });
      assert.deepEqual(
        final.tokens.map((t) => t.id),
        fresh.tokens.map((t) => t.id),
      );
      for (let i = 0; i < fresh.tokens.length; i++) {
        const a = final.tokens[i]!.logprob;
        const b = fresh.tokens[i]!.logprob;
        assert.ok((a === null && b === null) || Math.abs(a! - b!) <= 1e-5, `token ${i}: ${a} vs ${b}`);
      }
    } finally {
      await client.dispose();
    }
  },
);
