/**
 * Broken model folders, each built as a copy of the embedded default model (or of the in-test running-sum model when
 * the embedded one is not there) with one thing wrong. Each is tried through the Engine, through the worker
 * (EngineClient) and through the command line: one sentence naming the file and what was expected, and the model
 * loaded before keeps scoring with the same numbers. The figures (cases by kind, and the message each gave) are
 * printed for the closing note of issue 9.
 */
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, EngineError } from "../../../src/core/engine";
import { EngineClient } from "../../../src/worker/engineClient";
import { runCliBatch, oneSentence } from "../../helpers/reliabilityChecks";
import { encodeModel, FLOAT, INT64, runningSumFolder } from "../../helpers/onnxBuilder";
import { committedArtifact, embeddedModelDir, workerScript } from "../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-badmodel-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const embeddedDir = embeddedModelDir("lens-gpt2-bpe4k");
const hasEmbedded = committedArtifact("models/lens-gpt2-bpe4k/onnx/model.onnx", "npm run models") !== "";
const sample = "Perplexity Lens keeps working when a model folder is broken.";
const options = { method: "sliding" as const, window: 0, stride: 0, topK: 3 };

/** The good folder the broken copies start from. */
let good: string;
/** Tokens in its tokenizer (the logits must have at least as many). */
let vocab: number;

interface BrokenCase {
  kind: string;
  name: string;
  dir: string;
  /** What the message must say: the file it names and what was expected. */
  pattern: RegExp;
}
const cases: BrokenCase[] = [];

/** A copy of the good folder (its JSON files copied, its graph hard-linked) with `mutate` applied. */
function brokenCopy(name: string, mutate: (dir: string) => void): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
  for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
    if (fs.existsSync(path.join(good, file))) fs.copyFileSync(path.join(good, file), path.join(dir, file));
  }
  // A hard link, not a symlink: a symlink out of the model folder is refused (issue 13).
  fs.linkSync(path.join(good, "onnx", "model.onnx"), path.join(dir, "onnx", "model.onnx"));
  mutate(dir);
  return dir;
}

function replaceGraph(dir: string, bytes: Uint8Array): void {
  fs.rmSync(path.join(dir, "onnx", "model.onnx"));
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), bytes);
}

/** A graph whose output [batch, seq, width] is a Gather from a zero table with `vocab` rows (valid for every id). */
function gatherGraph(options: { width: number; output?: string; extraInput?: string; op?: string }): Buffer {
  const output = options.output ?? "logits";
  return encodeModel({
    nodes: [{ op: options.op ?? "Gather", inputs: ["table", "input_ids"], outputs: [output], ints: { axis: 0 } }],
    initializers: [{ name: "table", dataType: FLOAT, dims: [vocab, options.width], values: new Float32Array(vocab * options.width) }],
    inputs: [
      { name: "input_ids", elemType: INT64, shape: ["batch", "seq"] },
      ...(options.extraInput ? [{ name: options.extraInput, elemType: INT64, shape: ["batch", "seq"] }] : []),
    ],
    outputs: [{ name: output, elemType: FLOAT, shape: ["batch", "seq", options.width] }],
  });
}

function editJson(dir: string, file: string, edit: (json: Record<string, unknown>) => void): void {
  const full = path.join(dir, file);
  const json = JSON.parse(fs.readFileSync(full, "utf8")) as Record<string, unknown>;
  edit(json);
  fs.writeFileSync(full, JSON.stringify(json));
}

