/**
 * The onnxruntime statistics graph against the float64 JavaScript reference, on random logits with a small and a
 * 128k vocabulary, ties, padded rows and −inf entries; fused into a model's graph and as a separate session.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { LogitsStats, topKBlocks } from "../../../../../src/core/backends/onnx/logitsStats";
import { scorePosition } from "../../../../../src/core/tokenDistribution";
import { Engine } from "../../../../../src/core/engine";
import {
  constantWordsFolder,
  encodeModel,
  FLOAT,
  gpt2Config,
  INT64,
  runningSumFolder,
  seededRandom,
  wordTokenizer,
  writeModelFolder,
} from "../../../../helpers/onnxBuilder";
import { openModelBundle } from "../../../../../src/core/backends/onnx/modelBundle";
import { OnnxCausalLm } from "../../../../../src/core/backends/onnx/onnxSession";
import { disposeKv } from "../../../../../src/core/kvCache";

async function compare(vocab: number, rowLength: number, rows: number, seed: number, mutate?: (data: Float32Array) => void): Promise<void> {
  const rand = seededRandom(seed);
  const data = Float32Array.from({ length: rows * rowLength }, () => rand() * 12);
  mutate?.(data);
  const targets = Array.from({ length: rows - 1 }, () => Math.floor(Math.abs(rand()) * vocab));
  const stats = await LogitsStats.create("float32", 1);
  const logits = new ort.Tensor("float32", data, [1, rows, rowLength]);
  const scores = await stats.scoreRows(logits, 1, targets, vocab, 5);
  await stats.release();
  assert.equal(scores.length, rows - 1);
  scores.forEach((s, r) => {
    const ref = scorePosition(data, (r + 1) * rowLength, vocab, targets[r]!, 5);
    if (Number.isFinite(ref.logprob)) assert.ok(Math.abs(s.logprob - ref.logprob) < 1e-5, `logprob ${s.logprob} vs ${ref.logprob}`);
    else assert.equal(s.logprob, ref.logprob, "a token with logit −inf has logprob −inf");
    assert.ok(Math.abs(s.entropy - ref.entropy) < 1e-4, `entropy ${s.entropy} vs ${ref.entropy}`);
    assert.equal(s.rank, ref.rank);
    assert.deepEqual(
      s.top.map((t) => t.id),
      ref.top.map((t) => t.id),
    );
    s.top.forEach((t, i) => assert.ok(Math.abs(t.logprob - ref.top[i]!.logprob) < 1e-5));
  });
}

test("statistics from onnxruntime equal the float64 reference (4k vocabulary)", () => compare(4096, 4096, 9, 1));
test("statistics from onnxruntime equal the float64 reference (128k vocabulary)", () => compare(128000, 128000, 3, 2));
test("a padded logits row uses the vocabulary part only; ties rank equal", () =>
  compare(300, 320, 5, 3, (data) => {
    for (let r = 0; r < 5; r++) {
      data[r * 320 + 7] = 50;
      data[r * 320 + 9] = 50;
      for (let i = 300; i < 320; i++) data[r * 320 + i] = 1000; // padding that must not count
    }
  }));
test("rows with −inf logits fall back to the float64 computation", () =>
  compare(64, 64, 4, 4, (data) => {
    for (let i = 0; i < 64; i += 3) data[64 + i] = -Infinity;
  }));

describe("statistics inside the engine", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-stats-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("fused into the model's graph: a −inf logit falls back to float64 for its rows", async () => {
    // green has logit −inf: red and blue get 1/2 each, and the graph's entropy is 0·(−inf) = NaN, recomputed exactly.
    const dir = constantWordsFolder(path.join(tmp, "inf"), ["red", "blue", "green"], [0, 0, -Infinity]);
    const engine = new Engine();
    await engine.loadModel(dir);
    assert.equal(engine.session?.signature.fusedStats, true);
    const result = await engine.score("d", "red blue red");
    assert.ok(Math.abs(result.metrics.tokenPerplexity! - 2) < 1e-12);
    for (const t of result.tokens) assert.ok(Math.abs(t.entropy! - Math.log(2)) < 1e-12);
    await engine.dispose();
  });

  test("a graph that cannot take the fused nodes (opset 12) uses the separate statistics session", async () => {
    const { tokenizer, config } = wordTokenizer(["red", "blue", "green"]);
    const row = [Math.log(0.8), Math.log(0.1), Math.log(0.1), -1e9];
    const table = [...row, ...row, ...row, ...row];
    const onnx = encodeModel(
      {
        nodes: [{ op: "Gather", inputs: ["table", "input_ids"], outputs: ["logits"], ints: { axis: 0 } }],
        initializers: [{ name: "table", dataType: FLOAT, dims: [4, 4], values: table }],
        inputs: [{ name: "input_ids", elemType: INT64, shape: ["batch", "seq"] }],
        outputs: [{ name: "logits", elemType: FLOAT, shape: ["batch", "seq", 4] }],
      },
      12,
    );
    const dir = writeModelFolder(path.join(tmp, "opset12"), { config: gpt2Config(4, 1, 1, 4, 64), tokenizer, tokenizerConfig: config, onnx });
    const engine = new Engine();
    await engine.loadModel(dir);
    assert.equal(engine.session?.signature.fusedStats, false);
    const result = await engine.score("d", "red red red red blue");
    assert.ok(Math.abs(result.metrics.tokenPerplexity! - Math.exp(-(4 * Math.log(0.8) + Math.log(0.1)) / 5)) < 1e-6);
    assert.deepEqual(
      result.tokens.map((t) => t.rank),
      [1, 1, 1, 1, 2],
    );
    await engine.dispose();
  });
});

describe("two-stage top-k over a vocabulary of known size", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-topk-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  async function againstFloat64(name: string, wordCount: number, offset: number): Promise<void> {
    const words = Array.from({ length: wordCount }, (_, i) => `w${i}`);
    const rand = seededRandom(9);
    const row = words.map(() => offset + rand() * 8);
    row[700] = offset + 20; // ties across blocks: ids 700, 5 and 1100 share the best logit
    row[5] = offset + 20;
    row[1100] = offset + 20;
    row[33] = offset + 19;
    const dir = constantWordsFolder(path.join(tmp, name), words, row);
    const text = "w700 w5 w33 w1100 w0 w1198";
    const onnx = new Engine();
    await onnx.loadModel(dir);
    assert.equal(onnx.session?.signature.fusedStats, true);
    const exact = new Engine({ statistics: "float64" });
    await exact.loadModel(dir);
    for (const topK of [1, 5, 100]) {
      const a = await onnx.score(`d${topK}`, text, { topK });
      const b = await exact.score(`d${topK}`, text, { topK });
      a.tokens.forEach((t, j) => {
        const u = b.tokens[j]!;
        assert.deepEqual(
          t.top.map((x) => x.id),
          u.top.map((x) => x.id),
          `top-${topK} ids of token ${j}`,
        );
        t.top.forEach((x, i) => assert.ok(Math.abs(x.logprob - u.top[i]!.logprob) < 1e-5));
        assert.equal(t.rank, u.rank);
        if (u.logprob !== null) {
          assert.ok(Math.abs(t.logprob! - u.logprob) < 1e-5, `logprob of token ${j}: ${t.logprob} vs ${u.logprob}`);
          assert.ok(Math.abs(t.entropy! - u.entropy!) < 1e-5, `entropy of token ${j}: ${t.entropy} vs ${u.entropy}`);
        }
      });
      if (topK >= 4)
        assert.deepEqual(
          a.tokens[0]!.top.slice(0, 4).map((x) => x.text),
          ["w5", "w700", "w1100", "w33"],
        );
    }
    await onnx.dispose();
    await exact.dispose();
  }

  test("topKBlocks: a divisor near √vocabulary when there is one, else padding; none for small vocabularies", () => {
    assert.deepEqual(topKBlocks(4096), { block: 32, padded: 4096 });
    assert.deepEqual(topKBlocks(128000), { block: 320, padded: 128000 });
    assert.deepEqual(topKBlocks(1234), { block: 12, padded: 1236 }); // 2 · 617: no divisor in range
    assert.deepEqual(topKBlocks(50257), { block: 224, padded: 50400 }); // GPT-2's 29 · 1733
    assert.equal(topKBlocks(300), null);
  });
  test("equals the float64 reference, ties included (vocabulary 1234: blocks of 12, padded)", () => againstFloat64("padded", 1233, 0));
  test("equals the float64 reference (vocabulary 1200: blocks of 12, no padding)", () => againstFloat64("exact", 1199, 0));
  test("logits around −80, as GPT-2's are: logprobs and entropies still within 1e-5 of float64", () => againstFloat64("shifted", 1199, -80));
});

describe("the output projection on the scored rows only", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-head-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("fused graphs whose logits come from a MatMul project only rows [first_row, seq), and give the logits of the plain graph", async () => {
    const dir = runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 });
    const bundle = openModelBundle(dir);
    const fusedModel = await OnnxCausalLm.load(bundle.onnxPath, bundle.spec, { threads: 1 });
    const plainModel = await OnnxCausalLm.load(bundle.onnxPath, bundle.spec, { threads: 1, fuseStatistics: false });
    try {
      assert.equal(fusedModel.signature.fusedStats, true);
      assert.equal(fusedModel.signature.rowsBeforeHead, true, "the runningSum model's logits are a MatMul");
      const ids = [3, 17, 42, 99, 7, 250];
      const plain = await plainModel.forward(ids, null);
      const vocab = plain.logits.dims[2]!;
      const all = await fusedModel.forward(ids, null, null, true);
      assert.equal(all.logitsFirstRow, 0);
      assert.deepEqual(all.logits!.dims, plain.logits.dims, "logits asked for without statistics: every row");
      assert.deepEqual(Array.from(all.logits!.data as Float32Array), Array.from(plain.logits.data as Float32Array));
      const targets = [42, 99, 7, 250, 1];
      const part = await fusedModel.forward(ids, null, { firstRow: 1, targets: targets.slice(0, 5), topK: 3, vocab }, true);
      assert.equal(part.logitsFirstRow, 1);
      assert.deepEqual(part.logits!.dims, [1, ids.length - 1, vocab], "with statistics from row 1: rows 1 … 5 only");
      assert.deepEqual(Array.from(part.logits!.data as Float32Array), Array.from(plain.logits.data as Float32Array).slice(vocab));
      part.scores!.forEach((s, r) => {
        const ref = scorePosition(plain.logits.data as Float32Array, (r + 1) * vocab, vocab, targets[r]!, 3);
        assert.ok(s !== null && Math.abs(s.logprob - ref.logprob) < 1e-5 && Math.abs(s.entropy - ref.entropy) < 1e-5, `row ${r + 1}`);
        assert.equal(s.rank, ref.rank);
        assert.deepEqual(
          s.top.map((t) => t.id),
          ref.top.map((t) => t.id),
        );
      });
      const none = await fusedModel.forward(ids, null, null, false);
      assert.equal(none.logits, null, "a chunk of context positions fetches nothing vocabulary-sized");
      for (const r of [plain, all, part, none]) if (r.present) disposeKv(r.present);
    } finally {
      await fusedModel.release();
      await plainModel.release();
    }
  });
});
