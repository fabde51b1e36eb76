/**
 * The engine's numbers, checked against values computed independently in the test:
 * - the worked examples of perplexity (constant-logits models built here);
 * - a running-sum causal LM (built here) whose exact log-probabilities the test computes itself in float64,
 *   scored in one pass, in chunks, with sliding and rolling windows, and incrementally after edits;
 * - the model kit's PyTorch goldens when they are in the repository.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, EngineError } from "../../../src/core/engine";
import type { TokenScore } from "../../../src/core/types";
import { constantWordsFolder, runningSumFolder, runningSumWeights } from "../../helpers/onnxBuilder";
import { committedArtifact, repoRoot } from "../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-scoring-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function close(actual: number | null, expected: number, tolerance: number, what: string): void {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`);
}

describe("the worked examples of perplexity", () => {
  // Vocabulary {red, blue, green} plus <|endoftext|>, which the tokenizer config names as EOS and which is therefore
  // the prefix token (no BOS is added). The model gives it logit −1e9, i.e. probability exactly 0 in float64, so the
  // distribution over the three colours is exactly the one the example states.
  // Statistics in onnxruntime are float32-accurate; the float64 path is exact to rounding.
  for (const [statistics, tolerance] of [
    ["onnx", 1e-6],
    ["float64", 1e-12],
  ] as const) {
    test(`a model that gives each of three tokens 1/3 has perplexity 3 on any text (${statistics} statistics)`, async () => {
      const engine = new Engine({ statistics });
      await engine.loadModel(constantWordsFolder(path.join(tmp, `uniform-${statistics}`), ["red", "blue", "green"], [0, 0, 0]));
      for (const text of ["red", "red red red red blue", "green blue red green\n  blue blue"]) {
        const result = await engine.score(text, text);
        close(result.metrics.tokenPerplexity, 3, tolerance, `perplexity of "${text}"`);
        for (const t of result.tokens) {
          close(t.prob, 1 / 3, tolerance, "probability");
          close(t.entropy, Math.log(3), tolerance, "entropy");
          assert.equal(t.rank, 1, "ties share the best rank");
        }
      }
      assert.equal(engine.resolveMethod().prefix, "eos:<|endoftext|>");
      await engine.dispose();
    });

    test(`red 0.8, blue 0.1, green 0.1 has perplexity 1.89 on 'red red red red blue' (${statistics} statistics)`, async () => {
      const engine = new Engine({ statistics });
      await engine.loadModel(
        constantWordsFolder(path.join(tmp, `skewed-${statistics}`), ["red", "blue", "green"], [Math.log(0.8), Math.log(0.1), Math.log(0.1)]),
      );
      const result = await engine.score("doc", "red red red red blue");
      const expected = Math.exp(-(4 * Math.log(0.8) + Math.log(0.1)) / 5);
      assert.equal(expected.toFixed(2), "1.89");
      // The logits are stored as float32, so log 0.8 and log 0.1 themselves carry ~1e-8 of rounding.
      close(result.metrics.tokenPerplexity, expected, 1e-6, "perplexity");
      assert.deepEqual(
        result.tokens.map((t) => [t.text, t.start, t.end, t.rank]),
        [
          ["red", 0, 3, 1],
          ["red", 4, 7, 1],
          ["red", 8, 11, 1],
          ["red", 12, 15, 1],
          ["blue", 16, 20, 2],
        ],
      );
      close(result.tokens[4]!.logprob, Math.log(0.1), 1e-6, "log p(blue)");
      assert.deepEqual(
        result.tokens[0]!.top.map((a) => a.text),
        ["red", "blue", "green", "<|endoftext|>"],
        "best first, ties by lower id",
      );
      await engine.dispose();
    });
  }
});

// ---------------------------------------------------------------- running-sum model, exact reference

const DIM = 8;
const VOCAB = 257;
const weights = runningSumWeights(VOCAB, DIM);
const weightsHalf = runningSumWeights(VOCAB, DIM, 1, "float16");

/** log p(t_j) under the running-sum model given the sequence positions [start, j] (float64, independent of the engine). */
function referenceLogprob(sequence: number[], start: number, j: number, w = weights): number {
  const weights = w;
  const hidden = new Float64Array(DIM);
  for (let s = start; s <= j; s++) for (let d = 0; d < DIM; d++) hidden[d] = hidden[d]! + weights.embedding[sequence[s]! * DIM + d]!;
  const logits = new Float64Array(VOCAB);
  for (let d = 0; d < DIM; d++) {
    const h = Math.tanh(hidden[d]!);
    for (let v = 0; v < VOCAB; v++) logits[v] = logits[v]! + h * weights.head[d * VOCAB + v]!;
  }
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  return logits[sequence[j + 1]!]! - max - Math.log(sum);
}

