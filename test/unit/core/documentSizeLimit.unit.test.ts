import { test } from "node:test";
import assert from "node:assert/strict";
import { EDITOR_SIZE_SETTINGS, describeSizeLimit, limitDocumentSize } from "../../../src/core/documentSizeLimit";

test("a text within the limit is whole and gets no sentence", () => {
  const limited = limitDocumentSize("abc", 3, "refuse");
  assert.deepEqual(limited, { kind: "whole", text: "abc" });
  assert.equal(describeSizeLimit("a.md", limited, 3, EDITOR_SIZE_SETTINGS), null);
});

test("truncation never splits a surrogate pair, and says what was kept", () => {
  const text = "ab😀cd"; // the emoji is two UTF-16 units at 2–3
  const cut = limitDocumentSize(text, 3, "truncate");
  assert.deepEqual(cut, { kind: "truncated", text: "ab", originalLength: 6 });
  assert.deepEqual(limitDocumentSize(text, 4, "truncate"), { kind: "truncated", text: "ab😀", originalLength: 6 });
  assert.equal(
    describeSizeLimit("a.md", cut, 3, EDITOR_SIZE_SETTINGS),
    "a.md has 6 characters; only the first 2 are scored (settings perplexityLens.maxDocumentSize and perplexityLens.oversizedDocuments).",
  );
});

test("refusal names the limit and where it comes from", () => {
  const refused = limitDocumentSize("x".repeat(5000), 1000, "refuse");
  assert.deepEqual(refused, { kind: "refused", originalLength: 5000 });
  assert.equal(
    describeSizeLimit("The selection", refused, 1000, EDITOR_SIZE_SETTINGS, "compared"),
    "The selection has 5,000 characters, more than the limit of 1,000 (setting perplexityLens.maxDocumentSize), so it was not compared.",
  );
});
