/**
 * The command line as a user runs it (a child process): `score --json` is exactly the ScoreReport schema with the
 * engine's numbers, CSV and text output, `info`, and exit codes with one-sentence errors.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine } from "../../../src/core/engine";
import type { ScoreReport } from "../../../src/core/types";
import { runningSumFolder } from "../../helpers/onnxBuilder";
import { cliScript, committedArtifact } from "../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-cli-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cli = cliScript;
const model = runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 });
const text = "Line one of a file.\nLine two — with ünïcödé and 😀.\n".repeat(4);
const file = path.join(tmp, "input.txt");
fs.writeFileSync(file, text);

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8", env: { ...process.env, NO_COLOR: "" } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function oneSentenceError(stderr: string): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr: ${stderr}`);
  assert.match(lines[0]!, /^perplexity-lens: \S.*\.$/);
}

describe("perplexity-lens score", () => {
  test("--json prints exactly the ScoreReport with the engine's numbers", async () => {
    const out = run(["score", file, "--model", model, "--json", "--method", "sliding", "--window", "32", "--stride", "16", "--top", "3"]);
    assert.equal(out.status, 0, out.stderr);
    const report = JSON.parse(out.stdout) as ScoreReport;
    assert.deepEqual(Object.keys(report).sort(), ["method", "metrics", "model", "tokens"]);
    assert.deepEqual(Object.keys(report.model).sort(), ["architecture", "contextLength", "name", "parameters", "path", "vocabSize"]);
    assert.deepEqual(Object.keys(report.method).sort(), ["method", "prefix", "stride", "window"]);
    assert.deepEqual(Object.keys(report.metrics).sort(), [
      "bitsPerByte",
      "bytePerplexity",
      "bytes",
      "nll",
      "nllStdErr",
      "rankBuckets",
      "scoredTokens",
      "tokenPerplexity",
      "tokens",
      "wordPerplexity",
      "words",
    ]);
    for (const t of report.tokens) {
      assert.deepEqual(
        Object.keys(t)
          .filter((k) => k !== "contextLength")
          .sort(),
        ["end", "entropy", "id", "logprob", "prob", "rank", "start", "text", "top"],
      );
      assert.ok(t.top.length <= 3);
    }
    assert.deepEqual(report.method, { method: "sliding", window: 32, stride: 16, prefix: "eos:<|endoftext|>" });
    const engine = new Engine();
    await engine.loadModel(model);
    const expected = await engine.score("x", text, { method: "sliding", window: 32, stride: 16, topK: 3 });
    await engine.dispose();
    assert.deepEqual(report.tokens, expected.tokens);
    assert.deepEqual(report.metrics, expected.metrics);
    assert.equal(report.model.name, "sum");
    const unscored = report.tokens.filter((t) => t.logprob === null);
    assert.equal(unscored.length, 0, "sliding windows with stride < window score every token");
  });

  test("reads standard input with -, prints CSV, and coloured text only when asked and on a terminal", () => {
    const csv = run(["score", "-", "--model", model, "--csv"], 'abc, "quoted"');
    assert.equal(csv.status, 0, csv.stderr);
    const lines = csv.stdout.trim().split("\n");
    assert.equal(lines[0], "index,id,text,start,end,logprob,prob,rank,entropy,context_length,top");
    assert.equal(lines.length, 1 + 'abc, "quoted"'.length);
    assert.match(lines[6]!, /^5,34,"""",5,6,/);
    const plain = run(["score", file, "--model", model]);
    assert.equal(plain.status, 0);
    assert.ok(plain.stdout.startsWith(text), "non-TTY output is not coloured");
    assert.ok(!plain.stdout.includes("\x1b["));
    assert.match(plain.stdout, /token perplexity\s+\d/);
  });

  test("exit codes and one-sentence errors", () => {
    const missing = run(["score", path.join(tmp, "nope.txt"), "--model", model]);
    assert.equal(missing.status, 1);
    oneSentenceError(missing.stderr);
    assert.match(missing.stderr, /nope\.txt does not exist/);
    const badModel = run(["score", file, "--model", tmp]);
    assert.equal(badModel.status, 1);
    oneSentenceError(badModel.stderr);
    assert.match(badModel.stderr, /config\.json/);
    const binary = path.join(tmp, "binary.bin");
    fs.writeFileSync(binary, Buffer.from([0x41, 0x00, 0x42]));
    const bin = run(["score", binary, "--model", model]);
    assert.equal(bin.status, 1);
    oneSentenceError(bin.stderr);
    const usage = run(["score", file, "--window", "x"]);
    assert.equal(usage.status, 2);
    oneSentenceError(usage.stderr);
    assert.equal(run(["frobnicate"]).status, 2);
    const help = run(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /score FILE\|-/);
  });

  test("info reports parameters counted and estimated, FLOPs, context, vocabulary and KV bytes", () => {
    const out = run(["info", "--model", model]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /parameters \(counted\)\s+4,112/); // embedding 257·8 + head 8·257
    assert.match(out.stdout, /parameters \(12·n_layer·d²\)\s+768/);
    assert.match(out.stdout, /FLOPs per token \(≈2·params\)\s+8,224/);
    assert.match(out.stdout, /KV bytes per token\s+64 \(float32\)/); // 2 · 1 layer · 1 head · 8 · 4 bytes
    assert.match(out.stdout, /context length\s+64/);
  });

  test("without --model it scores with the embedded default model", () => {
    committedArtifact("models/lens-gpt2-bpe4k/onnx/model.onnx", "npm run models");
    const out = run(["score", "-", "--json"], "def main():\n    return 42\n");
    assert.equal(out.status, 0, out.stderr);
    const report = JSON.parse(out.stdout) as ScoreReport;
    assert.equal(report.model.name, "lens-gpt2-bpe4k");
    assert.ok(report.metrics.tokenPerplexity !== null && report.metrics.tokenPerplexity > 1);
  });
});
