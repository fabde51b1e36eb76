/**
 * Re-encoding only the changed end of a text gives exactly the tokens and offsets of encoding the whole text,
 * over hundreds of random edits on the embedded byte-level BPE tokenizer and a byte tokenizer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { TextTokenizer } from "../../../src/core/tokenizers/textTokenizer";
import { encodeIncrementally, supportsIncrementalEncoding } from "../../../src/core/incrementalEncoding";
import { byteTokenizer, seededRandom } from "../../helpers/onnxBuilder";
import { repoRoot } from "../../helpers/paths";

const root = repoRoot;
const readJson = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
const pieces = [
  "\n",
  "\n\n",
  " ",
  "  ",
  "\t",
  "x",
  "é",
  "😀",
  "東京",
  "foo",
  " bar",
  "();",
  "\r\n",
  "'s",
  "123",
  "<|endoftext|>",
  "\n  return",
  "//",
  "\u0301",
];

function fuzz(tokenizer: TextTokenizer, seed: number, edits: number): number {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.abs(rand()) * xs.length) % xs.length]!;
  let text = fs.readFileSync(path.join(root, "src", "core", "scorer.ts"), "utf8").slice(0, 3000);
  let previous = { text, encoded: tokenizer.encode(text) };
  let reused = 0;
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(Math.abs(rand()) * (text.length + 1));
    const kind = Math.floor(Math.abs(rand()) * 3);
    const del = kind === 0 ? 0 : Math.floor(Math.abs(rand()) * 5);
    const insert = kind === 2 ? "" : pick(pieces);
    text = text.slice(0, at) + insert + text.slice(at + del);
    const { encoded, tokensKept } = encodeIncrementally(text, previous, (s) => tokenizer.encode(s));
    const full = tokenizer.encode(text);
    assert.deepEqual(encoded.ids, full.ids, `edit ${e} at ${at}: ids`);
    assert.deepEqual(encoded.offsets, full.offsets, `edit ${e} at ${at}: offsets`);
    if (tokensKept > 0) reused++;
    previous = { text, encoded };
  }
  return reused;
}

test("the embedded byte-level BPE tokenizer: incremental encoding equals full encoding over random edits", () => {
  const dir = path.join(root, "models", "lens-gpt2-bpe4k");
  const json = readJson(path.join(dir, "tokenizer.json"));
  assert.equal(supportsIncrementalEncoding(json), true);
  const tokenizer = TextTokenizer.fromJson(json, readJson(path.join(dir, "tokenizer_config.json")));
  const reused = fuzz(tokenizer, 11, 200);
  assert.ok(reused > 100, `most edits re-encoded only the end (${reused} of 200)`);
});

test("a byte tokenizer without merges: incremental encoding equals full encoding", () => {
  const { tokenizer, config } = byteTokenizer();
  assert.equal(supportsIncrementalEncoding(tokenizer as Record<string, unknown>), true);
  const reused = fuzz(TextTokenizer.fromJson(tokenizer, config), 12, 100);
  assert.ok(reused > 40);
});

test("SentencePiece (Metaspace, normalizers) is always encoded whole", () => {
  assert.equal(supportsIncrementalEncoding(readJson(path.join(root, "models", "lens-llama-sp", "tokenizer.json"))), false);
});
