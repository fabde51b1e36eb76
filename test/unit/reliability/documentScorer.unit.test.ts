/**
 * The editor layer's scoring of documents under stress, without VS Code (a stand-in `vscode` module, a fake engine
 * session whose answers the test releases): oversized documents truncated or refused as the setting says (and said
 * so in one sentence), edits during a run and closing mid-run never apply a stale result, a run lost in an engine
 * crash is not reported as a failure of its own, and many documents keep one state each.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { installFakeVscode, fakeVscode } from "../../helpers/fakeVscode";
import type { EngineMethod, EngineParams, EngineResult, ScoreResult } from "../../../src/protocol/engine";
import type { ModelInfo, TokenScore } from "../../../src/core/types";
import { CONFIG_DEFAULTS, type LensConfig } from "../../../src/extension/config";
import { EngineError } from "../../../src/core/engineError";
import type { DocumentScoreState } from "../../../src/extension/documentScoreState";

installFakeVscode();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DocumentScorer } = require("../../../src/extension/documentScorer") as typeof import("../../../src/extension/documentScorer");

const model = { name: "m", path: "/models/m", vocabSize: 300 } as ModelInfo;

/** One character per token, like a byte-level model on ASCII text. */
function resultFor(docId: string, version: number, text: string): ScoreResult {
  const tokens: TokenScore[] = [...text].map((ch, i) => ({
    id: ch.charCodeAt(0),
    text: ch,
    start: i,
    end: i + 1,
    logprob: -1,
    prob: Math.exp(-1),
    rank: 1,
    entropy: 1,
    top: [],
  }));
  return {
    docId,
    version,
    model: "m",
    method: { method: "sliding", window: 64, stride: 32, prefix: "eos:<|endoftext|>" },
    metrics: { tokens: tokens.length, scoredTokens: tokens.length } as ScoreResult["metrics"],
    tokens,
    rescore: { tokensReused: 0, tokensRecomputed: tokens.length, millis: 1, fullRescoreMillisEstimate: 1 },
    cache: {} as ScoreResult["cache"],
  };
}

interface SentRequest {
  request: EngineParams<"score">;
  signal: AbortSignal | undefined;
  answer(result: ScoreResult): void;
  fail(error: Error): void;
}

class FakeSession {
  readonly sent: SentRequest[] = [];
  request<M extends EngineMethod>(method: M, params: EngineParams<M>, options: { signal?: AbortSignal } = {}): Promise<EngineResult<M>> {
    return new Promise<EngineResult<M>>((resolve, reject) => {
      if (method !== "score") throw new Error(`unexpected ${method}`);
      const sent: SentRequest = {
        request: params as EngineParams<"score">,
        signal: options.signal,
        answer: (r) => resolve(r as EngineResult<M>),
        fail: reject,
      };
      options.signal?.addEventListener("abort", () => reject(new EngineError("cancelled", "Scoring was cancelled.")), { once: true });
      this.sent.push(sent);
    });
  }
}

class FakeDocument {
  isClosed = false;
  constructor(
    readonly uri: { toString(): string; path: string },
    private text: string,
    public version = 1,
  ) {}
  getText(): string {
    return this.text;
  }
  edit(text: string): void {
    this.text = text;
    this.version++;
  }
}

function harness(config: Partial<LensConfig> = {}) {
  const session = new FakeSession();
  const failures: Array<{ message: string; explicit: boolean }> = [];
  const notices: string[] = [];
  const applied: ScoreResult[] = [];
  const logs: string[] = [];
  const logLine = (level: string) => (message: string) => void logs.push(`${level} ${message}`);
  const host = {
    log: { debug: logLine("debug"), info: logLine("info"), warn: logLine("warn"), error: logLine("error"), trace: logLine("trace") },
    config: { ...CONFIG_DEFAULTS, ...config } as LensConfig,
    readyEngine: async () => ({ session, model }),
    didChange: (_state: DocumentScoreState, result?: ScoreResult) => void (result && applied.push(result)),
    didFail: (_state: DocumentScoreState, message: string, explicit: boolean) => void failures.push({ message, explicit }),
    notify: (message: string) => void notices.push(message),
    didRelease: () => undefined,
  };
  const scorer = new DocumentScorer(host as never);
  return { scorer, session, failures, notices, applied, logs };
}

const doc = (name: string, text: string) => new FakeDocument(fakeVscode.Uri.file(`/work/${name}`), text);
const settle = () => new Promise((resolve) => setImmediate(resolve));

test("a document longer than maxDocumentSize is refused in one sentence when the setting says refuse", async () => {
  const { scorer, session, failures } = harness({ maxDocumentSize: 1000, oversizedDocuments: "refuse" });
  await scorer.score(doc("big.txt", "x".repeat(5000)) as never, "command");
  assert.equal(session.sent.length, 0, "nothing is sent to the engine");
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.explicit, true);
  assert.equal(
    failures[0]!.message,
    "big.txt has 5,000 characters, more than the limit of 1,000 (setting perplexityLens.maxDocumentSize), so it was not scored.",
  );
});

