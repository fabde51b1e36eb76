import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  collectResult,
  countBatchTokens,
  encodePair,
  encodeRequest,
  entryScoredOutputs,
  LoglikelihoodError,
  planPrefixBatches,
  planRequest,
  splitPair,
  tokenIdEncoder,
  type RequestPlan,
  type TokenIdEncoder,
} from "../../../../src/core/eval/loglikelihood";

/**
 * A GPT-2-like word tokenizer with a fixed vocabulary: each run of whitespace is attached to the word after it
 * (" cat"), whitespace at the end of the text is a token of its own. A piece outside the vocabulary is an error, so
 * every expected id below is read off this list.
 */
const VOCAB = ["<eot>", "The", " cat", " sat", " ", "sat", "ok", " 👍", " 👍🏽", " fine", "Q:", "\n\n", "\n\n sat"];
const words: TokenIdEncoder = {
  encode(text) {
    return (text.match(/\s*\S+|\s+/gu) ?? []).map((piece) => {
      const id = VOCAB.indexOf(piece);
      if (id < 0) throw new Error(`piece ${JSON.stringify(piece)} is not in the test vocabulary`);
      return id;
    });
  },
};
const EOT = 0;

/** A character tokenizer: one token per Unicode code point, its id the code point (a surrogate pair is one token). */
const codePoints: TokenIdEncoder = { encode: (text) => Array.from(text, (c) => c.codePointAt(0) as number) };

describe("splitPair: the context's trailing whitespace moves to the continuation (lm-eval _encode_pair)", () => {
  test("a space", () => {
    assert.deepEqual(splitPair("The cat ", "sat"), { context: "The cat", continuation: " sat" });
  });
  test("no trailing whitespace leaves the pair as it is", () => {
    assert.deepEqual(splitPair("The cat", " sat"), { context: "The cat", continuation: " sat" });
    assert.deepEqual(splitPair("", "sat"), { context: "", continuation: "sat" });
  });
  test("several whitespace characters move together, in order", () => {
    assert.deepEqual(splitPair("Q:\n\n \t", "x"), { context: "Q:", continuation: "\n\n \tx" });
  });
  test("Python's str.isspace set, not JavaScript's trim set", () => {
    // \x1c (file separator) and \x85 (next line) are whitespace to Python's rstrip; \ufeff is not.
    assert.deepEqual(splitPair("a\x1c\x85", "b"), { context: "a", continuation: "\x1c\x85b" });
    assert.deepEqual(splitPair("a\ufeff", "b"), { context: "a\ufeff", continuation: "b" });
    assert.deepEqual(splitPair("a\u3000\u00a0", "b"), { context: "a", continuation: "\u3000\u00a0b" });
  });
  test("a surrogate pair before the whitespace stays whole", () => {
    const split = splitPair("ok 👍 ", "x");
    assert.equal(split.context, "ok 👍");
    assert.equal(split.context.length, 5); // o, k, space and the two UTF-16 halves of U+1F44D
    assert.equal(split.continuation, " x");
  });
});

