import { test } from "node:test";
import assert from "node:assert/strict";
import type * as vscode from "vscode";
import { DocumentScoreState, mapScopeThroughEdits } from "../../../src/extension/documentScoreState";
import type { ScoreResult } from "../../../src/protocol/engine";
import type { ModelInfo, TokenScore } from "../../../src/core/types";

const uri = { toString: () => "file:///doc.txt" } as unknown as vscode.Uri;
const model = { name: "m", path: "/m", vocabSize: 100 } as ModelInfo;

function tokenize(text: string): TokenScore[] {
  // Words with their leading whitespace, GPT-2 style.
  return [...text.matchAll(/\s*\S+|\s+$/g)].map((m, i) => ({
    id: i,
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
    logprob: i === 0 ? null : -i,
    prob: i === 0 ? null : Math.exp(-i),
    rank: i === 0 ? null : i,
    entropy: i === 0 ? null : 1,
    top: [],
  }));
}

function result(text: string, version = 1): ScoreResult {
  return { kind: "scoreResult", docId: "file:///doc.txt", version, model: "m", tokens: tokenize(text) } as unknown as ScoreResult;
}

test("applied tokens are placed at their document offsets, coloured without their whitespace", () => {
  const state = new DocumentScoreState(uri);
  const text = "Hello big\n\nworld";
  state.apply(result(text), text, 0, model);
  assert.deepEqual(
    state.tokens.map((t) => [t.start, t.end, text.slice(t.start + t.visibleLead, t.start + t.visibleLead + t.visibleLength)]),
    [
      [0, 5, "Hello"],
      [5, 9, "big"],
      [9, 16, "world"],
    ],
  );
  assert.equal(state.stale, false);
});

test("a selection's tokens are placed after the selection's start", () => {
  const state = new DocumentScoreState(uri);
  state.apply(result("big cat"), "big cat", 100, model);
  assert.deepEqual(
    state.tokens.map((t) => [t.start, t.end]),
    [
      [100, 103],
      [103, 107],
    ],
  );
  assert.equal(state.tokenAt(104)?.token.text, " cat");
});

test("the token under an offset is found by binary search; gaps and ends find nothing", () => {
  const state = new DocumentScoreState(uri);
  const text = "one two three four";
  state.apply(result(text), text, 0, model);
  assert.equal(state.tokenAt(0)?.token.text, "one");
  assert.equal(state.tokenAt(3)?.token.text, " two");
  assert.equal(state.tokenAt(17)?.token.text, " four");
  assert.equal(state.tokenAt(18), undefined);
  assert.equal(state.tokenAt(-1), undefined);
});

test("edits move tokens and annotations, drop the ones they touch, and mark the state stale", () => {
  const state = new DocumentScoreState(uri);
  const text = "one two three";
  state.apply(result(text), text, 0, model);
  state.annotations = [{ start: 0, end: 13, label: "ppl 3.00" }];
  state.applyEdits([{ offset: 0, deletedLength: 0, insertedLength: 4 }]); // "zero" typed before "one"
  assert.equal(state.stale, true);
  assert.deepEqual(
    state.tokens.map((t) => [t.start, t.end]),
    [
      [4, 7],
      [7, 11],
      [11, 17],
    ],
  );
  assert.deepEqual(
    state.annotations.map((a) => [a.start, a.end]),
    [[4, 17]],
  );
  state.applyEdits([{ offset: 8, deletedLength: 1, insertedLength: 0 }]); // inside " two"
  assert.deepEqual(
    state.tokens.map((t) => state.result?.tokens[t.index]?.text),
    ["one", " three"],
  );
  assert.deepEqual(state.annotations, [], "the paragraph's perplexity is no longer true");
});

test("a scored selection grows and shrinks with edits inside it and shifts with edits before it", () => {
  const scope = { start: 10, end: 20 };
  assert.deepEqual(mapScopeThroughEdits(scope, [{ offset: 0, deletedLength: 0, insertedLength: 3 }]), { start: 13, end: 23 });
  assert.deepEqual(mapScopeThroughEdits(scope, [{ offset: 15, deletedLength: 2, insertedLength: 5 }]), { start: 10, end: 23 });
  assert.deepEqual(mapScopeThroughEdits(scope, [{ offset: 20, deletedLength: 0, insertedLength: 1 }]), { start: 10, end: 21 });
  assert.deepEqual(mapScopeThroughEdits(scope, [{ offset: 25, deletedLength: 2, insertedLength: 0 }]), scope);
  assert.deepEqual(mapScopeThroughEdits(scope, [{ offset: 5, deletedLength: 20, insertedLength: 1 }]), { start: 5, end: 6 });
});
