/**
 * The tokenizer comparison's numbers:
 * - hand-computed values on a small text for two in-test models with different tokenizers (bytes, whole words) and
 *   constant logits, so every NLL is a closed form: bits per byte = NLL / (UTF-8 bytes · ln 2), word perplexity
 *   = exp(NLL / W) with W the /\s+/ word count, charsPerToken, bytesPerToken, NLL in bits, and the verdict;
 * - the same identities for every embedded model on a small mixed text with hand-counted bytes and words;
 * - tokenizer-only entries (a folder with just tokenizer.json): counts and boundaries, no perplexity.
 * The reproduction of the model kit's validation figures is in compareValidation.unit.test.ts.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compareModels, comparisonReports, classifyComparisonFolder, type Comparison } from "../../../src/core/compare";
import { Engine } from "../../../src/core/engine";
import { TextTokenizer } from "../../../src/core/tokenizers/textTokenizer";
import { byteTokenizer, constantLogitsModel, constantWordsFolder, gpt2Config, wordTokenizer, writeModelFolder } from "../../helpers/onnxBuilder";
import { committedArtifact, repoRoot } from "../../helpers/paths";

const root = repoRoot;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-compare-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function close(actual: number | null | undefined, expected: number, what: string, relative = 1e-6): void {
  assert.ok(actual !== null && actual !== undefined, `${what} is ${String(actual)}`);
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

// "the cat sat" (11 bytes) + "\n" + "the  cat" (8 bytes): 20 bytes, 20 UTF-16 units, 5 words (/\s+/ pieces).
const TEXT = "the cat sat\nthe  cat";
const TEXT_BYTES = 20;
const TEXT_WORDS = 5;
const TEXT_DISTINCT_BYTES = [..."the cas\n"].map((c) => c.charCodeAt(0)); // t h e ' ' c a s '\n'

/** Byte tokenizer (id = byte, 256 = <|endoftext|>) with constant logits: 0 for the 8 bytes of TEXT, −1e9 elsewhere → p = 1/8 each. */
function byteModelFolder(): string {
  const row = new Array<number>(257).fill(-1e9);
  for (const b of TEXT_DISTINCT_BYTES) row[b] = 0;
  const { tokenizer, config } = byteTokenizer();
  return writeModelFolder(path.join(tmp, "bytes-eighth"), {
    config: gpt2Config(257, 1, 1, 4, 64),
    tokenizer,
    tokenizerConfig: config,
    onnx: constantLogitsModel(row),
  });
}

/** Whole-word tokenizer over {the, cat, sat, zzz}; logits 0, 0, 0, ln 997 → p(the) = p(cat) = p(sat) = 1/1000. */
function wordModelFolder(): string {
  return constantWordsFolder(path.join(tmp, "words-thousandth"), ["the", "cat", "sat", "zzz"], [0, 0, 0, Math.log(997)]);
}

