/**
 * Issue 13, hostile model files: a model folder must not read outside itself, hang the engine or exhaust memory.
 * Each hostile folder is a copy of the embedded default model with one thing changed; each is refused at load in one
 * sentence naming the file and the field, and the model loaded before keeps scoring.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine } from "../../../../../src/core/engine";
import { parseOnnxModel, ONNX_PARSE_LIMITS, OnnxParseError } from "../../../../../src/core/backends/onnx/onnxProto";
import { appendToGraph } from "../../../../../src/core/backends/onnx/onnxEncoder";
import { checkGraphTensors } from "../../../../../src/core/backends/onnx/graphChecks";
import { embeddedModelDir } from "../../../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-hostile-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const good = embeddedModelDir("lens-gpt2-bpe4k");
const sample = "Perplexity Lens refuses hostile model folders.";
const options = { method: "sliding" as const, window: 0, stride: 0, topK: 5 };

// A tiny protobuf writer for the hostile fields.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
function lenField(field: number, body: Uint8Array | string): Buffer {
  const b = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  return Buffer.concat([Buffer.from(varint(field * 8 + 2)), Buffer.from(varint(b.length)), b]);
}
function intField(field: number, value: number): Buffer {
  return Buffer.from([...varint(field * 8), ...varint(value)]);
}
/** A TensorProto (uint8, dims [n]) whose values are external data at `location`. */
function externalTensor(name: string, location: string, n: number): Buffer {
  const entry = Buffer.concat([lenField(1, "location"), lenField(2, location)]);
  return Buffer.concat([intField(1, n), intField(2, 2), lenField(8, name), lenField(13, entry), intField(14, 1)]);
}
/** A graph node field (GraphProto.node = 1) Constant with `value` = tensor. */
function constantNode(output: string, tensor: Buffer): Buffer {
  const attr = Buffer.concat([lenField(1, "value"), lenField(5, tensor), intField(20, 4)]);
  return lenField(1, Buffer.concat([lenField(2, output), lenField(4, "Constant"), lenField(5, attr)]));
}

function copyModel(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"])
    if (fs.existsSync(path.join(good, f))) fs.copyFileSync(path.join(good, f), path.join(dir, f));
  fs.copyFileSync(path.join(good, "onnx", "model.onnx"), path.join(dir, "onnx", "model.onnx"));
  return dir;
}

function withExtraGraphFields(dir: string, fields: Buffer): void {
  const file = path.join(dir, "onnx", "model.onnx");
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, appendToGraph(bytes, parseOnnxModel(bytes).graphField, fields));
}

let engine: Engine;
let baseline: number;
before(async () => {
  engine = new Engine({ threads: 1 });
  await engine.loadModel(good);
  baseline = (await engine.score("base", sample, options)).metrics.nll;
});
after(async () => engine.dispose?.());

async function refusedAndStillScoring(dir: string, pattern: RegExp): Promise<void> {
  await assert.rejects(engine.loadModel(dir), (e: Error) => {
    assert.match(e.message, pattern);
    assert.equal(e.message.split("\n").length, 1);
    return true;
  });
  // The model loaded before keeps scoring, with the same numbers.
  const again = await engine.score("again", sample, options);
  assert.equal(again.metrics.nll, baseline);
}

test("a Constant whose value is external data at ../../etc/passwd is refused, and no alternative spells the file", async () => {
  const dir = copyModel("constant-passwd");
  withExtraGraphFields(dir, constantNode("pl_hostile_out", externalTensor("evil", "../../../../../../../../etc/passwd", 16)));
  await refusedAndStillScoring(
    dir,
    /onnx\/model\.onnx: the external data location "\.\.\/(\.\.\/)+etc\/passwd" leads outside the model folder .+, so it is not read\.$/,
  );
  const result = await engine.score("base", sample, options);
  const passwd = fs.existsSync("/etc/passwd") ? fs.readFileSync("/etc/passwd", "utf8").slice(0, 12) : "root:x:0:0";
  assert.ok(!JSON.stringify(result).includes(passwd));
});

test("an external location relative to a working directory of / is refused when built from bytes", () => {
  const bytes = fs.readFileSync(path.join(good, "onnx", "model.onnx"));
  const hostile = appendToGraph(bytes, parseOnnxModel(bytes).graphField, constantNode("x", externalTensor("evil", "etc/passwd", 16)));
  assert.throws(
    () => checkGraphTensors(parseOnnxModel(hostile), "/m/onnx/model.onnx", "/m", true, hostile.length),
    /^Error: \/m\/onnx\/model\.onnx keeps the tensor "evil" in external data, which a session built from bytes cannot read safely, so the model is not loaded this way\.$/,
  );
});