test("a 5 MB one-line document with the default limit is scored up to the limit and the user is told once", async () => {
  const { scorer, session, notices, applied } = harness({ oversizedDocuments: "truncate" });
  const limit = CONFIG_DEFAULTS.maxDocumentSize;
  // A surrogate pair straddles the limit: the cut must not split it.
  const line = "a".repeat(limit - 1) + "😀" + "b".repeat(5 * 1024 * 1024 - limit - 1);
  const document = doc("minified.js", line);
  const run = scorer.score(document as never, "command");
  await settle();
  assert.equal(session.sent.length, 1);
  const sentText = session.sent[0]!.request.text;
  assert.equal(sentText.length, limit - 1, "cut before the surrogate pair, never inside it");
  session.sent[0]!.answer(resultFor(document.uri.toString(), 1, "short"));
  await run;
  assert.equal(applied.length, 1);
  assert.equal(scorer.get(document.uri as never)?.truncatedFrom, line.length);
  assert.deepEqual(notices, [
    `minified.js has ${line.length.toLocaleString("en-US")} characters; only the first ${(limit - 1).toLocaleString("en-US")} are scored (settings perplexityLens.maxDocumentSize and perplexityLens.oversizedDocuments).`,
  ]);
  // A rescore of the same document does not repeat the notice.
  const again = scorer.score(document as never, "live");
  await settle();
  session.sent[1]!.answer(resultFor(document.uri.toString(), 1, "short"));
  await again;
  assert.equal(notices.length, 1);
});

test("an edit during a run: the old run is cancelled and its late result is not applied", async () => {
  const { scorer, session, applied } = harness();
  const document = doc("a.md", "version one");
  const first = scorer.score(document as never, "command");
  await settle();
  document.edit("version two");
  const second = scorer.score(document as never, "live");
  await settle();
  assert.equal(session.sent.length, 2);
  assert.equal(session.sent[0]!.signal?.aborted, true, "the first run was cancelled");
  // The engine answers the first run anyway (it finished before the cancel arrived).
  session.sent[0]!.answer(resultFor(document.uri.toString(), 1, "version one"));
  session.sent[1]!.answer(resultFor(document.uri.toString(), 2, "version two"));
  await Promise.all([first, second]);
  assert.deepEqual(
    applied.map((r) => r.version),
    [2],
    "only the current version's result is applied",
  );
  assert.equal(scorer.get(document.uri as never)?.scoring, false);
});

test("an edit after the request but without a new run (debounce pending) also drops the result", async () => {
  const { scorer, session, applied } = harness();
  const document = doc("b.md", "before");
  const run = scorer.score(document as never, "command");
  await settle();
  document.edit("after the edit");
  session.sent[0]!.answer(resultFor(document.uri.toString(), 1, "before"));
  await run;
  assert.equal(applied.length, 0);
});

test("closing the document mid-run cancels the run and applies nothing", async () => {
  const { scorer, session, applied, failures } = harness();
  const document = doc("c.md", "closing soon");
  const run = scorer.score(document as never, "command");
  await settle();
  document.isClosed = true;
  scorer.release(document.uri as never);
  assert.equal(session.sent[0]!.signal?.aborted, true);
  await run;
  assert.equal(applied.length, 0);
  assert.equal(failures.length, 0, "a cancellation is not a failure");
  assert.equal(scorer.get(document.uri as never), undefined, "no state is kept for a closed document");
});

test("a run lost in an engine crash is recorded on the document, not reported as a failure of its own", async () => {
  const { scorer, session, applied, failures, logs } = harness();
  const document = doc("d.md", "crash under me");
  const run = scorer.score(document as never, "command");
  await settle();
  session.sent[0]!.fail(new EngineError("crashed", "The engine worker crashed while working on this request (the engine worker exited with code 70)."));
  await run;
  assert.equal(applied.length, 0);
  assert.equal(failures.length, 0);
  assert.match(scorer.get(document.uri as never)?.error ?? "", /crashed/);
  assert.ok(logs.some((l) => l.startsWith("warn") && l.includes("lost in an engine crash")));
  assert.equal(scorer.get(document.uri as never)?.scoring, false, "the spinner ends");
});

test("an engine refusal (binary text) reaches the user in the engine's sentence", async () => {
  const { scorer, session, failures } = harness();
  const document = doc("e.bin", "bin\u0000ary");
  const run = scorer.score(document as never, "command");
  await settle();
  session.sent[0]!.fail(new EngineError("badInput", "The text contains NUL characters, so it looks binary and is not scored."));
  await run;
  assert.deepEqual(failures, [{ message: "The text contains NUL characters, so it looks binary and is not scored.", explicit: true }]);
});

test("many documents: one state each, results go to their own document, released ones are gone", async () => {
  const { scorer, session, applied } = harness();
  const documents = Array.from({ length: 50 }, (_, i) => doc(`many-${i}.md`, `document number ${i}`));
  const runs = documents.map((d) => scorer.score(d as never, "auto"));
  await settle();
  assert.equal(session.sent.length, 50);
  // Answer in reverse order.
  for (let i = 49; i >= 0; i--) session.sent[i]!.answer(resultFor(documents[i]!.uri.toString(), 1, documents[i]!.getText()));
  await Promise.all(runs);
  assert.equal(applied.length, 50);
  assert.equal(scorer.all().length, 50);
  for (const d of documents) assert.equal(scorer.get(d.uri as never)?.result?.tokens.length, d.getText().length);
  for (const d of documents.slice(0, 40)) scorer.release(d.uri as never);
  assert.equal(scorer.all().length, 10);
});