describe("encodePair: the pair encoded together, the continuation = whole[len(context):]", () => {
  test("space moved: ('The cat ', 'sat') scores ' sat' as one token", () => {
    // split: ("The cat", " sat"); whole "The cat sat" = [The, ' cat', ' sat'] = [1, 2, 3]; context [1, 2].
    assert.deepEqual(encodePair(words, "The cat ", "sat"), { contextIds: [1, 2], continuationIds: [3], contextMatchesWhole: true });
    // Without the split the context would be [1, 2, 4] (' ' a token of its own) and whole[3:] empty.
    assert.deepEqual(words.encode("The cat "), [1, 2, 4]);
  });
  test("no space to move", () => {
    assert.deepEqual(encodePair(words, "The cat", " sat"), { contextIds: [1, 2], continuationIds: [3], contextMatchesWhole: true });
  });
  test("newlines and a space move: ('Q:\\n\\n ', 'sat') → continuation '\\n\\n sat'", () => {
    // split: ("Q:", "\n\n sat"); whole "Q:\n\n sat" = ["Q:", "\n\n sat"] = [10, 12].
    assert.deepEqual(encodePair(words, "Q:\n\n ", "sat"), { contextIds: [10], continuationIds: [12], contextMatchesWhole: true });
  });
  test("a character split across the boundary: code-point tokens keep it whole", () => {
    // "👍🏽" is U+1F44D U+1F3FD (four UTF-16 units); the context ends after the first code point.
    const pair = encodePair(codePoints, "ok 👍", "🏽");
    assert.deepEqual(pair.contextIds, [0x6f, 0x6b, 0x20, 0x1f44d]);
    assert.deepEqual(pair.continuationIds, [0x1f3fd]);
    assert.equal(pair.contextMatchesWhole, true);
  });
  test("a token merged across the boundary: lm-eval still takes whole[len(context):], and the mismatch is reported", () => {
    // whole "ok 👍🏽 fine" = ["ok", " 👍🏽", " fine"] = [6, 8, 9]; context "ok 👍" = ["ok", " 👍"] = [6, 7];
    // continuation = whole[2:] = [9]: the skin-tone modifier is in no scored token.
    assert.deepEqual(encodePair(words, "ok 👍", "🏽 fine"), { contextIds: [6, 7], continuationIds: [9], contextMatchesWhole: false });
  });
});

describe("encodeRequest: lm-eval's TemplateLM.loglikelihood encoding", () => {
  test("an empty context is the prefix token, the continuation encoded alone", () => {
    assert.deepEqual(encodeRequest(words, { context: "", continuation: "The cat" }, EOT), {
      contextIds: [EOT],
      continuationIds: [1, 2],
      contextMatchesWhole: true,
    });
  });
  test("a whitespace-only context becomes the prefix token after the split", () => {
    assert.deepEqual(encodeRequest(words, { context: " ", continuation: "sat" }, EOT), { contextIds: [EOT], continuationIds: [3], contextMatchesWhole: true });
  });
  test("any other context goes through encodePair", () => {
    assert.deepEqual(encodeRequest(words, { context: "The cat ", continuation: "sat" }, EOT), {
      contextIds: [1, 2],
      continuationIds: [3],
      contextMatchesWhole: true,
    });
  });
  test("tokenIdEncoder adapts an encode that gives { ids, offsets }", () => {
    const adapted = tokenIdEncoder({ encode: (text) => ({ ids: words.encode(text), offsets: [] }) });
    assert.deepEqual(adapted.encode("The cat"), [1, 2]);
  });
});

describe("planRequest: the input window after truncation (HFLM _loglikelihood_tokens)", () => {
  test("no truncation: context + continuation without its last token; the last len(continuation) outputs are scored", () => {
    //          ctx      cont
    // inp    1 2 3 | 4 5 [6]    ← the last token is dropped
    // scored     ^   ^ ^        outputs at positions 2, 3, 4 predict 4, 5, 6
    const plan = planRequest([1, 2, 3], [4, 5, 6], 100, EOT);
    assert.deepEqual(plan, { inputIds: [1, 2, 3, 4, 5], scoredFrom: 2, targetIds: [4, 5, 6], truncatedTokens: 0 });
  });
  test("empty context ids: the prefix token is the context", () => {
    assert.deepEqual(planRequest([], [1, 2], 100, EOT), { inputIds: [EOT, 1], scoredFrom: 0, targetIds: [1, 2], truncatedTokens: 0 });
  });
  test("context truncated from the left to the last maxLength + 1 tokens", () => {
    // all = [10 11 12 13 14 20 21] (7); the last 5 are [12 13 14 20 21]; without the last: [12 13 14 20].
    // scoredFrom = 4 − 2 = 2: position 2 (token 14) predicts 20, position 3 (token 20) predicts 21.
    assert.deepEqual(planRequest([10, 11, 12, 13, 14], [20, 21], 4, EOT), {
      inputIds: [12, 13, 14, 20],
      scoredFrom: 2,
      targetIds: [20, 21],
      truncatedTokens: 2,
    });
  });
  test("a continuation of exactly maxLength tokens keeps one context token", () => {
    assert.deepEqual(planRequest([10, 11], [20, 21, 22], 3, EOT), { inputIds: [11, 20, 21], scoredFrom: 0, targetIds: [20, 21, 22], truncatedTokens: 1 });
  });
  test("a window that fits exactly is not truncated", () => {
    assert.deepEqual(planRequest([10, 11], [20, 21], 3, EOT), { inputIds: [10, 11, 20], scoredFrom: 1, targetIds: [20, 21], truncatedTokens: 0 });
  });
  test("bad requests give one clear sentence", () => {
    assert.throws(
      () => planRequest([1], [], 10, EOT),
      (e: unknown) => e instanceof LoglikelihoodError && e.message === "The continuation has no tokens, so there is nothing to score.",
    );
    assert.throws(() => planRequest([1], [2, 3, 4], 2, EOT), { message: "The continuation is 3 tokens, more than the 2 tokens the model can take." });
    assert.throws(() => planRequest([1], [2], 0, EOT), LoglikelihoodError);
    assert.throws(() => planRequest([1, -1], [2], 10, EOT), { message: "Token 1 of the context is -1, not a token id (a non-negative integer)." });
  });
});

