import { test } from "node:test";
import assert from "node:assert/strict";
import { formatProbability, formatTokenHover, markdownCode } from "../../../src/extension/tokenHover";
import { visibleWhitespace } from "../../../src/core/visibleText";
import type { TokenScore } from "../../../src/core/types";

test("whitespace and control characters are made visible", () => {
  assert.equal(visibleWhitespace(" the\n\t\r\u00a0\u0001"), "·the↵→␍⍽\\u{1}");
  assert.equal(visibleWhitespace("😀é"), "😀é");
});

test("code spans survive backticks and table pipes", () => {
  assert.equal(markdownCode("a`b"), "``a`b``");
  assert.equal(markdownCode("`"), "`` ` ``");
  assert.equal(markdownCode("a|b"), "`a\\|b`");
  assert.equal(markdownCode(""), "*(empty)*");
});

test("probabilities read as percentages, tiny ones in scientific notation", () => {
  assert.equal(formatProbability(0.5), "50.0%");
  assert.equal(formatProbability(0.0123), "1.23%");
  assert.equal(formatProbability(0.00012), "1.20e-4");
});

const token: TokenScore = {
  id: 42,
  text: " cat",
  start: 3,
  end: 7,
  logprob: Math.log(0.25),
  prob: 0.25,
  rank: 2,
  entropy: 1.5,
  top: [
    { id: 7, text: " dog", logprob: Math.log(0.5) },
    { id: 42, text: " cat", logprob: Math.log(0.25) },
  ],
  contextLength: 12,
};

test("the hover shows log p, p, rank, entropy, context and the top-k table", () => {
  const hover = formatTokenHover(token, 4096);
  assert.match(hover, /token `·cat` \(id 42\)/);
  assert.match(hover, /\| log p \| −1\.386 nats \(2\.00 bits of surprisal\) \|/);
  assert.match(hover, /\| p \| 25\.0% \|/);
  assert.match(hover, /\| rank \| 2 of 4096 \|/);
  assert.match(hover, /\| entropy \| 1\.500 nats/);
  assert.match(hover, /\| context \| 12 tokens \|/);
  assert.match(hover, /\| 1 \| `·dog` \| 50\.0% \| −0\.693 \|/);
  assert.match(hover, /\| 2 \| `·cat` ◀ \| 25\.0% \|/);
});

test("an unscored token says so instead of showing numbers", () => {
  const hover = formatTokenHover({ ...token, logprob: null, prob: null, rank: null, entropy: null, top: [] });
  assert.match(hover, /Not scored/);
  assert.doesNotMatch(hover, /NaN|Infinity/);
});
