/**
 * The comparison's messages between the panel host and the webview (validated on both sides), the view data cut for
 * the side-by-side view, and what Compare Tokenizers offers in its quick pick (models and tokenizer-only folders).
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compareModels, type Comparison } from "../../../src/core/compare";
import { isExtToWebviewMessage, isPersistedPanelState, isWebviewToExtMessage, type ComparisonView } from "../../../src/protocol/webview";
import { buildComparisonView } from "../../../src/extension/comparisonView";
import { listComparisonCandidates, tokenizerFoldersIn } from "../../../src/extension/comparisonTargets";
import { constantWordsFolder, runningSumFolder, wordTokenizer } from "../../helpers/onnxBuilder";
import { repoRoot } from "../../helpers/paths";

const root = repoRoot;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-compare-webview-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
// "é" and "😀" so the byte model splits characters over several tokens (empty-range continuation tokens).
const text = "red blue green é 😀\nblue  blue red\n";
const source = { docUri: "file:///tmp/a.txt", fileName: "a.txt", scope: "document" as const };
let comparison: Comparison;
let view: ComparisonView;

before(async () => {
  const tokenizerOnly = path.join(tmp, "tokenizer-only");
  fs.mkdirSync(tokenizerOnly);
  fs.writeFileSync(path.join(tokenizerOnly, "tokenizer.json"), JSON.stringify(wordTokenizer(["red", "blue", "green", "é", "😀"]).tokenizer));
  comparison = await compareModels(text, [
    { path: runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 }) },
    { path: constantWordsFolder(path.join(tmp, "words"), ["red", "blue", "green", "é", "😀"], [0, 0, 0, 0, 0]) },
    { path: tokenizerOnly },
  ]);
  view = buildComparisonView(source, text, comparison, 1_700_000_000_000);
});

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe("the comparison messages", () => {
  test("a real comparison passes the webview's validation, as a message and in persisted state", () => {
    assert.equal(view.text, text);
    assert.equal(view.characters, text.length);
    assert.ok(
      comparison.entries[0]!.tokens.some((t) => t.start === t.end),
      "the byte model has continuation tokens",
    );
    assert.equal(isExtToWebviewMessage({ type: "comparison", data: clone(view) }), true);
    assert.equal(isExtToWebviewMessage({ type: "comparison", data: null }), true);
    const persisted = { version: 2, data: { model: null, document: null, cache: null, comparison: clone(view) }, collapsedSections: ["comparison"] };
    assert.equal(isPersistedPanelState(persisted), true);
    const { comparison: _dropped, ...older } = persisted.data;
    void _dropped;
    assert.equal(isPersistedPanelState({ ...persisted, data: older }), true, "state saved before the comparison view existed is still accepted");
  });

  test("malformed comparisons are refused", () => {
    const broken = (mutate: (v: ComparisonView) => void): boolean => {
      const v = clone(view);
      mutate(v);
      return isExtToWebviewMessage({ type: "comparison", data: v });
    };
    assert.equal(
      broken((v) => (v.comparison.entries[0]!.tokens[0]!.end = text.length + 1)),
      false,
      "a token beyond the shown text",
    );
    assert.equal(
      broken((v) => {
        v.comparison.entries[0]!.tokens[0]!.start = 5;
        v.comparison.entries[0]!.tokens[0]!.end = 2;
      }),
      false,
      "a reversed token",
    );
    assert.equal(
      broken((v) => ((v.comparison.entries[1]!.metrics as unknown as Record<string, unknown>)["bitsPerByte"] = "2.1")),
      false,
      "a number as a string",
    );
    assert.equal(
      broken((v) => ((v.comparison.entries[1]!.model as unknown as Record<string, unknown>)["kind"] = "lora")),
      false,
      "an unknown kind",
    );
    assert.equal(
      broken((v) => ((v.comparison.entries[2]!.metrics as unknown as Record<string, unknown>)["charsPerToken"] = undefined)),
      false,
      "a missing ratio",
    );
    assert.equal(
      broken((v) => ((v.comparison as unknown as Record<string, unknown>)["verdict"] = { sentence: 3 })),
      false,
      "a verdict without a sentence",
    );
    assert.equal(
      broken((v) => (v.characters = v.text.length - 1)),
      false,
      "more text shown than compared",
    );
    assert.equal(
      broken((v) => ((v as unknown as Record<string, unknown>)["scope"] = "workspace")),
      false,
      "an unknown scope",
    );
  });

  test("webview→ext compare is accepted; unknown requests are not", () => {
    assert.equal(isWebviewToExtMessage({ type: "compare", data: {} }), true);
    assert.equal(isWebviewToExtMessage({ type: "compareAll", data: {} }), false);
  });
});

describe("the view data for the side-by-side view", () => {
  test("a long text is cut for the columns (never inside a surrogate pair); the metrics stay those of the whole text", () => {
    const cut = text.indexOf("😀") + 1; // between the two halves of the emoji
    const small = buildComparisonView(source, text, comparison, 0, cut);
    assert.equal(small.text, text.slice(0, cut - 1));
    assert.equal(small.characters, text.length);
    assert.deepEqual(small.comparison.verdict, comparison.verdict);
    small.comparison.entries.forEach((entry, i) => {
      assert.deepEqual(entry.metrics, comparison.entries[i]!.metrics);
      for (const t of entry.tokens) assert.ok(t.end <= small.text.length && t.start <= t.end);
      const whole = comparison.entries[i]!.tokens.filter((t) => t.start < small.text.length);
      assert.equal(entry.tokens.length >= whole.length, true);
    });
    assert.equal(isExtToWebviewMessage({ type: "comparison", data: clone(small) }), true);
  });
});

describe("what Compare Tokenizers offers", () => {
  test("embedded models, then configured model folders, then tokenizer-only folders", async () => {
    const configured = path.join(tmp, "configured");
    fs.mkdirSync(configured);
    runningSumFolder(path.join(configured, "a-model"));
    const tokenizerOnly = path.join(configured, "b-tokenizer");
    fs.mkdirSync(tokenizerOnly);
    fs.copyFileSync(path.join(root, "models/lens-llama-sp/tokenizer.json"), path.join(tokenizerOnly, "tokenizer.json"));
    fs.mkdirSync(path.join(configured, "c-empty"));
    assert.deepEqual(await tokenizerFoldersIn(configured), [tokenizerOnly]);
    assert.deepEqual(await tokenizerFoldersIn(tokenizerOnly), [tokenizerOnly]);
    const candidates = await listComparisonCandidates(path.join(root, "models"), [configured, "relative/ignored"]);
    assert.deepEqual(
      candidates.map((c) => `${c.kind}:${c.source}:${c.name}`),
      [
        "model:embedded:lens-gpt2-bpe4k",
        "model:embedded:lens-gpt2-byte",
        "model:embedded:lens-llama-sp",
        "model:folder:a-model",
        "tokenizer:folder:b-tokenizer",
      ],
    );
  });
});
