/**
 * Model folders: what is found, what is refused (one sentence naming the file), and that a failed load keeps the
 * previous model. Also the ONNX protobuf reader on a model built in the test.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, EngineError } from "../../../../../src/core/engine";
import { openModelBundle, ModelBundleError } from "../../../../../src/core/backends/onnx/modelBundle";
import { createArchitecture, ModelConfigError } from "../../../../../src/core/architecture";
import { countParameters, parseOnnxModel, OnnxParseError } from "../../../../../src/core/backends/onnx/onnxProto";
import { appendToGraph, BOOL, encodeGraphFields } from "../../../../../src/core/backends/onnx/onnxEncoder";
import {
  encodeModel,
  FLOAT,
  gpt2Config,
  INT64,
  runningSumFolder,
  runningSumModel,
  runningSumWeights,
  wordTokenizer,
  writeModelFolder,
} from "../../../../helpers/onnxBuilder";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-load-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function oneSentence(message: string): void {
  assert.match(message, /^[A-Z0-9/"].*[.)]$/s, `"${message}" reads as one sentence`);
  assert.ok(!message.includes("\n"), "no line breaks");
}

describe("ONNX protobuf reader", () => {
  test("reads initializers (names, dims, raw data offsets), inputs and outputs, and counts parameters", () => {
    const bytes = runningSumModel(257, 8);
    const model = parseOnnxModel(bytes);
    const embedding = model.graph.initializers.find((i) => i.name === "embedding")!;
    assert.deepEqual(embedding.dims, [257, 8]);
    assert.equal(embedding.dataType, 1);
    const { embedding: values } = runningSumWeights(257, 8);
    const raw = Buffer.from(bytes.buffer, bytes.byteOffset + embedding.rawData!.offset, embedding.rawData!.length);
    assert.equal(raw.length, 257 * 8 * 4);
    assert.equal(raw.readFloatLE(4 * 100), values[100]);
    assert.deepEqual(
      model.graph.inputs.map((i) => i.name),
      ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value"],
    );
    assert.deepEqual(model.graph.inputs[3]!.shape, ["batch", 1, "past", 8]);
    assert.deepEqual(
      model.graph.outputs.map((o) => o.name),
      ["logits", "present.0.key", "present.0.value"],
    );
    assert.equal(model.graph.nodes.length, 13);
    assert.equal(countParameters(model.graph), 2 * 257 * 8, "float weights only; int64 constants are not parameters");
    assert.throws(() => parseOnnxModel(bytes.subarray(0, bytes.length - 100)), OnnxParseError);
    assert.throws(() => parseOnnxModel(Buffer.from("not an onnx model at all")), OnnxParseError);
  });
});

describe("config.json architectures", () => {
  test("GPT-2 and Llama-family fields, GQA, and a clear refusal of unknown model types", () => {
    const gpt2 = createArchitecture({ model_type: "gpt2", n_layer: 4, n_head: 4, n_embd: 256, n_positions: 512, vocab_size: 4096 });
    assert.deepEqual([gpt2.numLayers, gpt2.numKvHeads, gpt2.headDim, gpt2.contextLength], [4, 4, 64, 512]);
    const mistral = createArchitecture({
      model_type: "mistral",
      num_hidden_layers: 2,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      hidden_size: 256,
      max_position_embeddings: 2048,
      vocab_size: 32000,
    });
    assert.deepEqual([mistral.architecture, mistral.numKvHeads, mistral.headDim], ["llama", 2, 32]);
    const gemma = createArchitecture({
      model_type: "gemma",
      num_hidden_layers: 2,
      num_attention_heads: 8,
      num_key_value_heads: 1,
      head_dim: 256,
      hidden_size: 2048,
      max_position_embeddings: 8192,
      vocab_size: 256000,
    });
    assert.equal(gemma.headDim, 256);
    assert.throws(
      () => createArchitecture({ model_type: "bert" }),
      (e: unknown) => e instanceof ModelConfigError && /model_type "bert"/.test(e.message),
    );
    assert.throws(() => createArchitecture({ model_type: "llama", num_attention_heads: 8 }), ModelConfigError);
  });
});

describe("model folders", () => {
  const good = runningSumFolder(path.join(tmp, "good"));

  function brokenCopy(name: string, mutate: (dir: string) => void): string {
    const dir = path.join(tmp, name);
    fs.cpSync(good, dir, { recursive: true });
    mutate(dir);
    return dir;
  }

  const cases: Array<[string, string, RegExp]> = [
    ["missing folder", path.join(tmp, "nope"), /does not exist/],
    ["missing config.json", brokenCopy("noconfig", (d) => fs.rmSync(path.join(d, "config.json"))), /config\.json/],
    ["unparsable config.json", brokenCopy("badjson", (d) => fs.writeFileSync(path.join(d, "config.json"), "{ nope")), /config\.json is not valid JSON/],
    [
      "unknown model_type",
      brokenCopy("bert", (d) => fs.writeFileSync(path.join(d, "config.json"), JSON.stringify({ model_type: "bert" }))),
      /model_type "bert"/,
    ],
    ["missing tokenizer.json", brokenCopy("notok", (d) => fs.rmSync(path.join(d, "tokenizer.json"))), /tokenizer\.json/],
    ["no ONNX graph", brokenCopy("noonnx", (d) => fs.rmSync(path.join(d, "onnx"), { recursive: true })), /no ONNX graph \(expected one of onnx\/model\.onnx/],
    ["truncated ONNX", brokenCopy("trunc", (d) => fs.truncateSync(path.join(d, "onnx", "model.onnx"), 500)), /model\.onnx is not a valid ONNX model/],
    [
      "config disagreeing with the graph's heads",
      brokenCopy("heads", (d) =>
        fs.writeFileSync(
          path.join(d, "config.json"),
          JSON.stringify({ model_type: "gpt2", n_layer: 1, n_head: 2, n_embd: 8, n_positions: 64, vocab_size: 257 }),
        ),
      ),
      /key\/value heads/,
    ],
    [
      "config disagreeing with the graph's layers",
      brokenCopy("layers", (d) =>
        fs.writeFileSync(
          path.join(d, "config.json"),
          JSON.stringify({ model_type: "gpt2", n_layer: 2, n_head: 1, n_embd: 8, n_positions: 64, vocab_size: 257 }),
        ),
      ),
      /past_key_values for 1 layers but config\.json says 2/,
    ],
  ];

  for (const [name, dir, pattern] of cases) {
    test(`${name}: one sentence naming the file, and the previous model stays loaded`, async () => {
      const engine = new Engine();
      await engine.loadModel(good);
      const before = await engine.score("doc", "keep working");
      await assert.rejects(engine.loadModel(dir), (e: unknown) => {
        assert.ok(e instanceof EngineError, String(e));
        assert.equal(e.code, "modelError");
        assert.match(e.message, pattern);
        oneSentence(e.message);
        return true;
      });
      assert.equal(engine.modelInfo?.name, "good");
      const afterwards = await engine.score("doc2", "keep working");
      assert.deepEqual(
        afterwards.tokens.map((t) => t.logprob),
        before.tokens.map((t) => t.logprob),
      );
      await engine.dispose();
    });
  }

  test("the bundle lists its files and finds model.onnx at the top level too", () => {
    const flat = brokenCopy("flat", (d) => {
      fs.renameSync(path.join(d, "onnx", "model.onnx"), path.join(d, "model.onnx"));
      fs.rmSync(path.join(d, "onnx"), { recursive: true });
    });
    const bundle = openModelBundle(flat);
    assert.equal(bundle.onnxFile, "model.onnx");
    assert.ok(bundle.files.some((f) => f.name === "model.onnx" && f.bytes > 0));
    assert.throws(() => openModelBundle(path.join(flat, "config.json")), ModelBundleError);
  });
});

describe("graph signatures", () => {
  /** A constant-logits graph over {red, blue, green, <|endoftext|>} with extra inputs/outputs. */
  function folder(name: string, extraInputs: string[], extraOutputs: boolean): string {
    const { tokenizer, config } = wordTokenizer(["red", "blue", "green"]);
    const row = [0, 0, 0, -1e9];
    const onnx = encodeModel({
      nodes: [
        { op: "Gather", inputs: ["table", "input_ids"], outputs: ["logits"], ints: { axis: 0 } },
        ...(extraOutputs ? [{ op: "Identity", inputs: ["input_ids"], outputs: ["ids_copy"] }] : []),
      ],
      initializers: [{ name: "table", dataType: FLOAT, dims: [4, 4], values: [...row, ...row, ...row, ...row] }],
      inputs: [
        { name: "input_ids", elemType: INT64, shape: ["batch", "seq"] },
        ...extraInputs.map((n) => ({ name: n, elemType: INT64, shape: ["batch", "seq"] })),
      ],
      outputs: [
        { name: "logits", elemType: FLOAT, shape: ["batch", "seq", 4] },
        ...(extraOutputs ? [{ name: "ids_copy", elemType: INT64, shape: ["batch", "seq"] }] : []),
      ],
    });
    return writeModelFolder(path.join(tmp, name), { config: gpt2Config(4, 1, 1, 4, 64), tokenizer, tokenizerConfig: config, onnx });
  }

  test("extra graph outputs are ignored", async () => {
    const engine = new Engine();
    await engine.loadModel(folder("extra-out", [], true));
    const result = await engine.score("d", "red blue green");
    assert.ok(Math.abs(result.metrics.tokenPerplexity! - 3) < 1e-6);
    await engine.dispose();
  });

  test("an input the engine cannot feed is refused by name instead of being silently left out", async () => {
    const engine = new Engine();
    await assert.rejects(engine.loadModel(folder("extra-in", ["token_type_ids"], false)), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.match(e.message, /has an input "token_type_ids" that Perplexity Lens cannot feed/);
      oneSentence(e.message);
      return true;
    });
    await engine.dispose();
  });

  test("a merged decoder (decoder_model_merged.onnx with use_cache_branch) is found and fed", async () => {
    // The running-sum graph with a use_cache_branch input added, saved under the merged decoder's name.
    const base = runningSumModel(257, 8);
    const proto = parseOnnxModel(base);
    const extra = encodeGraphFields({ nodes: [], initializers: [], inputs: [{ name: "use_cache_branch", elemType: BOOL, shape: [1] }], outputs: [] });
    const merged = appendToGraph(base, proto.graphField, extra);
    const dir = runningSumFolder(path.join(tmp, "merged"));
    fs.rmSync(path.join(dir, "onnx", "model.onnx"));
    fs.writeFileSync(path.join(dir, "onnx", "decoder_model_merged.onnx"), merged);
    const engine = new Engine({ chunkTokens: 4 });
    await engine.loadModel(dir);
    assert.equal(engine.session?.signature.hasUseCacheBranch, true);
    assert.equal(openModelBundle(dir).onnxFile, "onnx/decoder_model_merged.onnx");
    const reference = new Engine({ chunkTokens: 4 });
    await reference.loadModel(runningSumFolder(path.join(tmp, "unmerged")));
    const a = await engine.score("d", "merged decoders take a branch flag");
    const b = await reference.score("d", "merged decoders take a branch flag");
    assert.deepEqual(
      a.tokens.map((t) => t.logprob),
      b.tokens.map((t) => t.logprob),
    );
    await engine.dispose();
    await reference.dispose();
  });
});
