/**
 * Awkward documents through the Engine and the command line: empty, whitespace only, CRLF and mixed line endings,
 * every Unicode plane, lone surrogates, special-token strings, NUL bytes (refused as binary), invalid UTF-8 (the CLI
 * scores it with U+FFFD and warns), and one 5 MB line. Offsets stay valid and cover the text; every number in a result
 * is finite or null (perplexity of an unscorable text is null in JSON and "—" in the UI, never NaN or Infinity).
 */
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, EngineError, type DocumentScore } from "../../../src/core/engine";
import { formatPerplexity, formatBitsPerByte } from "../../../src/extension/statusText";
import { constantWordsFolder, runningSumFolder } from "../../helpers/onnxBuilder";
import { assertFiniteOrNull, oneSentence, runCliBatch } from "../../helpers/reliabilityChecks";
import { embeddedModelDir } from "../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-baddoc-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const embeddedDir = embeddedModelDir("lens-gpt2-bpe4k");
const hasEmbedded = fs.existsSync(path.join(embeddedDir, "onnx", "model.onnx"));
const options = { method: "sliding" as const, window: 0, stride: 0, topK: 3 };

/** One character from every Unicode plane (0–16), including private use, tags and the last code point. */
const EVERY_PLANE = [
  0x41, 0x10348, 0x20bb7, 0x30000, 0x40000, 0x50000, 0x60000, 0x70000, 0x80000, 0x90000, 0xa0000, 0xb0000, 0xc0000, 0xd0000, 0xe0041, 0xf0000, 0x10fffd,
]
  .map((cp) => String.fromCodePoint(cp))
  .join(" ");

const AWKWARD_TEXTS: Array<[string, string]> = [
  ["empty", ""],
  ["one space", " "],
  ["whitespace only", " \t\n\n   \r\n\t  \u00a0\u2003\u3000"],
  ["CRLF line endings", "first line\r\nsecond line\r\nthird\r\n"],
  ["mixed line endings", "unix\nwindows\r\nold mac\rmixed\n\r\n\r\rend"],
  ["every Unicode plane", EVERY_PLANE],
  ["lone high surrogate", "before \ud800 after"],
  ["lone low surrogate", "before \udc00 after"],
  ["reversed surrogate pair", "x\udc00\ud800y"],
  ["surrogate at the end", "ends with \ud83d"],
  ["byte order mark", "\ufeffstarts with a BOM"],
  ["special-token strings", "<|endoftext|>text<|endoftext|> <s></s><unk>[CLS]"],
  ["combining marks and ZWJ emoji", "e\u0301 n\u0303 👩‍👩‍👧‍👦 🏳️‍🌈 क्षि"],
  ["right-to-left and controls", "שלום عالم \u202e reversed \u202c \u0007\u001b[31m"],
  ["a single newline", "\n"],
];

/** Offsets valid ([start, end) inside the text, ordered, not overlapping) and, for a byte-level tokenizer, covering. */
function assertOffsetsCover(text: string, result: DocumentScore, covering: boolean, what: string): void {
  let previousEnd = 0;
  for (const [i, t] of result.tokens.entries()) {
    assert.ok(Number.isInteger(t.start) && Number.isInteger(t.end), `${what}: token ${i} has integer offsets`);
    assert.ok(
      t.start >= previousEnd && t.end >= t.start && t.end <= text.length,
      `${what}: token ${i} [${t.start}, ${t.end}) after ${previousEnd}, within ${text.length}`,
    );
    if (covering) assert.equal(t.start, previousEnd, `${what}: token ${i} starts where the previous ended (no gap)`);
    previousEnd = t.end;
  }
  if (covering) assert.equal(previousEnd, text.length, `${what}: the tokens reach the end of the text`);
}