function checkAgainstReference(text: string, tokens: TokenScore[], what: string, w = weights): void {
  const sequence = [256, ...Buffer.from(text, "utf8")];
  assert.equal(tokens.length, sequence.length - 1, `${what}: one token per byte`);
  tokens.forEach((t, j) => {
    if (t.logprob === null) return;
    assert.ok(t.contextLength !== undefined && t.contextLength >= 1 && t.contextLength <= j + 1, `${what}: context length of token ${j}`);
    close(t.logprob, referenceLogprob(sequence, j + 1 - t.contextLength, j, w), 1e-4, `${what}: logprob of token ${j}`);
  });
}

function maxDifference(a: TokenScore[], b: TokenScore[]): number {
  assert.equal(a.length, b.length);
  let max = 0;
  a.forEach((t, i) => {
    const u = b[i]!;
    assert.equal(t.id, u.id);
    assert.equal(t.logprob === null, u.logprob === null, `token ${i} scored in one result only`);
    if (t.logprob !== null && u.logprob !== null) max = Math.max(max, Math.abs(t.logprob - u.logprob));
  });
  return max;
}

/**
 * Figures equal within 1e-6 relative (counts are integers far below 1e6, so they must be equal): onnxruntime's kernels may round the last bit of a row's
 * statistics differently depending on how many rows its chunk has, so incremental and full agree to float32 precision.
 */
function assertSameMetrics<T extends object>(a: T, b: T, what: string): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), what);
  for (const key of Object.keys(a)) {
    const x: unknown = (a as Record<string, unknown>)[key];
    const y: unknown = (b as Record<string, unknown>)[key];
    if (typeof x === "number" && typeof y === "number")
      assert.ok(x === y || Math.abs(x - y) <= 1e-6 * Math.max(1, Math.abs(y)), `${what}: ${key} ${x} vs ${y}`);
    else assert.deepEqual(x, y, `${what}: ${key}`);
  }
}

const sampleText = "The quick brown fox — naïve café, 東京 😀\r\nJumps over the lazy dog; 0123456789. ".repeat(3);

