import { test } from "node:test";
import assert from "node:assert/strict";
import {
  describeInvalidMessage,
  isExtToWebviewMessage,
  isPersistedPanelState,
  isWebviewToExtMessage,
  type CacheView,
  type DocumentView,
  type ExtToWebviewMessage,
  type PersistedPanelState,
} from "../../../src/protocol/webview";
import { documentStats } from "../../../src/core/documentStats";
import { kvBytesBreakdown } from "../../../src/core/kvBytes";
import { RescoreHistory } from "../../../src/core/rescoreHistory";
import type { KvCacheStats, Metrics, ModelInfo, TokenScore } from "../../../src/core/types";
import { LatestWinsThrottle } from "../../../src/extension/panel/latestWinsThrottle";

const model: ModelInfo = {
  name: "lens-gpt2-bpe4k",
  path: "/ext/models/lens-gpt2-bpe4k",
  source: "embedded",
  architecture: "gpt2",
  modelType: "gpt2",
  vocabSize: 4096,
  contextLength: 256,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 4,
  headDim: 64,
  hiddenSize: 256,
  parameters: 4_300_000,
  parametersEstimate: 3_145_728,
  flopsPerToken: 8_600_000,
  kvDtype: "float32",
  kvBytesPerToken: 8192,
  tokenizerType: "BPE (byte-level)",
  files: [{ name: "model.onnx", bytes: 17_000_000 }],
  loraInputs: true,
};

const tokens: TokenScore[] = [
  { id: 1, text: "Hello", start: 0, end: 5, logprob: -2, prob: Math.exp(-2), rank: 3, entropy: 4, top: [] },
  { id: 2, text: " world", start: 5, end: 11, logprob: -6, prob: Math.exp(-6), rank: 150, entropy: 5, top: [{ id: 9, text: " there", logprob: -1 }] },
];

const metrics: Metrics = {
  tokens: 2,
  scoredTokens: 2,
  bytes: 11,
  words: 2,
  nll: 8,
  tokenPerplexity: Math.exp(4),
  wordPerplexity: Math.exp(4),
  bytePerplexity: Math.exp(8 / 11),
  bitsPerByte: 8 / (11 * Math.LN2),
  nllStdErr: 2,
  rankBuckets: { top10: 1, top100: 0, top1000: 1, rest: 0 },
};

const method = { method: "sliding" as const, window: 256, stride: 128, prefix: "eos:<|endoftext|>" };

const documentView: DocumentView = {
  docId: "doc-0123456789abcdef",
  fileName: "a.txt",
  version: 3,
  modelName: model.name,
  method,
  metrics,
  stats: documentStats({ method, metrics, tokens }),
  scoredAt: 1_700_000_000_000,
};

const cacheStats: KvCacheStats = {
  tokensCached: 312,
  bytesHeld: 2_555_904,
  budgetBytes: 64 * 1024 * 1024,
  layerShape: [1, 4, 312, 64],
  tokensReused: 300,
  tokensRecomputed: 12,
  hitRate: 300 / 312,
  evictions: 0,
};

const history = new RescoreHistory();
history.add("a.txt", { tokensReused: 300, tokensRecomputed: 12, millis: 4, fullRescoreMillisEstimate: 40 }, 1);

const cacheView: CacheView = {
  stats: cacheStats,
  reason: null,
  bytes: kvBytesBreakdown(model, 312),
  lastRescore: { tokensReused: 300, tokensRecomputed: 12, millis: 4, fullRescoreMillisEstimate: 40 },
  history: [...history.records],
  historyTotals: history.aggregates(),
};

/** A JSON round trip, as postMessage does: validation must accept what the sender builds. */
const overTheWire = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

test("ext→webview: every message the host builds is accepted after a JSON round trip", () => {
  const messages: ExtToWebviewMessage[] = [
    { type: "model", data: model },
    { type: "model", data: null },
    { type: "document", data: documentView },
    { type: "document", data: null },
    { type: "cache", data: cacheView },
    {
      type: "cache",
      data: { ...cacheView, reason: "adapter changed", bytes: null, lastRescore: null, stats: { ...cacheStats, hitRate: null, lastReset: "adapter changed" } },
    },
    { type: "cache", data: null },
  ];
  for (const message of messages) assert.ok(isExtToWebviewMessage(overTheWire(message)), JSON.stringify(message).slice(0, 80));
});

test("ext→webview: unknown types and malformed data are rejected", () => {
  const rejected: unknown[] = [
    null,
    undefined,
    42,
    "model",
    [],
    {},
    { type: "unknown" },
    { type: "toString" }, // not an own key of the table of checks
    { type: "__proto__", data: null },
    { type: "ready" }, // a webview→ext message, wrong direction
    { type: "model" }, // data missing (not even null)
    { type: "model", model: null }, // the data travels in `data`
    { type: "model", data: { ...model, numLayers: "4" } },
    { type: "model", data: { ...model, kvDtype: "int8" } },
    { type: "model", data: { ...model, files: [{ name: "model.onnx" }] } },
    { type: "document", data: { ...documentView, metrics: { ...metrics, tokenPerplexity: Number.NaN } } },
    { type: "document", data: { ...documentView, method: { ...method, method: "strided" } } },
    { type: "document", data: { ...documentView, stats: { ...documentView.stats, mostSurprising: [{ text: "x" }] } } },
    { type: "document", data: { ...documentView, docId: 7 } },
    { type: "cache", data: { ...cacheView, stats: { ...cacheStats, tokensCached: -1 } } },
    { type: "cache", data: { ...cacheView, stats: { ...cacheStats, layerShape: [1, 4.5] } } },
    { type: "cache", data: { ...cacheView, history: "none" } },
  ];
  for (const value of rejected) assert.equal(isExtToWebviewMessage(value), false, JSON.stringify(value)?.slice(0, 120));
});

