/**
 * `perplexity-lens compare` as a user runs it (a child process): the --json schema (an array of {model, method,
 * metrics} with charsPerToken and bytesPerToken), each column equal to what `score --json` gives for that model,
 * the table, embedded model names, and exit codes with one-sentence errors.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ComparisonReport } from "../../../src/core/compare";
import type { ScoreReport } from "../../../src/core/types";
import { comparisonFolders } from "../../helpers/onnxBuilder";
import { cliScript } from "../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-compare-cli-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cli = cliScript;
const { sum, words, tokenizerOnly } = comparisonFolders(tmp);
const text = "red blue green\nblue  blue red\n".repeat(3);
const file = path.join(tmp, "input.txt");
fs.writeFileSync(file, text);

function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function oneSentenceError(stderr: string): void {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr: ${stderr}`);
  assert.match(lines[0]!, /^perplexity-lens: \S.*\.$/);
}

describe("perplexity-lens compare", () => {
  test("--json: one {model, method, metrics} per model, metrics as score --json plus charsPerToken, bytesPerToken, nllBits", () => {
    const out = run([
      "compare",
      file,
      "--model",
      sum,
      "--model",
      words,
      "--model",
      tokenizerOnly,
      "--json",
      "--method",
      "sliding",
      "--window",
      "32",
      "--stride",
      "16",
    ]);
    assert.equal(out.status, 0, out.stderr);
    const reports = JSON.parse(out.stdout) as ComparisonReport[];
    assert.ok(Array.isArray(reports));
    assert.equal(reports.length, 3);
    const scoreMetricKeys = [
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
    ];
    for (const r of reports) {
      assert.deepEqual(Object.keys(r).sort(), ["method", "metrics", "model"]);
      assert.deepEqual(Object.keys(r.metrics).sort(), [...scoreMetricKeys, "bytesPerToken", "charsPerToken", "nllBits"].sort());
      assert.deepEqual(Object.keys(r.model).sort(), ["architecture", "contextLength", "kind", "name", "parameters", "path", "tokenizerType", "vocabSize"]);
      assert.equal(r.metrics.bytes, Buffer.byteLength(text));
      assert.equal(r.metrics.words, 18);
      assert.equal(r.metrics.charsPerToken, text.length / r.metrics.tokens);
      assert.equal(r.metrics.bytesPerToken, Buffer.byteLength(text) / r.metrics.tokens);
    }
    const [s, w, t] = reports;
    assert.deepEqual(s!.method, { method: "sliding", window: 32, stride: 16, prefix: "eos:<|endoftext|>" });
    assert.equal(s!.model.kind, "model");
    assert.equal(t!.model.kind, "tokenizer");
    assert.equal(t!.method, null);
    assert.equal(t!.metrics.tokens, 18);
    assert.equal(t!.metrics.tokenPerplexity, null);
    // Words model: logits 0, ln 2, 0 → p(red) = p(green) = 1/4, p(blue) = 1/2; each repeat is red blue green blue blue red.
    const perRepeat =
      Math.log(4) /* red */ + Math.log(2) /* blue */ + Math.log(4) /* green */ + Math.log(2) /* blue */ + Math.log(2) /* blue */ + Math.log(4); /* red */
    assert.ok(Math.abs(w!.metrics.nll - 3 * perRepeat) < 1e-5, `words NLL ${w!.metrics.nll} vs ${3 * perRepeat}`);
    assert.ok(Math.abs(w!.metrics.bitsPerByte! - (3 * perRepeat) / (Buffer.byteLength(text) * Math.LN2)) < 1e-6);
    assert.ok(Math.abs(w!.metrics.wordPerplexity! - Math.exp((3 * perRepeat) / 18)) < 1e-5);
  });

  test("each model's column equals score --json for that model with the same method", () => {
    const compared = JSON.parse(run(["compare", file, "--model", sum, "--model", words, "--json"]).stdout) as ComparisonReport[];
    for (const [i, folder] of [sum, words].entries()) {
      const score = JSON.parse(run(["score", file, "--model", folder, "--json"]).stdout) as ScoreReport;
      const { charsPerToken, bytesPerToken, nllBits, ...metrics } = compared[i]!.metrics;
      void charsPerToken;
      void bytesPerToken;
      void nllBits;
      assert.deepEqual(metrics, score.metrics);
      assert.deepEqual(compared[i]!.method, score.method);
    }
  });

  test("the table: one column per model, a row per metric, and the fairness sentence; standard input and embedded names", () => {
    const out = run(["compare", "-", "--model", "lens-gpt2-byte", "--model", words], "red blue green blue");
    assert.equal(out.status, 0, out.stderr);
    for (const row of [
      "tokens",
      "characters per token",
      "bytes per token",
      "token perplexity",
      "word perplexity",
      "byte perplexity",
      "bits per byte",
      "NLL (bits)",
    ]) {
      assert.match(out.stdout, new RegExp(`^ {2}${row.replace(/[()]/g, "\\$&")} `, "m"), row);
    }
    assert.match(out.stdout, /^ {2}tokens +19 +4$/m);
    assert.match(out.stdout, /compare fairly/);
  });

  test("usage errors exit 2, failures exit 1, each with one sentence", () => {
    const one = run(["compare", file, "--model", sum]);
    assert.equal(one.status, 2);
    oneSentenceError(one.stderr);
    const noFile = run(["compare", "--model", sum, "--model", words]);
    assert.equal(noFile.status, 2);
    oneSentenceError(noFile.stderr);
    const missing = run(["compare", file, "--model", sum, "--model", path.join(tmp, "nowhere")]);
    assert.equal(missing.status, 1);
    oneSentenceError(missing.stderr);
    const help = run(["compare", "--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /compare FILE/);
    assert.match(run(["--help"]).stdout, /compare FILE\|- --model DIR --model DIR/);
  });
});