test("a sparse initializer with external values is seen", () => {
  const bytes = fs.readFileSync(path.join(good, "onnx", "model.onnx"));
  const sparse = lenField(15, lenField(1, externalTensor("sparse_values", "/etc/passwd", 4)));
  const proto = parseOnnxModel(appendToGraph(bytes, parseOnnxModel(bytes).graphField, sparse));
  assert.throws(
    () => checkGraphTensors(proto, "/m/onnx/model.onnx", "/m", false, 1),
    /^Error: \/m\/onnx\/model\.onnx: the external data location "\/etc\/passwd" is not a relative path inside the model folder\.$/,
  );
});

test("config.json linked to a file outside the folder is refused without quoting it", async () => {
  const dir = copyModel("config-link");
  const outside = path.join(tmp, "secret.txt");
  fs.writeFileSync(outside, "TOPSECRET-CONTENT not json");
  fs.rmSync(path.join(dir, "config.json"));
  fs.symlinkSync(outside, path.join(dir, "config.json"));
  await refusedAndStillScoring(dir, /config\.json \(config\.json\) leads outside its folder .+ \(through a symlink\), so it is not read\.$/);
  await assert.rejects(engine.loadModel(dir), (e: Error) => !e.message.includes("TOPSECRET"));
});

test("a graph symlinked out of the folder is refused", async () => {
  const dir = copyModel("graph-link");
  fs.rmSync(path.join(dir, "onnx", "model.onnx"));
  fs.symlinkSync(path.join(good, "onnx", "model.onnx"), path.join(dir, "onnx", "model.onnx"));
  await refusedAndStillScoring(dir, /model\.onnx \(the ONNX graph\) leads outside its folder .+ \(through a symlink\), so it is not read\.$/);
});

test("a FIFO as tokenizer.json is refused at once", async () => {
  const dir = copyModel("tokenizer-fifo");
  fs.rmSync(path.join(dir, "tokenizer.json"));
  const { execFileSync } = await import("node:child_process");
  execFileSync("mkfifo", [path.join(dir, "tokenizer.json")]);
  await refusedAndStillScoring(dir, /tokenizer\.json \(tokenizer\.json\) is a named pipe \(FIFO\), not a regular file, so it is not read\.$/);
});

test("a graph over the node limit is refused naming the file", async () => {
  const dir = copyModel("many-nodes");
  const identity = lenField(1, Buffer.concat([lenField(1, "a"), lenField(2, "b"), lenField(4, "Identity")]));
  withExtraGraphFields(dir, Buffer.concat(new Array<Buffer>(ONNX_PARSE_LIMITS.maxNodes + 1).fill(identity)));
  await refusedAndStillScoring(
    dir,
    /onnx\/model\.onnx is not a valid ONNX model \(it has more than 200,000 nodes \(over all subgraphs\), more than Perplexity Lens accepts\)\.$/,
  );
});

test("If-subgraphs nested deeper than the limit are refused, not a stack overflow", () => {
  let graph: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 10_000; i++) {
    const attr = Buffer.concat([lenField(1, "then_branch"), lenField(6, graph)]);
    graph = lenField(1, Buffer.concat([lenField(4, "If"), lenField(5, attr)]));
  }
  const model = Buffer.concat([intField(1, 8), lenField(7, graph)]);
  assert.throws(
    () => parseOnnxModel(model),
    (e: Error) => e instanceof OnnxParseError && /^its subgraphs are nested more than 64 deep, more than Perplexity Lens accepts$/.test(e.message),
  );
});

test("a huge declared dim is refused naming the tensor", () => {
  const tensor = Buffer.concat([intField(1, 2 ** 40), intField(2, 1), lenField(8, "huge"), lenField(9, Buffer.alloc(4))]);
  const model = Buffer.concat([intField(1, 8), lenField(7, lenField(5, tensor))]);
  assert.throws(
    () => checkGraphTensors(parseOnnxModel(model), "/m/model.onnx", "/m", false, model.length),
    /^Error: \/m\/model\.onnx: the tensor "huge" declares the dimension 1099511627776, outside 0 to 2\^31 - 1\.$/,
  );
});
