/**
 * Seeded fuzz of the engine on the default model: random Unicode (all planes, lone surrogates, whitespace runs, line
 * endings, special-token strings) and random edit sequences (inserts, deletes, replacements, at any UTF-16 index, so
 * surrogate pairs get split). After every edit the incremental rescore must equal a full rescore of the same text
 * (ids and offsets equal, log-probabilities and entropies within 1e-5, ranks equal), offsets must be valid and cover
 * the text, and every number must be finite or null.
 *
 * Size: LENS_FUZZ_TEXTS (default 12) texts × LENS_FUZZ_EDITS (default 6) edits; LENS_FUZZ_SEED picks the sequence.
 * The run prints texts × edits × tokens for the closing note.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, type DocumentScore } from "../../../src/core/engine";
import { runningSumFolder, seededRandom } from "../../helpers/onnxBuilder";
import { assertFiniteOrNull } from "../../helpers/reliabilityChecks";
import { embeddedModelDir } from "../../helpers/paths";

const embeddedDir = embeddedModelDir("lens-gpt2-bpe4k");
const hasEmbedded = fs.existsSync(path.join(embeddedDir, "onnx", "model.onnx"));
const TEXTS = Number(process.env["LENS_FUZZ_TEXTS"] ?? 12);
const EDITS = Number(process.env["LENS_FUZZ_EDITS"] ?? 6);
const SEED = Number(process.env["LENS_FUZZ_SEED"] ?? 20261127);
const TOLERANCE = 1e-5;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-fuzz-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Random pieces of text; `next()` in [0, 1). */
function textFactory(seed: number) {
  const raw = seededRandom(seed);
  const next = (): number => (raw() + 1) / 2;
  const int = (n: number): number => Math.min(n - 1, Math.floor(next() * n));
  const words = ["the", "perplexity", "token", "café", "naïve", "日本語", "данные", "x", "if", "(a)", "=>", "{}", "1234", "Ω"];
  const specials = ["<|endoftext|>", "<s>", "</s>", "<unk>", "<|endoftext|"];
  const whitespace = [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", "   \n", "\u00a0", "\u3000", "\u2028", " \t \t"];
  function codePoint(): string {
    switch (int(6)) {
      case 0: // a lone surrogate, high or low
        return String.fromCharCode(0xd800 + int(0x800));
      case 1: // any plane, any code point outside the surrogates (NUL excluded: it is refused as binary)
        for (;;) {
          const cp = 1 + int(0x10ffff);
          if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp);
        }
      case 2: // astral characters that are common in text: emoji
        return String.fromCodePoint(0x1f300 + int(0x300));
      case 3: // combining marks
        return "e" + String.fromCharCode(0x300 + int(0x70));
      default: // the Basic Multilingual Plane
        return String.fromCharCode(1 + int(0xd7ff));
    }
  }
  function piece(): string {
    const kind = int(10);
    if (kind < 4) return words[int(words.length)]!;
    if (kind < 6) return whitespace[int(whitespace.length)]!;
    if (kind < 8) return codePoint();
    if (kind < 9) return specials[int(specials.length)]!;
    return " ".repeat(1 + int(12)); // a whitespace run
  }
  function text(minLength: number, maxLength: number): string {
    const target = minLength + int(maxLength - minLength);
    let s = "";
    while (s.length < target) s += piece();
    return s;
  }
  return { next, int, text };
}

function assertCovering(text: string, result: DocumentScore, what: string): void {
  let end = 0;
  for (const [i, t] of result.tokens.entries()) {
    assert.ok(
      t.start === end && t.end >= t.start && t.end <= text.length,
      `${what}: token ${i} [${t.start}, ${t.end}) should start at ${end} within ${text.length}`,
    );
    end = t.end;
  }
  assert.equal(end, text.length, `${what}: tokens cover the text`);
}

function assertSameScores(incremental: DocumentScore, full: DocumentScore, what: string): void {
  assert.deepEqual(
    incremental.tokens.map((t) => t.id),
    full.tokens.map((t) => t.id),
    `${what}: ids`,
  );
  assert.deepEqual(
    incremental.tokens.map((t) => [t.start, t.end]),
    full.tokens.map((t) => [t.start, t.end]),
    `${what}: offsets`,
  );
  for (let i = 0; i < full.tokens.length; i++) {
    const a = incremental.tokens[i]!;
    const b = full.tokens[i]!;
    if (a.logprob === null || b.logprob === null) assert.equal(a.logprob, b.logprob, `${what}: token ${i} scored in both or neither`);
    else assert.ok(Math.abs(a.logprob - b.logprob) <= TOLERANCE, `${what}: token ${i} log p ${a.logprob} vs ${b.logprob}`);
    if (a.entropy !== null && b.entropy !== null) assert.ok(Math.abs(a.entropy - b.entropy) <= TOLERANCE, `${what}: token ${i} entropy`);
    assert.equal(a.rank, b.rank, `${what}: token ${i} rank`);
  }
}

let engine: Engine;
let modelName = "";
before(async () => {
  engine = new Engine();
  const info = await engine.loadModel(hasEmbedded ? embeddedDir : runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 }));
  modelName = info.name;
});
after(() => engine.dispose());

test(`seeded fuzz: ${TEXTS} random Unicode texts × ${EDITS} random edits, incremental = full rescoring, offsets cover, numbers finite or null`, async () => {
  const random = textFactory(SEED);
  let tokensChecked = 0;
  let scorings = 0;
  let reusedTotal = 0;
  const started = Date.now();
  for (let t = 0; t < TEXTS; t++) {
    const options =
      t % 2 === 0 ? { method: "sliding" as const, window: 48, stride: 16, topK: 2 } : { method: "rolling" as const, window: 40, stride: 0, topK: 2 };
    const docId = `fuzz-${t}`;
    let text = random.text(40, 220);
    let result = await engine.score(docId, text, options);
    for (let e = 0; e <= EDITS; e++) {
      if (e > 0) {
        const at = random.int(text.length + 1);
        const kind = random.int(3);
        const deleted = kind === 0 ? 0 : Math.min(text.length - at, random.int(25));
        const inserted = kind === 1 ? "" : random.text(1, 30);
        text = text.slice(0, at) + inserted + text.slice(at + deleted);
        result = await engine.score(docId, text, options);
        reusedTotal += result.rescore.tokensReused;
      }
      const what = `text ${t} edit ${e} (seed ${SEED}, ${JSON.stringify(text.slice(0, 40))}…)`;
      const full = await engine.score(`${docId}-full-${e}`, text, options);
      await engine.releaseDocument(`${docId}-full-${e}`);
      scorings += 2;
      assertCovering(text, result, what);
      assertSameScores(result, full, what);
      assertFiniteOrNull(result, what);
      if (result.metrics.scoredTokens === 0) assert.equal(result.metrics.tokenPerplexity, null, what);
      tokensChecked += result.tokens.length;
    }
    await engine.releaseDocument(docId);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `[fuzz] ${modelName}, seed ${SEED}: ${TEXTS} texts × (1 + ${EDITS} edits) = ${TEXTS * (EDITS + 1)} states, ${tokensChecked} tokens compared incremental vs full (${scorings} scorings, ${reusedTotal} tokens reused by the incremental runs) in ${seconds.toFixed(1)} s`,
  );
  assert.ok(reusedTotal > 0, "the incremental path was exercised (some tokens were reused)");
});