describe("compare: hand-computed values on a small text", () => {
  let comparison: Comparison;
  test("two tokenizers, constant logits: every metric equals its closed form", async () => {
    comparison = await compareModels(
      TEXT,
      [
        { path: byteModelFolder(), name: "bytes" },
        { path: wordModelFolder(), name: "words" },
      ],
      { method: "rolling", window: 0, stride: 0 },
    );
    assert.equal(comparison.characters, 20);
    assert.equal(comparison.bytes, TEXT_BYTES);
    assert.equal(comparison.words, TEXT_WORDS);
    const [bytes, words] = comparison.entries;
    assert.ok(bytes && words);

    // Byte model: 20 tokens, each −ln(1/8): NLL = 20 ln 8 = 60 ln 2.
    const byteNll = 20 * Math.log(8);
    assert.equal(bytes.metrics.tokens, 20);
    assert.equal(bytes.metrics.scoredTokens, 20);
    close(bytes.metrics.nll, byteNll, "byte NLL", 1e-6);
    close(bytes.metrics.nllBits, 60, "byte NLL in bits", 1e-6);
    close(bytes.metrics.bitsPerByte, byteNll / (TEXT_BYTES * Math.LN2), "byte model bits per byte = NLL / (bytes · ln 2)");
    close(bytes.metrics.bitsPerByte, 3, "byte model bits per byte (log2 8)");
    close(bytes.metrics.tokenPerplexity, 8, "byte model token perplexity");
    close(bytes.metrics.bytePerplexity, 8, "byte model byte perplexity");
    close(bytes.metrics.wordPerplexity, Math.exp(byteNll / TEXT_WORDS), "byte model word perplexity = exp(NLL / words)");
    close(bytes.metrics.wordPerplexity, 4096, "byte model word perplexity (8^(20/5))");
    close(bytes.metrics.charsPerToken, 1, "byte model chars per token");
    close(bytes.metrics.bytesPerToken, 1, "byte model bytes per token");

    // Word model: 5 tokens, each −ln(1/1000): NLL = 5 ln 1000.
    const wordNll = 5 * Math.log(1000);
    assert.equal(words.metrics.tokens, 5);
    close(words.metrics.nll, wordNll, "word NLL");
    close(words.metrics.nllBits, 5 * Math.log2(1000), "word NLL in bits");
    close(words.metrics.bitsPerByte, wordNll / (TEXT_BYTES * Math.LN2), "word model bits per byte = NLL / (bytes · ln 2)");
    close(words.metrics.bitsPerByte, Math.log2(1000) / 4, "word model bits per byte (log2 1000 / 4)");
    close(words.metrics.tokenPerplexity, 1000, "word model token perplexity");
    close(words.metrics.wordPerplexity, 1000, "word model word perplexity (tokens = words)");
    close(words.metrics.bytePerplexity, Math.pow(1000, 5 / 20), "word model byte perplexity");
    close(words.metrics.charsPerToken, 4, "word model chars per token");
    close(words.metrics.bytesPerToken, 4, "word model bytes per token");

    // The identity the verdict explains: token perplexity = 2^(bits per byte × bytes per token).
    for (const e of comparison.entries)
      close(e.metrics.tokenPerplexity, Math.pow(2, e.metrics.bitsPerByte! * e.metrics.bytesPerToken!), `${e.model.name}: token ppl = 2^(bpb · bytes/token)`);
  });

  test("boundaries and surprisal per token", () => {
    const [bytes, words] = comparison.entries;
    assert.deepEqual(
      words!.tokens.map((t) => [t.start, t.end]),
      [
        [0, 3],
        [4, 7],
        [8, 11],
        [12, 15],
        [17, 20],
      ],
    );
    for (const t of words!.tokens) close(t.bits, Math.log2(1000), "word surprisal");
    assert.deepEqual(
      bytes!.tokens.map((t) => [t.start, t.end]),
      [...TEXT].map((_, i) => [i, i + 1]),
    );
    for (const t of bytes!.tokens) close(t.bits, 3, "byte surprisal");
  });

  test("the verdict: token perplexity favours the byte model, bits per byte the word model, and the sentence says so with the numbers", () => {
    const v = comparison.verdict;
    assert.equal(v.sameTokenization, false);
    assert.deepEqual(v.rankingByBitsPerByte, [1, 0]);
    assert.deepEqual(v.rankingByTokenPerplexity, [0, 1]);
    assert.match(v.sentence, /Token perplexity is not comparable/);
    assert.match(v.sentence, /the same text is 20 tokens for bytes and 5 for words, so/);
    assert.match(v.sentence, /same 20 bytes and 5 words/);
    const fewer = ((1 - Math.log2(1000) / 4 / 3) * 100).toFixed(1); // 17.0
    assert.ok(
      v.sentence.includes(`words is better per byte, ${(Math.log2(1000) / 4).toFixed(3)} against 3.000 bits per byte for bytes (${fewer}% fewer bits)`),
      v.sentence,
    );
    assert.match(v.sentence, /Per token, bytes looks better \(token perplexity 8\.00 against 1000\)/);
    const more = ((3 / (Math.log2(1000) / 4) - 1) * 100).toFixed(0); // 20
    assert.ok(v.sentence.includes(`per byte it needs 3.000 bits, ${more}% more than words.`), v.sentence);
  });

  test("the same tokenizer twice: token perplexity is called comparable", async () => {
    const other = constantWordsFolder(path.join(tmp, "words-other"), ["the", "cat", "sat", "zzz"], [0, 0, 0, Math.log(97)]);
    const c = await compareModels(TEXT, [{ path: wordModelFolder() }, { path: other }], { method: "sliding", window: 0, stride: 0 });
    assert.equal(c.verdict.sameTokenization, true);
    close(c.entries[1]!.metrics.tokenPerplexity, 100, "p = 1/100");
    assert.match(c.verdict.sentence, /same 5 tokens, so token perplexity compares fairly/);
    assert.deepEqual(c.verdict.rankingByBitsPerByte, [1, 0]);
  });

  test("--json shape: {model, method, metrics} per entry, no tokens", () => {
    const reports = comparisonReports(comparison);
    assert.equal(reports.length, 2);
    for (const r of reports) {
      assert.deepEqual(Object.keys(r).sort(), ["method", "metrics", "model"]);
      assert.ok(typeof r.metrics.charsPerToken === "number" && typeof r.metrics.bytesPerToken === "number");
    }
  });

  test("fewer than two targets, a folder with neither model nor tokenizer, and a NUL are refused in one sentence", async () => {
    await assert.rejects(compareModels(TEXT, [{ path: wordModelFolder() }]), /at least two/);
    const empty = fs.mkdtempSync(path.join(tmp, "empty-"));
    assert.throws(() => classifyComparisonFolder(empty), /neither a model .* nor a tokenizer\.json\.$/);
    await assert.rejects(compareModels("a\u0000b", [{ path: wordModelFolder() }, { path: byteModelFolder() }]), /NUL/);
  });
});

