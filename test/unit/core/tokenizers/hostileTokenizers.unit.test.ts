/**
 * Hostile tokenizer.json files are refused at load, fast, in one sentence naming tokenizer.json and the part: a regex
 * with nested repetition (exponential backtracking in the library's JavaScript RegExp) and a normalizer that can blow
 * the text up. Every shipped and fixture tokenizer, and the standard split patterns, still pass; the model loaded
 * before keeps scoring.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine } from "../../../../src/core/engine";
import { EngineError } from "../../../../src/core/engineError";
import { TextTokenizer } from "../../../../src/core/tokenizers/textTokenizer";
import {
  hasCatastrophicBacktracking,
  MAX_EXPANSION,
  regexMinLength,
  tokenizerSafetyProblem,
  UNICODE_EXPANSION,
  UnsafeTokenizerError,
} from "../../../../src/core/tokenizers/tokenizerSafety";
import { embeddedModelDir, repoRoot } from "../../../helpers/paths";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-hostile-tok-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const MODEL = embeddedModelDir("lens-gpt2-bpe4k");
const baseJson = (): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(MODEL, "tokenizer.json"), "utf8")) as Record<string, unknown>;

/** The standard split patterns (GPT-2, Llama 3, Qwen 2, GPT-4o, DeepSeek-style digit groups), which must pass. */
const STANDARD_PATTERNS = [
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "[\\r\\n]",
  "\\s?[A-Za-z\\u00C0-\\u024F]+",
  "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
  "\\p{N}{1,3}+", // nested, but nothing follows it
  "(?:\\r?\\n)+",
  " {2,}",
];

function splitTokenizer(pattern: string): Record<string, unknown> {
  return {
    ...baseJson(),
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
  };
}

function refusal(json: Record<string, unknown>): string {
  const started = Date.now();
  try {
    TextTokenizer.fromJson(json, null);
  } catch (e) {
    assert.ok(Date.now() - started < 2000, "refused at once");
    assert.ok(e instanceof UnsafeTokenizerError, String(e));
    return e.message;
  }
  assert.fail("the tokenizer was accepted");
}

describe("tokenizer.json regexes", () => {
  test("every shipped and fixture tokenizer passes the checks and loads", () => {
    const files = [
      ...fs.readdirSync(path.join(repoRoot, "models")).map((m) => path.join(repoRoot, "models", m, "tokenizer.json")),
      ...fs.readdirSync(path.join(repoRoot, "test/fixtures/tokenizers")).map((t) => path.join(repoRoot, "test/fixtures/tokenizers", t, "tokenizer.json")),
      path.join(repoRoot, "test/fixtures/lens-gpt2-bpe4k-nolora/tokenizer.json"),
    ].filter((f) => fs.existsSync(f));
    assert.ok(files.length >= 8, files.join(", "));
    for (const file of files) {
      const json = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
      assert.equal(tokenizerSafetyProblem(json), null, file);
      const config = path.join(path.dirname(file), "tokenizer_config.json");
      TextTokenizer.fromJson(json, fs.existsSync(config) ? JSON.parse(fs.readFileSync(config, "utf8")) : null);
    }
  });

  test("the standard split patterns pass, and a tokenizer with them encodes", () => {
    for (const pattern of STANDARD_PATTERNS) {
      assert.equal(hasCatastrophicBacktracking(pattern), false, pattern);
      const tokenizer = TextTokenizer.fromJson(splitTokenizer(pattern), null);
      assert.ok(tokenizer.encode("Hello world, it's 2026 and 12345 tokens.\n\n").ids.length > 0, pattern);
    }
  });

  test("nested repetition is refused; the one sentence names tokenizer.json, the part and the pattern", () => {
    for (const pattern of [
      "^(\\w+\\s?)*$",
      "(a+)+b",
      "(?:\\p{L}+\\s?)+x",
      "(a*)*$",
      "((ab)*c?)+d",
      "(?:x{1,5})+y",
      "(\\d+){2,}z",
      "(?=(a+)+)b",
      "(?:(a+)+b)+",
    ]) {
      assert.equal(hasCatastrophicBacktracking(pattern), true, pattern);
    }
    const plain = { ...baseJson(), pre_tokenizer: { type: "Split", pattern: { Regex: "^(\\w+\\s?)*$" }, behavior: "Isolated", invert: false } };
    assert.equal(refusal(plain), 'tokenizer.json: pre_tokenizer Split pattern "^(\\w+\\s?)*$" can take exponential time (nested repetition); refused.');
    assert.equal(
      refusal(splitTokenizer("(a+)+b")),
      'tokenizer.json: pre_tokenizer Sequence step 1 Split pattern "(a+)+b" can take exponential time (nested repetition); refused.',
    );
    const normalizer = { ...baseJson(), normalizer: { type: "Replace", pattern: { Regex: "(\\s+x?)+y" }, content: " " } };
    assert.match(refusal(normalizer), /^tokenizer\.json: normalizer Replace pattern "\(\\s\+x\?\)\+y" can take exponential time/);
    const decoder = { ...baseJson(), decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { Regex: "(.+)+!" }, content: "" }] } };
    assert.match(refusal(decoder), /^tokenizer\.json: decoder Sequence step 1 Replace pattern/);
  });

  test("the pattern that took 11 s for 44 characters is refused before the library sees it, and the engine keeps its model", async () => {
    const dir = path.join(tmp, "hostile");
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(MODEL)) {
      const from = path.join(MODEL, f);
      if (fs.statSync(from).isDirectory()) fs.cpSync(from, path.join(dir, f), { recursive: true });
      else fs.copyFileSync(from, path.join(dir, f));
    }
    fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(splitTokenizer("^(\\w+\\s?)*$")));
    const engine = new Engine();
    try {
      await engine.loadModel(MODEL, { source: "embedded" });
      const before = await engine.score("d", "The model loaded before keeps scoring.", { method: "sliding", window: 0, stride: 0, topK: 1 });
      await assert.rejects(
        engine.loadModel(dir),
        (e: unknown) =>
          e instanceof EngineError &&
          e.code === "modelError" &&
          e.message ===
            `${dir}/tokenizer.json: pre_tokenizer Sequence step 1 Split pattern "^(\\w+\\s?)*$" can take exponential time (nested repetition); refused.`,
      );
      const after = await engine.score("d2", "The model loaded before keeps scoring.", { method: "sliding", window: 0, stride: 0, topK: 1 });
      assert.deepEqual(after.tokens, before.tokens);
    } finally {
      await engine.dispose();
    }
  });

  test("the shortest match of a pattern", () => {
    assert.equal(regexMinLength("ab+"), 2);
    assert.equal(regexMinLength("a|bc"), 1);
    assert.equal(regexMinLength("\\s*"), 0);
    assert.equal(regexMinLength("(?=x)\\p{L}{2,3}"), 2);
    assert.equal(regexMinLength("[a-z]\\b"), 1);
  });
});

