import { test } from "node:test";
import assert from "node:assert/strict";
import { cacheBudgetFraction, describeMethod, documentStats, mostSurprisingTokens, rankBucketBars, surprisalHistogram } from "../../../src/core/documentStats";
import { surprisalBits } from "../../../src/core/surprisal";
import type { Metrics, TokenScore } from "../../../src/core/types";

/** A token whose probability is 2^-bits (so its surprisal is exactly `bits`). */
function token(text: string, start: number, bits: number | null, rank: number | null = null, expected?: string): TokenScore {
  const logprob = bits === null ? null : -bits * Math.LN2;
  return {
    id: 0,
    text,
    start,
    end: start + text.length,
    logprob,
    prob: logprob === null ? null : Math.exp(logprob),
    rank,
    entropy: null,
    top: expected === undefined ? [] : [{ id: 1, text: expected, logprob: -0.1 }],
  };
}

const close = (actual: number | null, expected: number, tolerance = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `${actual} ≉ ${expected}`);

test("surprisal in bits is −ln p / ln 2", () => {
  close(surprisalBits(Math.log(0.5)), 1);
  close(surprisalBits(Math.log(0.125)), 3);
  close(surprisalBits(0), 0);
});

test("histogram: 1-bit bins up to the largest surprisal, unscored tokens left out", () => {
  // Surprisals 0.5, 1, 1.5, 3.99, 2 bits and one unscored token.
  const tokens = [token("a", 0, 0.5), token("b", 1, 1), token("c", 2, 1.5), token("d", 3, 3.99), token("e", 4, 2), token("f", 5, null)];
  const h = surprisalHistogram(tokens);
  assert.equal(h.binWidthBits, 1);
  assert.deepEqual(
    h.bins.map((b) => [b.fromBits, b.toBits, b.count]),
    [
      [0, 1, 1], // 0.5
      [1, 2, 2], // 1, 1.5 (lower edge inclusive)
      [2, 3, 1], // 2
      [3, 4, 1], // 3.99
    ],
  );
  assert.equal(h.scoredTokens, 5);
  close(h.meanBits, (0.5 + 1 + 1.5 + 3.99 + 2) / 5, 1e-12);
  close(h.medianBits, 1.5, 1e-12);
  close(h.maxBits, 3.99, 1e-12);
});

test("histogram: median of an even count is the mean of the middle two", () => {
  const h = surprisalHistogram([token("a", 0, 1), token("b", 1, 4), token("c", 2, 2), token("d", 3, 3)]);
  close(h.medianBits, 2.5, 1e-12);
});

test("histogram: beyond maxBins the last bin is open-ended and collects the tail", () => {
  const tokens = [token("a", 0, 0.2), token("b", 1, 5), token("c", 2, 7.5), token("d", 3, 30)];
  const h = surprisalHistogram(tokens, { binWidthBits: 2, maxBins: 3 });
  assert.deepEqual(
    h.bins.map((b) => [b.fromBits, b.toBits, b.count]),
    [
      [0, 2, 1],
      [2, 4, 0],
      [4, null, 3], // 5, 7.5 and 30 bits
    ],
  );
});

test("histogram of nothing scored: one empty bin, nulls instead of NaN", () => {
  const h = surprisalHistogram([token("a", 0, null)]);
  assert.deepEqual(h.bins, [{ fromBits: 0, toBits: 1, count: 0 }]);
  assert.equal(h.scoredTokens, 0);
  assert.equal(h.meanBits, null);
  assert.equal(h.medianBits, null);
  assert.equal(h.maxBits, null);
  assert.throws(() => surprisalHistogram([], { binWidthBits: 0 }), /bin width/);
});

test("GLTR bars: disjoint buckets in order with their share of all scored tokens", () => {
  const bars = rankBucketBars({ top10: 6, top100: 2, top1000: 1, rest: 1 });
  assert.deepEqual(
    bars.map((b) => [b.bucket, b.label, b.count, b.fraction]),
    [
      ["top10", "top 10", 6, 0.6],
      ["top100", "11–100", 2, 0.2],
      ["top1000", "101–1000", 1, 0.1],
      ["rest", "> 1000", 1, 0.1],
    ],
  );
  assert.deepEqual(
    rankBucketBars({ top10: 0, top100: 0, top1000: 0, rest: 0 }).map((b) => b.fraction),
    [0, 0, 0, 0],
  );
});

test("most surprising tokens: highest surprisal first, ties in document order, unscored skipped", () => {
  const tokens = [
    token("The", 0, null),
    token(" cat", 3, 4, 12, " dog"),
    token(" sat", 7, 9, 700, " was"),
    token(" on", 11, 4, 9),
    token(" quantum", 14, 13, 5000, " the"),
  ];
  const top = mostSurprisingTokens(tokens, 3);
  assert.deepEqual(
    top.map((t) => [t.index, t.text, t.start, t.end, t.rank, t.expected]),
    [
      [4, " quantum", 14, 22, 5000, " the"],
      [2, " sat", 7, 11, 700, " was"],
      [1, " cat", 3, 7, 12, " dog"], // ties with " on" (4 bits): earlier first
    ],
  );
  close(top[0]?.surprisalBits ?? null, 13, 1e-12);
  close(top[0]?.prob ?? null, 2 ** -13, 1e-18);
  assert.equal(mostSurprisingTokens(tokens, 0).length, 0);
  assert.equal(mostSurprisingTokens(tokens).length, 4);
});

test("method stated plainly", () => {
  assert.equal(
    describeMethod({ method: "sliding", window: 256, stride: 128, prefix: "eos:<|endoftext|>" }),
    "Sliding window of 256 tokens moved by 128: after the first window every token is predicted from at least 128 tokens of context. " +
      "The first token is predicted after the prefix token eos:<|endoftext|>.",
  );
  const rolling = describeMethod({ method: "rolling", window: 512, stride: 512, prefix: "", adapters: [{ name: "legal", scale: 0.5 }] });
  assert.match(rolling, /^Rolling windows of 512 tokens, not overlapping/);
  assert.match(rolling, /LoRA adapters active: legal × 0.5\.$/);
  assert.match(describeMethod({ method: "sliding", window: 64, stride: 64, prefix: "" }), /^Sliding windows of 64 tokens, not overlapping: context restarts/);
});

test("document statistics bundle and budget use", () => {
  const metrics: Metrics = {
    tokens: 3,
    scoredTokens: 2,
    bytes: 10,
    words: 2,
    nll: 3 * Math.LN2,
    tokenPerplexity: 2 ** 1.5,
    wordPerplexity: 2 ** 1.5,
    bytePerplexity: 2 ** 0.3,
    bitsPerByte: 0.3,
    nllStdErr: 0.5,
    rankBuckets: { top10: 1, top100: 1, top1000: 0, rest: 0 },
  };
  const stats = documentStats(
    { method: { method: "rolling", window: 8, stride: 8, prefix: "" }, metrics, tokens: [token("x", 0, null), token("y", 1, 1, 1), token("z", 2, 2, 20)] },
    { mostSurprisingCount: 1 },
  );
  assert.equal(stats.histogram.scoredTokens, 2);
  assert.deepEqual(
    stats.rankBars.map((b) => b.count),
    [1, 1, 0, 0],
  );
  assert.deepEqual(
    stats.mostSurprising.map((t) => t.text),
    ["z"],
  );
  close(cacheBudgetFraction({ bytesHeld: 16, budgetBytes: 64 }), 0.25);
  assert.equal(cacheBudgetFraction({ bytesHeld: 16, budgetBytes: 0 }), null);
});
