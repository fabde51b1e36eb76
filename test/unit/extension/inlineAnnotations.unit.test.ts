import { test } from "node:test";
import assert from "node:assert/strict";
import { computeAnnotations } from "../../../src/extension/inlineAnnotations";
import type { TokenScore } from "../../../src/core/types";

function words(text: string, logprob: number): TokenScore[] {
  return [...text.matchAll(/\s*\S+/g)].map((m, i) => ({
    id: i,
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
    logprob,
    prob: Math.exp(logprob),
    rank: 1,
    entropy: 1,
    top: [],
  }));
}

test("each paragraph gets its own perplexity, after its last character", () => {
  const text = "a b c d\n\ne f g h";
  const tokens = words(text, Math.log(1 / 4)).map((t, i) => (i >= 4 ? { ...t, logprob: Math.log(1 / 9) } : t));
  const annotations = computeAnnotations(text, tokens, 0, "paragraph", 4);
  assert.deepEqual(annotations, [
    { start: 0, end: 7, label: "ppl 4.00" },
    { start: 9, end: 16, label: "ppl 9.00" },
  ]);
});

test("spans with fewer scored tokens than the minimum get no annotation; offsets include the base", () => {
  const text = "short\n\nthis line has enough tokens";
  const annotations = computeAnnotations(text, words(text, Math.log(0.5)), 100, "line", 3);
  assert.deepEqual(annotations, [{ start: 107, end: 134, label: "ppl 2.00" }]);
  assert.deepEqual(computeAnnotations(text, words(text, -1), 0, "off", 1), []);
});
