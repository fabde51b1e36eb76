import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { computeMetrics, countWords, rankBucket, rankBuckets, tokenInRange, tokensInRange, utf8ByteLength } from "../../../src/core/metrics";
import type { Metrics, TokenScore } from "../../../src/core/types";

/** Token scores for a text split into pieces, each with the given probability (null = unscored) and rank. */
function scoresFor(pieces: ReadonlyArray<[string, number | null, number?]>): { text: string; tokens: TokenScore[] } {
  let text = "";
  const tokens: TokenScore[] = pieces.map(([piece, prob, rank], id) => {
    const start = text.length;
    text += piece;
    return {
      id,
      text: piece,
      start,
      end: text.length,
      logprob: prob === null ? null : Math.log(prob),
      prob,
      rank: prob === null ? null : (rank ?? 1),
      entropy: null,
      top: [],
    };
  });
  return { text, tokens };
}

const close = (actual: number | null, expected: number, tolerance = 1e-9): void => {
  assert.ok(actual !== null, `expected ${expected}, got null`);
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `expected ${expected}, got ${actual}`);
};

/** No metric is ever NaN or ±Infinity. */
function assertFiniteOrNull(metrics: Metrics): void {
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value === "number") assert.ok(Number.isFinite(value), `${key} = ${value}`);
    else if (value !== null && typeof value === "object") {
      for (const [bucket, count] of Object.entries(value as Record<string, number>)) assert.ok(Number.isInteger(count), `${bucket}`);
    }
  }
}

describe("the worked example of perplexity (vocabulary {red, blue, green})", () => {
  test("a model giving each word 1/3 has perplexity 3 on any text", () => {
    for (const words of [["red"], ["red", "red", "blue"], ["green", "blue", "red", "green", "green", "red", "blue"]]) {
      const { text, tokens } = scoresFor(words.map((w, i): [string, number] => [(i > 0 ? " " : "") + w, 1 / 3]));
      const metrics = computeMetrics(text, tokens);
      close(metrics.tokenPerplexity, 3);
      close(metrics.wordPerplexity, 3); // one token per word
      assertFiniteOrNull(metrics);
    }
  });

  test('red 0.8, blue and green 0.1: perplexity 1.8946 on "red red red red blue"', () => {
    // NLL = −(4 ln 0.8 + ln 0.1) = 4 · 0.2231435513 + 2.3025850930 = 3.1951592982 nats over 5 tokens;
    // perplexity = exp(3.1951592982 / 5) = exp(0.6390318596) = 1.8946457…  (= (0.8⁴ · 0.1)^(−1/5))
    const { text, tokens } = scoresFor([
      ["red", 0.8],
      [" red", 0.8],
      [" red", 0.8],
      [" red", 0.8],
      [" blue", 0.1],
    ]);
    assert.equal(text, "red red red red blue");
    const metrics = computeMetrics(text, tokens);
    close(metrics.nll, 3.1951592982, 1e-9);
    close(metrics.tokenPerplexity, 1.8946457, 1e-7);
    assert.equal(metrics.tokenPerplexity?.toFixed(2), "1.89");
    close(metrics.wordPerplexity, 1.8946457, 1e-7);
    // 20 UTF-8 bytes: byte perplexity exp(3.1951592982 / 20) = 1.1732269…; bits per byte 3.1951592982 / (20 ln 2) = 0.2304826…
    assert.equal(metrics.bytes, 20);
    close(metrics.bytePerplexity, Math.exp(3.1951592982 / 20), 1e-9);
    close(metrics.bytePerplexity, 1.1732269, 1e-7);
    close(metrics.bitsPerByte, 0.2304826, 1e-6);
    assert.equal(metrics.tokens, 5);
    assert.equal(metrics.scoredTokens, 5);
    assert.equal(metrics.words, 5);
  });
});

