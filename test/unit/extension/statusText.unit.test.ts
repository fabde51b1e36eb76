import { test } from "node:test";
import assert from "node:assert/strict";
import { describeRescore, formatBitsPerByte, formatPerplexity, metricsTable, shortMethod, shortMetrics } from "../../../src/extension/statusText";
import type { Metrics } from "../../../src/core/types";

test("perplexity shows three significant figures and never NaN or Infinity", () => {
  assert.equal(formatPerplexity(1.8882), "1.89");
  assert.equal(formatPerplexity(23.44), "23.4");
  assert.equal(formatPerplexity(412.2), "412");
  assert.equal(formatPerplexity(12345.6), "12,346");
  assert.equal(formatPerplexity(null), "—");
  assert.equal(formatPerplexity(NaN), "—");
  assert.equal(formatPerplexity(Infinity), "—");
  assert.equal(formatBitsPerByte(1.23456), "1.235");
  assert.equal(formatBitsPerByte(null), "—");
});

const metrics: Metrics = {
  tokens: 5,
  scoredTokens: 5,
  bytes: 24,
  words: 5,
  nll: 3.1799,
  tokenPerplexity: 1.8882,
  wordPerplexity: 1.8882,
  bytePerplexity: 1.1417,
  bitsPerByte: 0.19115,
  nllStdErr: 0.4,
  rankBuckets: { top10: 5, top100: 0, top1000: 0, rest: 0 },
};

test("the short form and the tooltip table carry every metric", () => {
  assert.equal(shortMetrics(metrics), "ppl 1.89 · 0.191 bpb");
  const table = metricsTable(metrics, "Document");
  for (const expected of [
    "| Token perplexity | 1.89 |",
    "| Word perplexity | 1.89 |",
    "| Byte perplexity | 1.1417 |",
    "| Bits per byte | 0.191 |",
    "| Mean NLL per token | 0.636 ± 0.400 nats |",
    "| Tokens (scored) | 5 (5) |",
    "| GLTR top-10 / 100 / 1000 / rest | 5 / 0 / 0 / 0 |",
  ]) {
    assert.ok(table.includes(expected), expected);
  }
  const empty = metricsTable({
    ...metrics,
    scoredTokens: 0,
    nll: 0,
    tokenPerplexity: null,
    wordPerplexity: null,
    bytePerplexity: null,
    bitsPerByte: null,
    nllStdErr: null,
  });
  assert.doesNotMatch(empty, /NaN|Infinity/);
});

test("the method and the last rescore are stated plainly", () => {
  assert.equal(
    shortMethod({ method: "sliding", window: 512, stride: 256, prefix: "eos:<|endoftext|>" }),
    "sliding, window 512, stride 256, prefix eos:<|endoftext|>",
  );
  assert.equal(shortMethod({ method: "rolling", window: 512, stride: 512, prefix: "bos:<s>" }), "rolling, window 512, prefix bos:<s>");
  assert.equal(describeRescore({ tokensReused: 0, tokensRecomputed: 40, millis: 12.4, fullRescoreMillisEstimate: 12 }), "scored 40 tokens in 12 ms");
  assert.equal(
    describeRescore({ tokensReused: 812, tokensRecomputed: 14, millis: 9.2, fullRescoreMillisEstimate: 120.3 }),
    "reused 812 cached tokens, recomputed 14 in 9 ms (a full rescore ≈ 120 ms)",
  );
});