describe("collectResult: (logprob, is_greedy) from the scored outputs", () => {
  const plan = planRequest([10, 11, 12, 13, 14], [20, 21], 4, EOT); // input [12 13 14 20], targets [20 21]

  test("the sum of the targets' log-probabilities; greedy when every argmax is the target", () => {
    const result = collectResult(plan, [-0.5, -1.25], [20, 21]);
    assert.equal(result.logprob, -1.75);
    assert.equal(result.isGreedy, true);
    assert.deepEqual(result.tokens, [
      { id: 20, logprob: -0.5, greedyId: 20, isGreedy: true },
      { id: 21, logprob: -1.25, greedyId: 21, isGreedy: true },
    ]);
  });
  test("one argmax different from its target makes the request not greedy", () => {
    const result = collectResult(plan, [-0.5, -1.25], [20, 7]);
    assert.equal(result.isGreedy, false);
    assert.equal(result.tokens[0]?.isGreedy, true);
    assert.equal(result.tokens[1]?.isGreedy, false);
  });
  test("outputs for every input position: the last len(targets) are taken", () => {
    const result = collectResult(plan, [-9, -9, -0.5, -1.25], [1, 2, 20, 21]);
    assert.equal(result.logprob, -1.75);
    assert.equal(result.isGreedy, true);
  });
  test("a non-finite log-probability makes the sum null, never NaN", () => {
    assert.equal(collectResult(plan, [Number.NaN, -1], [20, 21]).logprob, null);
    assert.equal(collectResult(plan, [null, -1], [20, 21]).logprob, null);
  });
  test("outputs of the wrong length are an error", () => {
    assert.throws(() => collectResult(plan, [-1, -1, -1], [20, 21, 22]), {
      message: "The log-probabilities have 3 entries; expected one per scored position (2) or one per input position (4).",
    });
  });
});