describe("computeMetrics", () => {
  test("word perplexity and bits per byte on a small text, by hand", () => {
    // "naïve cat\n" tokenized as "na" "ï" "ve" " cat" "\n" with probabilities 1/2, 1/4, 1/2, 1/8, 1.
    // NLL = ln 2 + ln 4 + ln 2 + ln 8 + 0 = 7 ln 2 = 4.852030264 nats; 2 words; bytes: n a ï(2) v e space c a t \n = 11.
    const { text, tokens } = scoresFor([
      ["na", 1 / 2],
      ["ï", 1 / 4],
      ["ve", 1 / 2],
      [" cat", 1 / 8],
      ["\n", 1],
    ]);
    const metrics = computeMetrics(text, tokens);
    assert.equal(metrics.bytes, 11);
    assert.equal(metrics.words, 2);
    close(metrics.nll, 7 * Math.LN2);
    close(metrics.tokenPerplexity, 2 ** (7 / 5)); // exp(7 ln 2 / 5)
    close(metrics.wordPerplexity, 2 ** (7 / 2)); // 11.3137…
    close(metrics.bytePerplexity, 2 ** (7 / 11));
    close(metrics.bitsPerByte, 7 / 11); // 0.6363… bits per byte
    // Per-token NLLs in bits: 1, 2, 1, 3, 0 → mean 1.4, sample variance (0.16+0.36+0.16+2.56+1.96)/4 = 1.3;
    // in nats multiply by ln 2: standard error = ln 2 · √1.3 / √5.
    close(metrics.nllStdErr, (Math.LN2 * Math.sqrt(1.3)) / Math.sqrt(5));
  });

  test("standard error of the mean NLL: sample standard deviation / √n; null below two tokens", () => {
    const nllTokens = (nlls: number[]): TokenScore[] =>
      nlls.map((nll, i) => ({ id: i, text: "x", start: i, end: i + 1, logprob: -nll, prob: Math.exp(-nll), rank: 1, entropy: null, top: [] }));
    close(computeMetrics("xxx", nllTokens([1, 2, 3])).nllStdErr, 1 / Math.sqrt(3));
    assert.equal(computeMetrics("x", nllTokens([1])).nllStdErr, null);
    close(computeMetrics("xx", nllTokens([2, 2])).nllStdErr, 0);
  });

  test("empty text, whitespace only, nothing scored: nulls, never NaN or Infinity", () => {
    const empty = computeMetrics("", []);
    assert.deepEqual(empty, {
      tokens: 0,
      scoredTokens: 0,
      bytes: 0,
      words: 0,
      nll: 0,
      tokenPerplexity: null,
      wordPerplexity: null,
      bytePerplexity: null,
      bitsPerByte: null,
      nllStdErr: null,
      rankBuckets: { top10: 0, top100: 0, top1000: 0, rest: 0 },
    });
    const blank = scoresFor([["  \n", 0.5]]);
    const whitespace = computeMetrics(blank.text, blank.tokens);
    assert.equal(whitespace.words, 0);
    assert.equal(whitespace.wordPerplexity, null);
    close(whitespace.tokenPerplexity, 2);
    const unscored = scoresFor([
      ["a", null],
      [" b", null],
    ]);
    const none = computeMetrics(unscored.text, unscored.tokens);
    assert.equal(none.tokens, 2);
    assert.equal(none.scoredTokens, 0);
    assert.equal(none.words, 2);
    assert.equal(none.wordPerplexity, null, "nothing scored: no perplexity even though there are words");
    assert.equal(none.bitsPerByte, null);
    assertFiniteOrNull(none);
  });

  test("unscored and non-finite log-probabilities are left out; overflow gives null", () => {
    const { text, tokens } = scoresFor([
      ["a", null],
      [" b", 0.5],
      [" c", 0.5],
    ]);
    const metrics = computeMetrics(text, tokens);
    assert.equal(metrics.tokens, 3);
    assert.equal(metrics.scoredTokens, 2);
    close(metrics.tokenPerplexity, 2);
    const broken = tokens.map((t, i) => (i === 0 ? { ...t, logprob: Number.NEGATIVE_INFINITY, prob: 0, rank: 5 } : t));
    const withBroken = computeMetrics(text, broken);
    assert.equal(withBroken.scoredTokens, 2);
    assertFiniteOrNull(withBroken);
    const huge = tokens.map((t) => ({ ...t, logprob: -1e6, prob: 0, rank: 50_000 }));
    const overflow = computeMetrics(text, huge);
    assert.equal(overflow.tokenPerplexity, null, "exp(1e6) overflows");
    close(overflow.nll, 3e6);
    assertFiniteOrNull(overflow);
  });

  test("a range counts the tokens that intersect it, and its own bytes and words", () => {
    const { text, tokens } = scoresFor([
      ["red", 0.8],
      [" red", 0.8],
      [" blue", 0.1],
      [" green", 0.1],
    ]);
    // "red red blue green": [5, 10) = "ed bl" touches " red" and " blue".
    const metrics = computeMetrics(text, tokens, { start: 5, end: 10 });
    assert.equal(metrics.tokens, 2);
    close(metrics.nll, -Math.log(0.8) - Math.log(0.1));
    assert.equal(metrics.bytes, 5);
    assert.equal(metrics.words, 2);
    // The whole text as a range equals no range; a reversed or out-of-bounds range is clamped.
    assert.deepEqual(computeMetrics(text, tokens, { start: 0, end: text.length }), computeMetrics(text, tokens));
    assert.deepEqual(computeMetrics(text, tokens, { start: 1000, end: -5 }), computeMetrics(text, tokens));
    // An empty range has no tokens.
    const caret = computeMetrics(text, tokens, { start: 4, end: 4 });
    assert.equal(caret.tokens, 0);
    assert.equal(caret.tokenPerplexity, null);
  });

  test("an empty-range token (continuation of a split character) belongs to the range holding that character", () => {
    // "😀x": byte tokens [0,2) and two continuations at 2, then "x" [2,3).
    const tokens = [
      { start: 0, end: 2 },
      { start: 2, end: 2 },
      { start: 2, end: 2 },
      { start: 2, end: 3 },
    ];
    assert.deepEqual(tokensInRange(tokens, { start: 0, end: 2 }), tokens.slice(0, 3));
    assert.deepEqual(tokensInRange(tokens, { start: 2, end: 3 }), tokens.slice(3));
    assert.equal(tokenInRange({ start: 2, end: 2 }, { start: 1, end: 2 }), true);
    assert.equal(tokenInRange({ start: 0, end: 0 }, { start: 0, end: 1 }), false);
  });
});