describe("awkward documents through the Engine", () => {
  let engine: Engine;
  let covering = true;
  before(async () => {
    engine = new Engine();
    const info = await engine.loadModel(hasEmbedded ? embeddedDir : runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 }));
    covering = /byte-level/i.test(info.tokenizerType ?? "");
  });
  after(() => engine.dispose());

  for (const [name, text] of AWKWARD_TEXTS) {
    test(`${name}: offsets valid${name === "empty" ? "" : " and covering"}, every number finite or null`, async () => {
      const result = await engine.score(`doc-${name}`, text, options);
      assertOffsetsCover(text, result, covering, name);
      const numbers = assertFiniteOrNull(result);
      assert.ok(numbers > 0);
      assert.ok(!/NaN|Infinity/.test(JSON.stringify(result.metrics)));
      if (result.metrics.scoredTokens === 0) {
        assert.equal(result.metrics.tokenPerplexity, null);
        assert.equal(result.metrics.bitsPerByte, null);
        assert.equal(formatPerplexity(result.metrics.tokenPerplexity), "—");
        assert.equal(formatBitsPerByte(result.metrics.bitsPerByte), "—");
      } else {
        assert.ok(result.metrics.tokenPerplexity! >= 1);
      }
      // The same text again (incremental path) gives the same numbers.
      const again = await engine.score(`doc-${name}`, text, options);
      assert.deepEqual(
        again.tokens.map((t) => [t.id, t.start, t.end, t.logprob]),
        result.tokens.map((t) => [t.id, t.start, t.end, t.logprob]),
      );
    });
  }

  test("the empty text has no tokens and undefined perplexities (null), never NaN", async () => {
    const result = await engine.score("empty", "", options);
    assert.equal(result.tokens.length, 0);
    for (const key of ["tokenPerplexity", "wordPerplexity", "bytePerplexity", "bitsPerByte", "nllStdErr"] as const)
      assert.equal(result.metrics[key], null, key);
    assert.equal(result.metrics.nll, 0);
  });

  test("NUL characters: refused as binary in one sentence, and the engine keeps scoring", async () => {
    await assert.rejects(engine.score("bin", "PK\u0003\u0004\u0000\u0000binary", options), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, "badInput");
      assert.equal(e.message, "The text contains NUL characters, so it looks binary and is not scored.");
      oneSentence(e.message);
      return true;
    });
    const ok = await engine.score("bin", "plain text again", options);
    assert.ok(ok.tokens.length > 0);
  });
});

describe("one 5 MB line", () => {
  test("a 5 MB line without a line break is tokenized, scored and reported (timed, not asserted on time)", async () => {
    // 1000-character words so the line is 5 MB but only ~5k tokens; the constant model gives each of the ten words
    // probability 1/10, so the perplexity is exactly 10 whatever the line's length.
    const words = Array.from({ length: 10 }, (_, i) => String.fromCharCode(97 + i).repeat(999));
    const dir = constantWordsFolder(path.join(tmp, "words"), words, new Array(10).fill(0));
    let line = "";
    for (let i = 0; line.length < 5 * 1024 * 1024; i++) line += (i === 0 ? "" : " ") + words[(i * 7) % 10];
    const engine = new Engine();
    try {
      await engine.loadModel(dir);
      const started = Date.now();
      const result = await engine.score("huge", line, { method: "sliding", window: 0, stride: 0, topK: 1 });
      const millis = Date.now() - started;
      console.log(`[reliability] one line of ${line.length.toLocaleString("en-US")} characters: ${result.tokens.length} tokens scored in ${millis} ms`);
      assert.equal(result.tokens.length, Math.ceil(line.length / 1000));
      assert.ok(Math.abs(result.metrics.tokenPerplexity! - 10) < 1e-6, `perplexity ${result.metrics.tokenPerplexity}`);
      assertOffsetsCover(line, result, false, "5 MB line");
      assert.equal(result.tokens.at(-1)!.end, line.length);
      assertFiniteOrNull(result.metrics);
      const file = path.join(tmp, "huge.txt");
      fs.writeFileSync(file, line);
      const cliStarted = Date.now();
      const [cli] = runCliBatch([["score", file, "--model", dir, "--csv", "--top", "1", "--max-document-size", String(line.length + 1)]]);
      console.log(
        `[reliability] the same line through the command line (CSV): exit ${cli!.code} in ${Date.now() - cliStarted} ms (process start and model load included)`,
      );
      assert.equal(cli!.code, 0, cli!.stderr);
      assert.equal(cli!.stdout.trim().split("\n").length, result.tokens.length + 1, "a header and one row per token");
    } finally {
      await engine.dispose();
    }
  });
});