describe("planPrefixBatches: requests grouped by their shared context", () => {
  // A: ctx [1 2 3] + [4 5] → window [1 2 3 4]     B: ctx [1 2 3] + [4 6] → [1 2 3 4]     C: ctx [1 2 3] + [7] → [1 2 3]
  // D: ctx [1 2 8] + [9]   → window [1 2 8]       E: ctx [] (prefix 0) + [1 2] → [0 1]
  const plans: RequestPlan[] = [
    planRequest([1, 2, 3], [4, 5], 100, EOT),
    planRequest([1, 2, 3], [4, 6], 100, EOT),
    planRequest([1, 2, 3], [7], 100, EOT),
    planRequest([1, 2, 8], [9], 100, EOT),
    planRequest([], [1, 2], 100, EOT),
  ];

  test("one batch per context, ordered by shared prefix; each entry runs what follows the prefix", () => {
    const batches = planPrefixBatches(plans);
    assert.deepEqual(batches, [
      { sharedPrefix: [0, 1], sharedPrefixLength: 2, prefixOutputsFrom: 0, entries: [{ request: 4, runIds: [] }] },
      // LCP of [1 2 3 4], [1 2 3 4], [1 2 3] = [1 2 3]; the context's last token (position 2) is scored by all three.
      {
        sharedPrefix: [1, 2, 3],
        sharedPrefixLength: 3,
        prefixOutputsFrom: 2,
        entries: [
          { request: 0, runIds: [4] },
          { request: 1, runIds: [4] },
          { request: 2, runIds: [] },
        ],
      },
      { sharedPrefix: [1, 2, 8], sharedPrefixLength: 3, prefixOutputsFrom: 2, entries: [{ request: 3, runIds: [] }] },
    ]);
  });

  test("tokens requested 4 + 4 + 3 + 3 + 2 = 16; run 2 + (3 + 1 + 1 + 0) + 3 = 10", () => {
    assert.deepEqual(countBatchTokens(planPrefixBatches(plans)), { requests: 5, batches: 3, tokensRequested: 16, tokensRun: 10 });
  });

  test("grouping by item: two sentences after the prefix token share their first words", () => {
    // more = [1 2 3 4], less = [1 2 5 4]; windows [0 1 2 3] and [0 1 2 5]; shared [0 1 2]; run 3 + 1 + 1 = 5 of 8.
    const pair = [planRequest([], [1, 2, 3, 4], 100, EOT), planRequest([], [1, 2, 5, 4], 100, EOT)];
    const batches = planPrefixBatches(pair, { groupOf: () => "pair 0" });
    assert.deepEqual(batches, [
      {
        sharedPrefix: [0, 1, 2],
        sharedPrefixLength: 3,
        prefixOutputsFrom: 0,
        entries: [
          { request: 0, runIds: [3] },
          { request: 1, runIds: [5] },
        ],
      },
    ]);
    assert.deepEqual(countBatchTokens(batches), { requests: 2, batches: 1, tokensRequested: 8, tokensRun: 5 });
    // Grouped by context instead, both are one batch too (context [0]); the shared prefix is the same LCP.
    assert.equal(planPrefixBatches(pair)[0]?.sharedPrefixLength, 3);
  });

  test("running prefix + entries gives the same results as running every window in full", () => {
    // A toy model: the output at a position depends on every input token up to it (a causal model).
    const outputAt = (inputs: readonly number[], p: number): { key: number } => ({ key: inputs.slice(0, p + 1).reduce((h, t) => (h * 31 + t + 1) % 1009, 7) });
    const logprobOf = (o: { key: number }, target: number): number => -(((o.key + target * 13) % 17) + 1) / 8;
    const argmaxOf = (o: { key: number }): number => o.key % 10;
    const run = (inputs: readonly number[], from: number): Array<{ key: number }> => inputs.slice(from).map((_, i) => outputAt(inputs, from + i));

    const all = [...plans, planRequest([], [1, 2, 3, 4], 100, EOT), planRequest([], [1, 2, 5, 4], 100, EOT)];
    const direct = all.map((plan) => {
      const outs = run(plan.inputIds, 0).slice(plan.scoredFrom);
      return collectResult(
        plan,
        outs.map((o, j) => logprobOf(o, plan.targetIds[j] as number)),
        outs.map(argmaxOf),
      );
    });
    for (const batch of planPrefixBatches(all)) {
      const prefixOutputs = run(batch.sharedPrefix, 0).slice(batch.prefixOutputsFrom);
      for (const entry of batch.entries) {
        const plan = all[entry.request] as RequestPlan;
        const runOutputs = run(batch.sharedPrefix.concat(entry.runIds), batch.sharedPrefixLength);
        const outs = entryScoredOutputs(batch, entry, plan, prefixOutputs, runOutputs);
        const viaBatch = collectResult(
          plan,
          outs.map((o, j) => logprobOf(o, plan.targetIds[j] as number)),
          outs.map(argmaxOf),
        );
        assert.deepEqual(viaBatch, direct[entry.request], `request ${entry.request}`);
      }
    }
  });
});