describe("GLTR rank buckets", () => {
  test("top-10, top-100, top-1000, rest at their boundaries", () => {
    assert.deepEqual([1, 10, 11, 100, 101, 1000, 1001, 50_000].map(rankBucket), ["top10", "top10", "top100", "top100", "top1000", "top1000", "rest", "rest"]);
    const { tokens } = scoresFor([
      ["a", 0.5, 1],
      ["b", 0.5, 10],
      ["c", 0.5, 11],
      ["d", 0.5, 1000],
      ["e", 0.5, 1001],
      ["f", null],
    ]);
    assert.deepEqual(rankBuckets(tokens), { top10: 2, top100: 1, top1000: 1, rest: 1 });
    assert.deepEqual(computeMetrics("abcdef", tokens).rankBuckets, { top10: 2, top100: 1, top1000: 1, rest: 1 });
  });
});

describe("words and bytes", () => {
  test("words are the pieces of the text split on \\s+, empty pieces dropped", () => {
    assert.equal(countWords(""), 0);
    assert.equal(countWords("   \n\t"), 0);
    assert.equal(countWords("one"), 1);
    assert.equal(countWords("  two  words \n"), 2);
    assert.equal(countWords("a\u00a0b\u3000c"), 3, "JavaScript's \\s includes no-break and ideographic spaces");
    assert.equal(countWords("中文 😀"), 2);
  });

  test("UTF-8 bytes, lone surrogates counted as U+FFFD", () => {
    assert.equal(utf8ByteLength("é😀\ud800"), 2 + 4 + 3);
    assert.equal(utf8ByteLength("\r\n"), 2);
    assert.equal(computeMetrics("中文", []).bytes, 6);
  });
});