before(() => {
  good = hasEmbedded ? embeddedDir : runningSumFolder(path.join(tmp, "good"), { dim: 8, positions: 64 });
  const config = JSON.parse(fs.readFileSync(path.join(good, "config.json"), "utf8")) as { vocab_size: number };
  vocab = config.vocab_size;
  const add = (kind: string, name: string, dir: string, pattern: RegExp) => cases.push({ kind, name, dir, pattern });
  add("folder", "missing folder", path.join(tmp, "no-such-model"), /^The model folder \S+no-such-model does not exist\.$/);
  add(
    "folder",
    "a file instead of a folder",
    path.join(good, "config.json"),
    /config\.json is not a folder \(expected a Hugging Face model folder with config\.json, tokenizer\.json and an ONNX graph\)\.$/,
  );
  add(
    "config.json",
    "missing config.json",
    brokenCopy("no-config", (d) => fs.rmSync(path.join(d, "config.json"))),
    /no-config has no readable config\.json\.$/,
  );
  add(
    "config.json",
    "unparsable config.json",
    brokenCopy("bad-config", (d) => fs.writeFileSync(path.join(d, "config.json"), '{"model_type": "gpt2",')),
    /bad-config\/config\.json is not valid JSON \(/,
  );
  add(
    "config.json",
    "config.json holding an array",
    brokenCopy("array-config", (d) => fs.writeFileSync(path.join(d, "config.json"), "[1, 2]")),
    /array-config\/config\.json does not hold a JSON object\.$/,
  );
  add(
    "config.json",
    "unsupported model_type",
    brokenCopy("bert-config", (d) => editJson(d, "config.json", (j) => (j["model_type"] = "bert"))),
    /bert-config\/config\.json: .*model_type "bert"/,
  );
  add(
    "tokenizer.json",
    "missing tokenizer.json",
    brokenCopy("no-tokenizer", (d) => fs.rmSync(path.join(d, "tokenizer.json"))),
    /no-tokenizer has no readable tokenizer\.json\.$/,
  );
  add(
    "tokenizer.json",
    "unparsable tokenizer.json",
    brokenCopy("bad-tokenizer", (d) => fs.writeFileSync(path.join(d, "tokenizer.json"), '{"model": {"type": "BPE"')),
    /bad-tokenizer\/tokenizer\.json is not valid JSON \(/,
  );
  add(
    "tokenizer.json",
    "tokenizer.json without a model",
    brokenCopy("modelless-tokenizer", (d) => editJson(d, "tokenizer.json", (j) => delete j["model"])),
    /modelless-tokenizer\/tokenizer\.json has no "model" object \(expected a Hugging Face tokenizers file\)\.$/,
  );
  add(
    "tokenizer.json",
    "tokenizer type the library does not support",
    brokenCopy("alien-tokenizer", (d) => editJson(d, "tokenizer.json", (j) => ((j["model"] as Record<string, unknown>)["type"] = "HypotheticalMorpheme"))),
    /alien-tokenizer\/tokenizer\.json could not be used \(.*HypotheticalMorpheme/,
  );
  add(
    "tokenizer.json",
    "unparsable tokenizer_config.json",
    brokenCopy("bad-tokenizer-config", (d) => fs.writeFileSync(path.join(d, "tokenizer_config.json"), "{oops")),
    /bad-tokenizer-config\/tokenizer_config\.json is not valid JSON \(/,
  );
  add(
    "tokenizer.json",
    "empty vocabulary",
    brokenCopy("empty-vocab", (d) =>
      editJson(d, "tokenizer.json", (j) => {
        const model = j["model"] as Record<string, unknown>;
        model["vocab"] = {};
        model["merges"] = [];
        j["added_tokens"] = [];
      }),
    ),
    /empty-vocab\/tokenizer\.json could not be used \(tokenizer\.json has an empty vocabulary\)\.$/,
  );
  add(
    "config.json",
    "config.json missing a required field",
    brokenCopy("thin-config", (d) => fs.writeFileSync(path.join(d, "config.json"), JSON.stringify({ model_type: "gpt2" }))),
    /thin-config\/config\.json: has no positive integer n_layer \(number of layers\)\.$/,
  );
  add(
    "onnx",
    "a folder where the graph should be",
    brokenCopy("onnx-folder", (d) => {
      fs.rmSync(path.join(d, "onnx", "model.onnx"));
      fs.mkdirSync(path.join(d, "onnx", "model.onnx"));
    }),
    /onnx-folder\/onnx\/model\.onnx is not a file \(expected an ONNX model file\)\.$/,
  );
  add(
    "onnx",
    "no ONNX graph",
    brokenCopy("no-onnx", (d) => fs.rmSync(path.join(d, "onnx"), { recursive: true })),
    /no-onnx has no ONNX graph \(expected one of onnx\/model\.onnx, model\.onnx/,
  );
  add(
    "onnx",
    "truncated .onnx",
    brokenCopy("truncated-onnx", (d) => replaceGraph(d, fs.readFileSync(path.join(good, "onnx", "model.onnx")).subarray(0, 4096))),
    /truncated-onnx\/onnx\/model\.onnx is not a valid ONNX model \(/,
  );
  add(
    "onnx",
    "non-ONNX .onnx (text)",
    brokenCopy("text-onnx", (d) => replaceGraph(d, Buffer.from("This is a README, not a model.\n"))),
    /text-onnx\/onnx\/model\.onnx is not a valid ONNX model \(/,
  );
  add(
    "onnx",
    "empty .onnx",
    brokenCopy("empty-onnx", (d) => replaceGraph(d, Buffer.alloc(0))),
    /empty-onnx\/onnx\/model\.onnx (is not a valid ONNX model|is empty)/,
  );
  add(
    "graph",
    "graph without a logits output",
    brokenCopy("no-logits", (d) => replaceGraph(d, gatherGraph({ width: vocab, output: "hidden_states" }))),
    /no-logits\/onnx\/model\.onnx has no logits output \(its outputs are hidden_states\)\.$/,
  );
  add(
    "graph",
    "unexpected input name",
    brokenCopy("odd-input", (d) => replaceGraph(d, gatherGraph({ width: vocab, extraInput: "token_type_ids" }))),
    /odd-input\/onnx\/model\.onnx has an input "token_type_ids" that Perplexity Lens cannot feed \(expected input_ids, attention_mask/,
  );
  add(
    "graph",
    "custom operator (no custom-op library is loaded)",
    brokenCopy("custom-op", (d) => replaceGraph(d, gatherGraph({ width: vocab, op: "LensCustomScatter" }))),
    /custom-op\/onnx\/model\.onnx uses the operator LensCustomScatter \(opset 17\), which onnxruntime's CPU execution provider does not have \(custom-op libraries are never loaded\)\.$/,
  );
  add(
    "graph",
    "vocabulary larger than the logits",
    brokenCopy("narrow-logits", (d) => replaceGraph(d, gatherGraph({ width: 100 }))),
    new RegExp(`narrow-logits/onnx/model\\.onnx returns 100 logits per token but \\S+narrow-logits/tokenizer\\.json has ${vocab} tokens\\.$`),
  );
});

/** What each case answered, by route, for the printed summary. */
const answers = new Map<string, { engine?: string; worker?: string; cli?: string }>();
function record(name: string, route: "engine" | "worker" | "cli", message: string): void {
  answers.set(name, { ...answers.get(name), [route]: message });
}

describe("broken model folders", { concurrency: false }, () => {
  test("through the Engine: one sentence naming the file and what was expected; the previous model keeps scoring", async () => {
    const engine = new Engine();
    try {
      await engine.loadModel(good);
      const before = await engine.score("doc", sample, options);
      for (const c of cases) {
        await assert.rejects(engine.loadModel(c.dir), (e: unknown) => {
          assert.ok(e instanceof EngineError, `${c.name}: ${String(e)}`);
          assert.equal(e.code, "modelError", c.name);
          assert.match(e.message, c.pattern, c.name);
          oneSentence(e.message);
          record(c.name, "engine", e.message);
          return true;
        });
        assert.equal(engine.modelInfo?.path, path.resolve(good), `${c.name}: the previous model is still loaded`);
      }
      const afterwards = await engine.score("doc-after", sample, options);
      assert.deepEqual(
        afterwards.tokens.map((t) => [t.id, t.logprob]),
        before.tokens.map((t) => [t.id, t.logprob]),
        "same numbers as before the failed loads",
      );
    } finally {
      await engine.dispose();
    }
  });

  test("through the worker: the same sentences, and the loaded model keeps scoring", async () => {
    const client = new EngineClient(workerScript, () => undefined);
    try {
      const load = (dir: string) => client.request("loadModel", { path: dir, source: "folder", kvBudgetBytes: 64 * 1024 * 1024, threads: 1 });
      await load(good);
      const before = await client.request("score", { docId: "d", version: 1, text: sample, options });
      for (const c of cases) {
        await assert.rejects(load(c.dir), (e: unknown) => {
          assert.ok(e instanceof EngineError, `${c.name}: ${String(e)}`);
          assert.equal(e.code, "modelError", c.name);
          assert.equal(e.message, answers.get(c.name)?.engine, `${c.name}: the worker says what the engine says`);
          record(c.name, "worker", e.message);
          return true;
        });
      }
      assert.equal(client.stopped, false, "no failed load crashed the worker");
      const afterwards = await client.request("score", { docId: "d2", version: 2, text: sample, options });
      assert.deepEqual(afterwards.tokens, before.tokens);
    } finally {
      await client.dispose();
    }
  });

  test("through the command line: exit code 1 and the sentence on stderr, nothing on stdout", () => {
    const input = path.join(tmp, "sample.txt");
    fs.writeFileSync(input, sample);
    const results = runCliBatch([...cases.map((c) => ["score", input, "--model", c.dir, "--json"]), ["score", input, "--model", good, "--json"]]);
    cases.forEach((c, i) => {
      const { code, stdout, stderr } = results[i]!;
      assert.equal(code, 1, `${c.name}: exit code`);
      assert.equal(stdout, "", c.name);
      assert.equal(stderr, `perplexity-lens: ${answers.get(c.name)?.engine}\n`, c.name);
      record(c.name, "cli", stderr.trim());
    });
    const ok = results[cases.length]!;
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((JSON.parse(ok.stdout) as { tokens: unknown[] }).tokens.length > 0);
  });

  test("summary for the closing note", () => {
    const byKind = new Map<string, number>();
    for (const c of cases) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
    console.log(
      `[reliability] ${cases.length} broken model folders (base: ${hasEmbedded ? "lens-gpt2-bpe4k" : "running-sum test model"}), by kind: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}`,
    );
    for (const c of cases) {
      const a = answers.get(c.name);
      assert.ok(a?.engine && a.worker && a.cli, `${c.name} was tried on every route`);
      console.log(`[reliability]   ${c.name}: ${a.engine!.replaceAll(tmp, "$TMP")}`);
    }
  });
});