test("webview→ext: ready, revealToken and webviewError are accepted", () => {
  for (const message of [
    { type: "ready", data: {} },
    { type: "revealToken", data: { docId: "doc-0123456789abcdef", index: 5 } },
    { type: "revealToken", data: { docId: "doc-0123456789abcdef", index: 0 } },
    { type: "webviewError", data: { message: "section cache: TypeError" } },
  ]) {
    assert.ok(isWebviewToExtMessage(overTheWire(message)), JSON.stringify(message));
  }
});

test("webview→ext: malformed or unknown messages are rejected", () => {
  const rejected: unknown[] = [
    null,
    "ready",
    { type: "Ready" },
    { type: "model", data: null }, // ext→webview, wrong direction
    { type: "revealToken", docId: "doc-1", index: 5 },
    { type: "revealToken", data: { docId: "doc-1", index: -1 } },
    { type: "revealToken", data: { docId: "doc-1", index: 1.5 } },
    { type: "revealToken", data: { docId: "", index: 0 } },
    { type: "revealToken", data: { docUri: "file:///etc/shadow", start: 0, end: 3 } }, // a URI is not accepted
    { type: "revealToken", data: { docId: null, index: 0 } },
    { type: "webviewError" },
    { type: "hasOwnProperty" },
  ];
  for (const value of rejected) assert.equal(isWebviewToExtMessage(value), false, JSON.stringify(value));
});

test("persisted state: a well-formed state is accepted; old or broken ones are discarded", () => {
  const state: PersistedPanelState = { version: 2, data: { model, document: documentView, cache: cacheView }, collapsedSections: ["model"] };
  assert.ok(isPersistedPanelState(overTheWire(state)));
  assert.ok(isPersistedPanelState({ version: 2, data: { model: null, document: null, cache: null }, collapsedSections: [] }));
  assert.equal(isPersistedPanelState(undefined), false);
  assert.equal(isPersistedPanelState({ ...state, version: 0 }), false);
  assert.equal(
    isPersistedPanelState({ version: 1, model, document: documentView, cache: cacheView, collapsedSections: ["model"] }),
    false,
    "version 1 (sections at the top level) is discarded",
  );
  assert.equal(isPersistedPanelState({ ...state, collapsedSections: [1] }), false);
  assert.equal(isPersistedPanelState({ ...state, data: { ...state.data, document: { fileName: "a.txt" } } }), false);
});

test("invalid messages are described briefly for the log", () => {
  assert.equal(describeInvalidMessage(null), "not an object (null)");
  assert.equal(describeInvalidMessage(3), "not an object (number)");
  assert.equal(describeInvalidMessage({}), "no string `type`");
  assert.equal(describeInvalidMessage({ type: "bogus" }), 'unknown type "bogus"');
  assert.equal(
    describeInvalidMessage({ type: "cache", data: { ...cacheView, stats: { ...cacheStats, tokensCached: -1 } } }),
    "cache.data.stats.tokensCached must be an integer from 0 to 9007199254740991, not -1",
  );
  assert.equal(
    describeInvalidMessage({ type: "revealToken", data: { docId: "a", index: -1 } }, "toExtension"),
    "revealToken.data.index must be an integer from 0 to 9007199254740991, not -1",
  );
  assert.ok(describeInvalidMessage({ type: "x".repeat(10_000) }).length < 100, "long types are cut");
});

// ---------------------------------------------------------------- delivery: the host throttles what it posts

test("updates: the first goes out at once, a burst within 200 ms becomes one trailing update with the latest state", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let clock = 1000;
  let state = "a";
  const sent: string[] = [];
  const throttle = new LatestWinsThrottle(
    200,
    () => sent.push(`${state}@${clock}`),
    () => clock,
  );

  throttle.schedule();
  assert.deepEqual(sent, ["a@1000"]);

  clock = 1050;
  state = "b";
  throttle.schedule(); // waits until 1200
  clock = 1100;
  state = "c";
  throttle.schedule(); // same pending update, now with c
  assert.deepEqual(sent, ["a@1000"]);

  clock = 1200;
  t.mock.timers.tick(150);
  assert.deepEqual(sent, ["a@1000", "c@1200"]);

  // Quiet for longer than the interval: the next one goes out at once again.
  clock = 1500;
  state = "d";
  throttle.schedule();
  assert.deepEqual(sent, ["a@1000", "c@1200", "d@1500"]);

  // flush() sends a pending update now (a webview became ready); nothing pending, nothing sent.
  clock = 1550;
  state = "e";
  throttle.schedule();
  throttle.flush();
  throttle.flush();
  assert.deepEqual(sent, ["a@1000", "c@1200", "d@1500", "e@1550"]);

  // After dispose nothing more is sent.
  clock = 1600;
  throttle.schedule();
  throttle.dispose();
  t.mock.timers.tick(1000);
  throttle.schedule();
  assert.equal(sent.length, 4);
});