describe("compare: tokenizer-only folders", () => {
  test("a folder with just tokenizer.json gives counts and boundaries, no perplexity", async () => {
    const wordsOnly = path.join(tmp, "tokenizer-only-words");
    fs.mkdirSync(wordsOnly);
    const { tokenizer } = wordTokenizer(["the", "cat", "sat"]);
    fs.writeFileSync(path.join(wordsOnly, "tokenizer.json"), JSON.stringify(tokenizer)); // no tokenizer_config.json
    const llamaOnly = path.join(tmp, "tokenizer-only-llama");
    fs.mkdirSync(llamaOnly);
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(root, "models/lens-llama-sp", f), path.join(llamaOnly, f));
    assert.equal(classifyComparisonFolder(wordsOnly), "tokenizer");

    const c = await compareModels(TEXT, [{ path: wordsOnly }, { path: llamaOnly }, { path: byteModelFolder(), name: "bytes" }]);
    const [words, llama, bytes] = c.entries;
    assert.equal(words!.model.kind, "tokenizer");
    assert.equal(words!.method, null);
    assert.deepEqual(
      words!.tokens.map((t) => [t.start, t.end, t.bits]),
      [
        [0, 3, null],
        [4, 7, null],
        [8, 11, null],
        [12, 15, null],
        [17, 20, null],
      ],
    );
    assert.equal(words!.metrics.tokens, 5);
    assert.equal(words!.metrics.scoredTokens, 0);
    assert.equal(words!.metrics.bytes, 20);
    assert.equal(words!.metrics.words, 5);
    assert.equal(words!.metrics.charsPerToken, 4);
    assert.equal(words!.metrics.bytesPerToken, 4);
    for (const key of ["tokenPerplexity", "wordPerplexity", "bytePerplexity", "bitsPerByte", "nllBits"] as const) assert.equal(words!.metrics[key], null, key);

    const expected = TextTokenizer.fromJson(
      JSON.parse(fs.readFileSync(path.join(llamaOnly, "tokenizer.json"), "utf8")),
      JSON.parse(fs.readFileSync(path.join(llamaOnly, "tokenizer_config.json"), "utf8")),
    ).encode(TEXT);
    assert.deepEqual(
      llama!.tokens.map((t) => [t.start, t.end]),
      expected.offsets,
    );
    assert.equal(llama!.metrics.tokens, expected.ids.length);
    close(llama!.metrics.bytesPerToken, 20 / expected.ids.length, "llama bytes per token");
    assert.match(llama!.model.tokenizerType, /SentencePiece/);
    assert.equal(bytes!.model.kind, "model");
    assert.match(c.verdict.sentence, /^Only bytes has a model \(3\.000 bits per byte, token perplexity 8\.00\)/);
    assert.match(
      c.verdict.sentence,
      /Tokenizer only: tokenizer-only-words splits it into 5 tokens \(4\.00 bytes per token\) and tokenizer-only-llama splits it into \d+ tokens/,
    );
  });
});