describe("tokenizer.json normalizers that blow the text up", () => {
  test("a Sequence of 30 Replace steps that each triple the text is refused in one sentence naming the normalizer", () => {
    const triple = { type: "Replace", pattern: { String: "a" }, content: "aaa" };
    const json = { ...baseJson(), normalizer: { type: "Sequence", normalizers: Array.from({ length: 30 }, () => triple) } };
    assert.equal(
      refusal(json),
      `tokenizer.json: normalizer Sequence can make the text up to ${(3 ** 30).toExponential(2)} times longer (more than ${MAX_EXPANSION}); refused.`,
    );
    // Three steps (27×) are within the bound.
    const few = { ...baseJson(), normalizer: { type: "Sequence", normalizers: [triple, triple, triple] } };
    assert.equal(tokenizerSafetyProblem(few), null);
  });

  test("replacement strings that copy the match or the text around it count", () => {
    const json = (content: string, pattern: object = { Regex: "." }) => ({ ...baseJson(), normalizer: { type: "Replace", pattern, content } });
    assert.match(refusal(json("$'")), /^tokenizer\.json: normalizer Replace can make the text without bound longer/);
    assert.match(refusal(json("$&".repeat(70))), /up to 70 times longer/);
    assert.match(refusal(json("x".repeat(100), { String: "" })), /up to 101 times longer/);
    assert.equal(tokenizerSafetyProblem(json("$$", { String: "$" })), null);
    assert.match(refusal({ ...baseJson(), normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "NFKD" }] } }), /up to 324 times/);
    assert.equal(tokenizerSafetyProblem({ ...baseJson(), normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] } }), null);
  });

  test("the Unicode expansion bounds hold for every code point", () => {
    const most = { NFC: 0, NFD: 0, NFKC: 0, NFKD: 0, lowercase: 0 };
    for (let c = 0; c <= 0x10ffff; c += c < 0x30000 ? 1 : 0x100) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCodePoint(c);
      for (const form of ["NFC", "NFD", "NFKC", "NFKD"] as const) most[form] = Math.max(most[form], s.normalize(form).length / s.length);
      most.lowercase = Math.max(most.lowercase, s.toLowerCase().length / s.length);
    }
    for (const key of Object.keys(most) as Array<keyof typeof most>) assert.ok(most[key] <= UNICODE_EXPANSION[key], `${key}: ${most[key]}`);
  });
});