describe("awkward files through the command line", () => {
  test("empty, whitespace, CRLF and every-plane files print JSON with null (never NaN) perplexities; binary is refused; invalid UTF-8 is scored with a warning", () => {
    const model = hasEmbedded ? embeddedDir : runningSumFolder(path.join(tmp, "sum-cli"), { dim: 8, positions: 64 });
    const files: Array<[string, Buffer]> = [
      ["empty.txt", Buffer.alloc(0)],
      ["whitespace.txt", Buffer.from(" \t\r\n\n  ")],
      ["crlf.txt", Buffer.from("one\r\ntwo\r\nthree\rfour\n")],
      ["planes.txt", Buffer.from(EVERY_PLANE, "utf8")],
      ["binary.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d])],
      // Latin-1 "café" and a truncated 4-byte sequence: two invalid sequences.
      ["latin1.txt", Buffer.concat([Buffer.from("caf"), Buffer.from([0xe9]), Buffer.from(" ok "), Buffer.from([0xf0, 0x9f, 0x98])])],
      ["literal-replacement.txt", Buffer.from("already \ufffd valid")],
    ];
    for (const [name, bytes] of files) fs.writeFileSync(path.join(tmp, name), bytes);
    const runs = files.map(([name]) => ["score", path.join(tmp, name), "--model", model, "--json"]);
    runs.push(["score", path.join(tmp, "empty.txt"), "--model", model]);
    const results = runCliBatch(runs);
    const byName = new Map(files.map(([name], i) => [name, results[i]!]));

    for (const name of ["empty.txt", "whitespace.txt", "crlf.txt", "planes.txt", "literal-replacement.txt"]) {
      const r = byName.get(name)!;
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stderr, "", `${name}: no warning for valid UTF-8`);
      assert.ok(!/NaN|Infinity/.test(r.stdout), `${name}: no NaN or Infinity in the JSON`);
      const report = JSON.parse(r.stdout) as { metrics: Record<string, unknown>; tokens: unknown[] };
      assertFiniteOrNull(report, name);
    }
    const empty = JSON.parse(byName.get("empty.txt")!.stdout) as { metrics: Record<string, unknown>; tokens: unknown[] };
    assert.equal(empty.tokens.length, 0);
    assert.equal(empty.metrics["tokenPerplexity"], null);
    assert.equal(empty.metrics["bitsPerByte"], null);
    assert.match(byName.get("empty.txt")!.stdout, /"tokenPerplexity":null/);

    const binary = byName.get("binary.png")!;
    assert.equal(binary.code, 1);
    assert.equal(binary.stdout, "");
    assert.equal(binary.stderr, `perplexity-lens: ${path.join(tmp, "binary.png")} contains NUL bytes, so it looks binary and is not scored.\n`);

    const latin1 = byName.get("latin1.txt")!;
    assert.equal(latin1.code, 0, latin1.stderr);
    assert.equal(
      latin1.stderr,
      `perplexity-lens: warning: ${path.join(tmp, "latin1.txt")} is not valid UTF-8; 2 invalid byte sequences were replaced with U+FFFD before scoring.\n`,
    );
    const report = JSON.parse(latin1.stdout) as { tokens: Array<{ start: number; end: number }> };
    assert.equal(report.tokens.at(-1)!.end, "caf\ufffd ok \ufffd".length, "offsets are into the text with replacement characters");

    const table = results[files.length]!;
    assert.equal(table.code, 0, table.stderr);
    assert.ok(!/NaN|Infinity/.test(table.stdout), "the summary table of an empty file shows no NaN or Infinity");
  });
});