describe("scoring a causal LM with keys and values", () => {
  let dir: string;
  before(() => {
    dir = runningSumFolder(path.join(tmp, "sum"), { dim: DIM, positions: 64 });
  });

  test("one pass and every chunk size give the reference log-probabilities", async () => {
    const text = sampleText.slice(0, 50);
    for (const chunkTokens of [1, 7, 64]) {
      const engine = new Engine({ chunkTokens });
      const info = await engine.loadModel(dir);
      assert.equal(info.kvBytesPerToken, 2 * 1 * 1 * DIM * 4);
      const result = await engine.score("doc", text, { window: 64 });
      checkAgainstReference(text, result.tokens, `chunk ${chunkTokens}`);
      assert.ok(
        result.tokens.every((t, j) => t.contextLength === j + 1),
        "a single window conditions each token on everything before it",
      );
      await engine.dispose();
    }
  });

  test("sliding and rolling windows over a text longer than the context give the reference log-probabilities", async () => {
    const engine = new Engine({ chunkTokens: 5 });
    await engine.loadModel(dir);
    for (const options of [
      { method: "sliding" as const, window: 16, stride: 8 },
      { method: "sliding" as const, window: 0, stride: 0 },
      { method: "rolling" as const, window: 16, stride: 0 },
      { method: "rolling" as const, window: 0, stride: 0 },
    ]) {
      const result = await engine.score(`doc-${options.method}-${options.window}`, sampleText, options);
      checkAgainstReference(sampleText, result.tokens, `${options.method} ${options.window}`);
      const window = options.window === 0 ? 64 : options.window;
      assert.ok(
        result.tokens.every((t) => t.contextLength === undefined || t.contextLength <= window),
        "no context longer than the window",
      );
      if (options.method === "rolling") assert.equal(result.metrics.scoredTokens, result.tokens.length, "rolling windows score every token");
    }
    await engine.dispose();
  });

  test("incremental rescoring after edits equals a full rescore and reuses the unchanged prefix", async () => {
    const incremental = new Engine({ chunkTokens: 7 });
    await incremental.loadModel(dir);
    const fresh = new Engine({ chunkTokens: 7 });
    await fresh.loadModel(dir);
    const edits: Array<[string, (s: string) => string, "start" | "middle" | "end"]> = [
      ["insert at start", (s) => "X" + s, "start"],
      ["delete at start", (s) => s.slice(2), "start"],
      ["replace in the middle", (s) => s.slice(0, 100) + "ÆØ" + s.slice(103), "middle"],
      ["insert in the middle", (s) => s.slice(0, 120) + " inserted " + s.slice(120), "middle"],
      ["delete in the middle", (s) => s.slice(0, 90) + s.slice(110), "middle"],
      ["append at end", (s) => s + " and more", "end"],
      ["delete at end", (s) => s.slice(0, -5), "end"],
      ["replace at end", (s) => s.slice(0, -1) + "!", "end"],
    ];
    for (const options of [
      { method: "sliding" as const, window: 32, stride: 16 },
      { method: "rolling" as const, window: 32, stride: 0 },
      { method: "sliding" as const, window: 0, stride: 0 },
    ]) {
      let text = sampleText;
      const docId = `doc-${options.method}-${options.window}`;
      await incremental.score(docId, text, options);
      for (const [name, edit, where] of edits) {
        text = edit(text);
        const updated = await incremental.score(docId, text, options);
        const full = await fresh.score(`${docId}-${name}`, text, options);
        assert.ok(
          maxDifference(updated.tokens, full.tokens) <= 1e-6,
          `${name} (${options.method} ${options.window}): incremental equals full (${maxDifference(updated.tokens, full.tokens)})`,
        );
        checkAgainstReference(text, updated.tokens, name);
        assertSameMetrics(updated.metrics, full.metrics, `${name}: metrics equal`);
        if (where === "end")
          assert.ok(updated.rescore.tokensReused > updated.tokens.length / 2, `${name}: most tokens reused (${updated.rescore.tokensReused})`);
        if (where === "start" && name.startsWith("insert")) assert.equal(updated.rescore.tokensReused, 0, `${name}: nothing reused`);
        assert.equal(updated.rescore.tokensReused + updated.rescore.tokensRecomputed, updated.metrics.scoredTokens);
      }
    }
    await incremental.dispose();
    await fresh.dispose();
  });

  test("float16 keys/values: the KV dtype comes from the graph, bytes count 2 per value, incremental equals full", async () => {
    const halfDir = runningSumFolder(path.join(tmp, "sum-half"), { dim: DIM, positions: 64, kvType: "float16" });
    const engine = new Engine({ chunkTokens: 5 });
    const info = await engine.loadModel(halfDir);
    assert.equal(info.kvDtype, "float16");
    assert.equal(info.kvBytesPerToken, 2 * 1 * 1 * DIM * 2);
    const text = sampleText.slice(0, 60);
    const first = await engine.score("doc", text, { window: 64 });
    checkAgainstReference(text, first.tokens, "float16 keys/values", weightsHalf);
    assert.equal(first.cache.bytesHeld, first.cache.tokensCached * info.kvBytesPerToken);
    const edited = text.slice(0, 40) + "~" + text.slice(41);
    const updated = await engine.score("doc", edited, { window: 64 });
    assert.ok(updated.rescore.tokensReused >= 39);
    checkAgainstReference(edited, updated.tokens, "float16 keys/values after an edit", weightsHalf);
    await engine.dispose();
  });

  test("cancellation stops within one chunk, and the next scoring is complete and correct", async () => {
    const engine = new Engine({ chunkTokens: 4 });
    await engine.loadModel(dir);
    const controller = new AbortController();
    let progressCalls = 0;
    await assert.rejects(
      engine.score(
        "doc",
        sampleText,
        { window: 64 },
        {
          signal: controller.signal,
          onProgress: () => {
            progressCalls++;
            controller.abort();
          },
        },
      ),
      (e: unknown) => e instanceof EngineError && e.code === "cancelled",
    );
    assert.equal(progressCalls, 1, "no chunk ran after the cancel");
    const result = await engine.score("doc", sampleText, { window: 64 });
    checkAgainstReference(sampleText, result.tokens, "after cancel");
    assert.ok(result.cache.tokensCached > 0);
    await engine.dispose();
  });

  test("empty and whitespace-only texts give undefined perplexity, never NaN", async () => {
    const engine = new Engine();
    await engine.loadModel(dir);
    const empty = await engine.score("e", "");
    assert.equal(empty.tokens.length, 0);
    assert.equal(empty.metrics.tokenPerplexity, null);
    const spaces = await engine.score("s", "   \n");
    assert.ok(spaces.metrics.tokenPerplexity === null || Number.isFinite(spaces.metrics.tokenPerplexity));
    await assert.rejects(engine.score("b", "a\u0000b"), (e: unknown) => e instanceof EngineError && e.code === "badInput");
    await engine.dispose();
  });
});