describe("compare: the embedded models on a small text", () => {
  // 52 UTF-16 units (😀 is a surrogate pair); 56 UTF-8 bytes: 48 ASCII + ö (2) + 😀 (4) + é (2); 11 /\s+/ pieces.
  const text = "Hello, wörld! 😀 def f(x):\n    return x * 2  # café\n";
  const bytes = Buffer.byteLength(text, "utf8");
  test("the hand counts of the text", () => {
    assert.equal(bytes, 56);
    assert.equal(text.length, 52);
  });
  const WORDS = ["Hello,", "wörld!", "😀", "def", "f(x):", "return", "x", "*", "2", "#", "café"].length; // 11

  test("every embedded model: bits per byte = NLL / (bytes · ln 2), word perplexity = exp(NLL / 11), ratios from the counts", async () => {
    const names = ["lens-gpt2-bpe4k", "lens-gpt2-byte", "lens-llama-sp"];
    // One of them through an already loaded engine (kept loaded), the others in engines of their own.
    const loaded = new Engine();
    await loaded.loadModel(path.join(root, "models", names[0]!));
    const progress: string[] = [];
    const c = await compareModels(
      text,
      names.map((n) => ({ path: path.join(root, "models", n), source: "embedded" as const })),
      { method: "rolling", window: 0, stride: 0 },
      {
        loadedEngine: loaded,
        onProgress: (p) => progress.push(`${p.index}/${p.count} ${p.name}`),
      },
    );
    assert.ok(loaded.modelInfo !== null, "the loaded engine keeps its model");
    assert.deepEqual(
      [...new Set(progress)],
      names.map((n, i) => `${i}/3 ${n}`),
    );
    assert.equal(c.bytes, 56);
    assert.equal(c.words, WORDS);
    for (const e of c.entries) {
      const m = e.metrics;
      assert.equal(m.bytes, 56, e.model.name);
      assert.equal(m.words, 11, e.model.name);
      assert.equal(m.scoredTokens, m.tokens, `${e.model.name}: every token scored`);
      close(m.bitsPerByte, m.nll / (56 * Math.LN2), `${e.model.name} bits per byte`, 1e-12);
      close(m.wordPerplexity, Math.exp(m.nll / 11), `${e.model.name} word perplexity`, 1e-12);
      close(m.bytePerplexity, Math.exp(m.nll / 56), `${e.model.name} byte perplexity`, 1e-12);
      close(m.tokenPerplexity, Math.exp(m.nll / m.tokens), `${e.model.name} token perplexity`, 1e-12);
      close(m.nllBits, m.nll / Math.LN2, `${e.model.name} NLL bits`, 1e-12);
      close(m.charsPerToken, 52 / m.tokens, `${e.model.name} chars per token`, 1e-12);
      close(m.bytesPerToken, 56 / m.tokens, `${e.model.name} bytes per token`, 1e-12);
      const sumBits = e.tokens.reduce((s, t) => s + (t.bits ?? 0), 0);
      close(sumBits, m.nllBits!, `${e.model.name}: per-token surprisal adds up to the NLL`, 1e-9);
    }
    // The byte tokenizer: one token per UTF-8 byte.
    assert.equal(c.entries[1]!.metrics.tokens, 56);
    await loaded.dispose();
  });

  const adapterDir = path.join(root, "models/lens-gpt2-bpe4k/adapters/typescript-code");
  test("a loaded model with a LoRA adapter on is compared with it, and its name says so", async () => {
    committedArtifact(path.relative(root, adapterDir), "npm run models");
    const dir = path.join(root, "models/lens-gpt2-bpe4k");
    const loaded = new Engine();
    await loaded.loadModel(dir);
    await loaded.setAdapters([{ name: "typescript-code", scale: 1 }]);
    const c = await compareModels(
      text,
      [{ path: dir }, { path: path.join(root, "models/lens-gpt2-byte") }],
      { method: "rolling", window: 0, stride: 0 },
      { loadedEngine: loaded },
    );
    const plain = await compareModels(text, [{ path: dir }, { path: path.join(root, "models/lens-gpt2-byte") }], { method: "rolling", window: 0, stride: 0 });
    assert.equal(c.entries[0]!.model.name, "lens-gpt2-bpe4k + typescript-code × 1");
    assert.deepEqual(c.entries[0]!.method?.adapters, [{ name: "typescript-code", scale: 1 }]);
    assert.equal(plain.entries[0]!.model.name, "lens-gpt2-bpe4k");
    assert.notEqual(c.entries[0]!.metrics.nll, plain.entries[0]!.metrics.nll, "the adapter changes the numbers");
    assert.equal(c.entries[1]!.metrics.nll, plain.entries[1]!.metrics.nll, "the other model is unaffected");
    await loaded.dispose();
  });
});