// ---------------------------------------------------------------- goldens from the model kit (PyTorch)

interface Golden {
  model: string;
  prefixId: number;
  texts: Array<{ name: string; text: string; ids: number[]; logprobs: number[] }>;
}

const root = repoRoot;
const goldenDir = path.join(root, "test", "goldens");
const goldenFiles = fs.existsSync(goldenDir) ? fs.readdirSync(goldenDir).filter((f) => f.endsWith(".json")) : [];
const goldenCases: Array<{ file: string; modelDir: string }> = goldenFiles.map((file) => ({
  file: path.join(goldenDir, file),
  modelDir: path.join(root, "models", path.basename(file, ".json")),
}));
// A development model (test/bench/make_random_model.py --goldens) can be checked the same way.
if (process.env["PERPLEXITY_LENS_GOLDEN_MODEL"]) {
  const dev = process.env["PERPLEXITY_LENS_GOLDEN_MODEL"];
  goldenCases.push({ file: path.join(dev, "goldens.json"), modelDir: dev });
}

describe("log-probabilities equal the model kit's PyTorch goldens within 1e-4", () => {
  test("every embedded model has its goldens", () => {
    const models = fs.readdirSync(path.join(root, "models")).filter((m) => fs.existsSync(path.join(root, "models", m, "config.json")));
    for (const model of models) committedArtifact(`test/goldens/${model}.json`, "npm run models");
    assert.ok(goldenCases.length >= 3);
  });
  for (const { file, modelDir } of goldenCases) {
    test(`${path.basename(file)}: one pass, chunks of 7, and incrementally after edits`, async () => {
      const golden = JSON.parse(fs.readFileSync(file, "utf8")) as Golden;
      const onePass = new Engine({ chunkTokens: 4096 });
      const info = await onePass.loadModel(modelDir);
      const chunked = new Engine({ chunkTokens: 7 });
      await chunked.loadModel(modelDir);
      for (const item of golden.texts) {
        assert.ok(item.ids.length + 1 <= info.contextLength, `${item.name} fits the context`);
        for (const [engine, how] of [
          [onePass, "one pass"],
          [chunked, "chunks of 7"],
        ] as const) {
          const result = await engine.score(`${item.name}`, item.text, { method: "sliding", window: 0, stride: 0 });
          assert.deepEqual(
            result.tokens.map((t) => t.id),
            item.ids,
            `${item.name}: ids`,
          );
          assert.equal(engine.tokenizer?.prefixToken.id, golden.prefixId);
          result.tokens.forEach((t, j) => close(t.logprob, item.logprobs[j]!, 1e-4, `${item.name} (${how}) token ${j}`));
        }
        // Incremental: score an edited text, then edit it back; the result must equal the goldens again.
        const cut = Math.floor(item.text.length / 2);
        for (const edited of ["∆" + item.text, item.text.slice(0, cut) + " edit " + item.text.slice(cut), item.text + " tail"]) {
          await chunked.score(item.name, edited, { method: "sliding", window: 0, stride: 0 });
          const back = await chunked.score(item.name, item.text, { method: "sliding", window: 0, stride: 0 });
          back.tokens.forEach((t, j) => close(t.logprob, item.logprobs[j]!, 1e-4, `${item.name} (incremental) token ${j}`));
        }
      }
      await onePass.dispose();
      await chunked.dispose();
    });
  }
});
