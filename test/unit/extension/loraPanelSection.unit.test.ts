// The panel's LoRA section: its webview messages (valid, malformed, persisted), the set a switch or slider makes, the
// rows it shows, the section controller with a fake host (switches through applyAdapters in order, refusals shown,
// base figures remembered per version and scored only when missing, merge refusal, closed panel), and the engine's
// base scoring (the base model's figures with an adapter on, bit for bit, without touching the document's own cache).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Engine, baseShadowId } from "../../../src/core/engine";
import { EngineClient } from "../../../src/worker/engineClient";
import {
  engineRequestProblem,
  type AdapterInfo,
  type AdapterSelection,
  type AdaptersChanged,
  type BaseScore,
  type ScoreResult,
} from "../../../src/protocol/engine";
import {
  isExtToWebviewMessage,
  isPersistedPanelState,
  isWebviewToExtMessage,
  type AdaptersView,
  type PersistedPanelState,
  type SetAdapterMessage,
} from "../../../src/protocol/webview";
import type { Metrics } from "../../../src/core/types";
import { EngineError } from "../../../src/core/engineError";
import { panelId } from "../../../src/extension/panel/panelIds";
import type { AdapterSnapshot } from "../../../src/extension/loraAdapters";
import { LoraPanelSection, adapterRows, selectionsAfterChange, type LoraSectionHost, type ScoredDocument } from "../../../src/extension/loraPanelSection";
import { committedArtifact, repoRoot, workerScript } from "../../helpers/paths";

const root = repoRoot;
const MODEL = path.join(root, "models", "lens-gpt2-bpe4k");
const NO_LORA_MODEL = path.join(root, "test", "fixtures", "lens-gpt2-bpe4k-nolora");

const prose: AdapterInfo = {
  name: "markdown-prose",
  path: "/m/adapters/markdown-prose",
  rank: 8,
  alpha: 16,
  targetModules: ["q_proj", "v_proj"],
  description: "Markdown prose",
  baseModel: "lens-gpt2-bpe4k",
};
const code: AdapterInfo = { ...prose, name: "typescript-code", path: "/m/adapters/typescript-code", description: "TypeScript code" };

const view: AdaptersView = {
  modelName: "lens-gpt2-bpe4k",
  adapters: [
    {
      id: "adapter-0123456789abcdef",
      name: prose.name,
      path: prose.path,
      rank: 8,
      alpha: 16,
      targetModules: ["q_proj", "v_proj"],
      description: "Markdown prose",
      enabled: true,
      scale: 0.75,
    },
  ],
  mode: "feed",
  matchedModules: 8,
  problems: [],
  switching: false,
  error: null,
  comparison: {
    docUri: "file:///a.md",
    fileName: "a.md",
    version: 3,
    adapters: [{ name: prose.name, scale: 0.75 }],
    base: { tokenPerplexity: 20, bitsPerByte: 1.1, scoredTokens: 40 },
    withAdapters: { tokenPerplexity: 17, bitsPerByte: 1.0, scoredTokens: 40 },
    baseNote: "",
  },
};

// ---------------------------------------------------------------- protocol

test("setAdapter: well-formed messages pass, malformed ones are refused", () => {
  const ok: SetAdapterMessage = { id: "adapter-0123456789abcdef", enabled: true, scale: 0.75 };
  const message = (data: unknown) => ({ type: "setAdapter", data });
  assert.ok(isWebviewToExtMessage(message(ok)));
  assert.ok(isWebviewToExtMessage(message({ ...ok, enabled: false, scale: 0 })));
  for (const bad of [
    { ...ok, id: "" },
    { ...ok, id: 3 },
    { enabled: true, scale: 1 },
    { name: "x", path: "/etc", enabled: true, scale: 1 }, // a path is not an id
    { ...ok, enabled: "yes" },
    { ...ok, scale: Number.NaN },
    { ...ok, scale: Infinity },
    { ...ok, scale: 11 },
    { ...ok, scale: "1" },
  ]) {
    assert.equal(isWebviewToExtMessage(message(bad)), false, JSON.stringify(bad));
  }
  assert.equal(isWebviewToExtMessage({ type: "setAdapter", ...ok }), false, "the data travels in `data`");
});

test("adapters: the section's data passes, broken data is refused, and it is kept in the persisted state", () => {
  assert.ok(isExtToWebviewMessage({ type: "adapters", data: view }));
  assert.ok(isExtToWebviewMessage({ type: "adapters", data: null }));
  assert.ok(isExtToWebviewMessage({ type: "adapters", data: { ...view, comparison: { ...view.comparison!, base: null, baseNote: "scoring…" } } }));
  assert.equal(isExtToWebviewMessage({ type: "adapters", data: { ...view, mode: "fuse" } }), false);
  assert.equal(isExtToWebviewMessage({ type: "adapters", data: { ...view, adapters: [{ ...view.adapters[0], enabled: 1 }] } }), false);
  assert.equal(isExtToWebviewMessage({ type: "adapters", data: { ...view, comparison: { ...view.comparison!, withAdapters: null } } }), false);
  assert.equal(isExtToWebviewMessage({ type: "adapters" }), false);
  const state: PersistedPanelState = { version: 2, data: { model: null, document: null, cache: null, adapters: view }, collapsedSections: ["lora"] };
  assert.ok(isPersistedPanelState(state));
  const { adapters: _omitted, ...older } = state.data;
  assert.ok(isPersistedPanelState({ ...state, data: older }), "state saved before the LoRA section existed is still restored");
  assert.equal(isPersistedPanelState({ ...state, data: { ...state.data, adapters: { ...view, switching: "no" } } }), false);
});

test("scoreBase: the worker validates it like score", () => {
  const request = { docId: "file:///a.md", version: 2, text: "hi", options: { method: "sliding", window: 0, stride: 0, topK: 5 } };
  assert.equal(engineRequestProblem("scoreBase", request), null);
  assert.equal(engineRequestProblem("scoreBase", { ...request, docId: 1 }), "params.docId must be a string, not 1");
  assert.match(engineRequestProblem("scoreBase", { ...request, options: { method: "x" } }) ?? "", /^params\.options\.method must be one of/);
  assert.deepEqual(engineRequestProblem("scoreBase", request), engineRequestProblem("score", request), "validated like score");
});

// ---------------------------------------------------------------- the set a change makes, the rows shown

test("a switch or slider change makes the next set: in place, appended, or taken out; the others keep their scales", () => {
  const active: AdapterSelection[] = [
    { name: "markdown-prose", path: prose.path, scale: 0.5 },
    { name: "typescript-code", path: code.path, scale: 1 },
  ];
  const change = (name: string, p: string, enabled: boolean, scale: number) => ({ name, path: p, enabled, scale });
  assert.deepEqual(selectionsAfterChange(active, change("markdown-prose", prose.path, true, 1.5)), [
    { name: "markdown-prose", path: prose.path, scale: 1.5 },
    { name: "typescript-code", path: code.path, scale: 1 },
  ]);
  assert.deepEqual(selectionsAfterChange(active, change("markdown-prose", prose.path, false, 0.5)), [{ name: "typescript-code", path: code.path, scale: 1 }]);
  assert.deepEqual(selectionsAfterChange([], change("typescript-code", code.path, true, 1)), [{ name: "typescript-code", path: code.path, scale: 1 }]);
  // Same name in another folder is another adapter.
  assert.equal(selectionsAfterChange(active, change("markdown-prose", "/elsewhere/markdown-prose", true, 1)).length, 3);
  // A selection without a path (from the command line's names) matches by name.
  assert.deepEqual(selectionsAfterChange([{ name: "markdown-prose", scale: 1 }], change("markdown-prose", prose.path, false, 1)), []);
  assert.equal(active[0]!.scale, 0.5, "the input is not changed");
});

test("rows: on only with a non-zero scale; a scale-0 adapter shows 0; an off one its last scale, else 1; active ones missing from the list are added", () => {
  const remembered = new Map([[code.path, 0.4]]);
  const rows = adapterRows([prose, code], { active: [{ name: "markdown-prose", path: prose.path, scale: 0 }], activeInfo: [prose] }, remembered);
  assert.deepEqual(
    rows.map((r) => [r.name, r.enabled, r.scale]),
    [
      ["markdown-prose", false, 0],
      ["typescript-code", false, 0.4],
    ],
  );
  const extra: AdapterInfo = { ...prose, name: "legal", path: "/x/legal" };
  const withExtra = adapterRows([prose], { active: [{ name: "legal", path: extra.path, scale: 1.25 }], activeInfo: [extra] }, new Map());
  assert.deepEqual(
    withExtra.map((r) => [r.name, r.enabled, r.scale]),
    [
      ["markdown-prose", false, 1],
      ["legal", true, 1.25],
    ],
  );
});

// ---------------------------------------------------------------- the section with a fake host

function metrics(tokenPerplexity: number): Metrics {
  return {
    tokens: 10,
    scoredTokens: 10,
    bytes: 40,
    words: 8,
    nll: 10 * Math.log(tokenPerplexity),
    tokenPerplexity,
    wordPerplexity: null,
    bytePerplexity: null,
    bitsPerByte: (10 * Math.log(tokenPerplexity)) / (40 * Math.LN2),
    nllStdErr: null,
    rankBuckets: { top10: 10, top100: 0, top1000: 0, rest: 0 },
  };
}

function scored(version: number, tokenPerplexity: number, adapters: { name: string; scale: number }[]): ScoredDocument {
  const result: ScoreResult = {
    docId: "file:///a.md",
    version,
    model: "lens-gpt2-bpe4k",
    method: { method: "sliding", window: 256, stride: 128, prefix: "eos:<|endoftext|>", ...(adapters.length > 0 ? { adapters } : {}) },
    metrics: metrics(tokenPerplexity),
    tokens: [],
    rescore: { tokensReused: 0, tokensRecomputed: 10, millis: 5, fullRescoreMillisEstimate: 5 },
    cache: { tokensCached: 0, bytesHeld: 0, budgetBytes: 1, layerShape: [], tokensReused: 0, tokensRecomputed: 0, hitRate: null, evictions: 0 },
  };
  return {
    docUri: "file:///a.md",
    fileName: "a.md",
    modelPath: "/m",
    text: "some text",
    options: { method: "sliding", window: 0, stride: 0, topK: 5 },
    result,
  };
}

class FakeHost implements LoraSectionHost {
  snapshot: AdapterSnapshot = { active: [], activeInfo: [], mode: "none", matchedModules: [] };
  readonly adapters = { current: this.snapshot };
  readonly applied: AdapterSelection[][] = [];
  readonly baseRequests: number[] = [];
  readonly shown: AdaptersView[] = [];
  open = true;
  refuse: string | null = null;
  baseRefusal: string | null = null;
  /** The engine errors the next base scorings end with, one each (a cancelled run, a crashed worker). */
  readonly baseErrors: EngineError[] = [];
  basePerplexity = 30;
  readonly log = { debug: () => undefined, warn: () => undefined };
  /** Calls into this fake engine that have not answered yet. */
  inflight = 0;

  /** Wait until the fake engine has answered everything and nothing new was asked for a few turns of the event loop. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 3;) {
      await new Promise((resolve) => setImmediate(resolve));
      quiet = this.inflight === 0 ? quiet + 1 : 0;
    }
  }

  listAdapters() {
    return Promise.resolve({ adapters: [prose, code], problems: [], active: this.snapshot.active, mode: this.snapshot.mode, modelName: "lens-gpt2-bpe4k" });
  }

  async applyAdapters(selections: AdapterSelection[]): Promise<AdaptersChanged> {
    this.inflight++;
    await new Promise((resolve) => setTimeout(resolve, 5)).finally(() => this.inflight--);
    if (this.refuse !== null) throw new Error(this.refuse);
    this.applied.push(selections);
    const infos = selections.map((s) => [prose, code].find((a) => a.name === s.name)!);
    this.snapshot = { active: selections, activeInfo: infos, mode: "feed", matchedModules: selections.some((s) => s.scale !== 0) ? ["h.0.attn.q_proj"] : [] };
    this.adapters.current = this.snapshot;
    const cache = {
      tokensCached: 0,
      bytesHeld: 0,
      budgetBytes: 1,
      layerShape: [],
      tokensReused: 0,
      tokensRecomputed: 0,
      hitRate: null,
      evictions: 0,
      lastReset: "adapter changed",
    };
    return { active: selections, adapters: infos, mode: "feed", matchedModules: this.snapshot.matchedModules, cache, millis: 1 };
  }

  async scoreBase(_docUri: string, version: number): Promise<BaseScore> {
    this.baseRequests.push(version);
    this.inflight++;
    await new Promise((resolve) => setTimeout(resolve, 5)).finally(() => this.inflight--);
    if (this.baseRefusal !== null) throw new Error(this.baseRefusal);
    const error = this.baseErrors.shift();
    if (error !== undefined) throw error;
    const m = metrics(this.basePerplexity);
    return {
      docId: "file:///a.md",
      version,
      method: { method: "sliding", window: 256, stride: 128, prefix: "eos:<|endoftext|>" },
      metrics: m,
      rescore: { tokensReused: 4, tokensRecomputed: 6, millis: 7, fullRescoreMillisEstimate: 9 },
    };
  }

  panelOpen(): boolean {
    return this.open;
  }

  show(view: AdaptersView): void {
    this.shown.push(view);
  }

  get last(): AdaptersView {
    return this.shown[this.shown.length - 1]!;
  }
}

/** Read through a call, so an assertion on one view does not narrow the type of the next. */
function comparisonOf(host: FakeHost): AdaptersView["comparison"] {
  return host.last.comparison;
}

test("section: switches go through applyAdapters in order, each on the set the previous one left; the view follows the shared state", async () => {
  const host = new FakeHost();
  const section = new LoraPanelSection(host);
  await section.refreshList();
  assert.deepEqual(
    host.last.adapters.map((a) => a.enabled),
    [false, false],
  );
  const first = section.setAdapter({ id: panelId("adapter", prose.path), enabled: true, scale: 0.75 });
  assert.equal(host.last.switching, true, "the panel shows that a switch is running");
  const second = section.setAdapter({ id: panelId("adapter", code.path), enabled: true, scale: 1 });
  await Promise.all([first, second]);
  assert.deepEqual(host.applied, [
    [{ name: prose.name, path: prose.path, scale: 0.75 }],
    [
      { name: prose.name, path: prose.path, scale: 0.75 },
      { name: code.name, path: code.path, scale: 1 },
    ],
  ]);
  assert.equal(host.last.switching, false);
  assert.deepEqual(
    host.last.adapters.map((a) => [a.enabled, a.scale]),
    [
      [true, 0.75],
      [true, 1],
    ],
  );
  // Off keeps the scale for the next time it is switched on.
  await section.setAdapter({ id: panelId("adapter", prose.path), enabled: false, scale: 0.75 });
  assert.deepEqual(
    host.last.adapters.map((a) => [a.enabled, a.scale]),
    [
      [false, 0.75],
      [true, 1],
    ],
  );
  // A palette switch (the shared state changes elsewhere) shows up when the context says so.
  host.snapshot = { active: [], activeInfo: [], mode: "feed", matchedModules: [] };
  host.adapters.current = host.snapshot;
  section.adaptersChanged();
  assert.deepEqual(
    host.last.adapters.map((a) => a.enabled),
    [false, false],
  );
});

test("section: setAdapter names a listed row by its id; an id the section did not list (or a path) loads nothing", async () => {
  const host = new FakeHost();
  const section = new LoraPanelSection(host);
  await section.refreshList();
  assert.deepEqual(
    host.last.adapters.map((a) => a.id),
    [panelId("adapter", prose.path), panelId("adapter", code.path)],
  );
  assert.ok(!host.last.adapters.some((a) => a.id.includes("/")), "ids are opaque, not paths");
  await section.setAdapter({ id: panelId("adapter", "/etc/evil-adapter"), enabled: true, scale: 1 });
  await section.setAdapter({ id: "/m/adapters/markdown-prose", enabled: true, scale: 1 });
  assert.deepEqual(host.applied, [], "nothing was applied");
  assert.equal(host.last.error, "That adapter is no longer in the list; choose it again.");
  await section.setAdapter({ id: panelId("adapter", code.path), enabled: true, scale: 0.5 });
  assert.deepEqual(host.applied, [[{ name: code.name, path: code.path, scale: 0.5 }]]);
  assert.equal(host.last.error, null);
});

test("section: a refused switch is shown in one sentence and the previous set stays", async () => {
  const host = new FakeHost();
  const section = new LoraPanelSection(host);
  await section.refreshList();
  host.refuse = 'Adapter "typescript-code" adapts h.9.attn.q_proj, but the graph has LoRA inputs only for layers 0–3.';
  await section.setAdapter({ id: panelId("adapter", code.path), enabled: true, scale: 1 });
  assert.equal(host.last.error, host.refuse);
  assert.deepEqual(
    host.last.adapters.map((a) => a.enabled),
    [false, false],
  );
  host.refuse = null;
  await section.setAdapter({ id: panelId("adapter", code.path), enabled: true, scale: 1 });
  assert.equal(host.last.error, null, "the next switch that works clears it");
});

test("section: base figures are remembered per version (free from a score with no adapter), scored once when missing, never for a closed panel", async () => {
  const host = new FakeHost();
  const section = new LoraPanelSection(host);
  await section.refreshList();
  // Scored with no adapter: those are the base figures of version 1.
  section.documentScored(scored(1, 25, []));
  assert.ok(comparisonOf(host) === null, "no adapter on: nothing to compare");
  // Adapter switched on, same text rescored: base known, no base scoring.
  section.documentScored(scored(1, 18, [{ name: prose.name, scale: 1 }]));
  assert.deepEqual(host.baseRequests, []);
  assert.equal(comparisonOf(host)?.base?.tokenPerplexity, 25);
  assert.equal(comparisonOf(host)?.withAdapters.tokenPerplexity, 18);
  // An edit: version 2 is scored with the adapter; its base is scored once in the worker.
  section.documentScored(scored(2, 19, [{ name: prose.name, scale: 1 }]));
  assert.ok(comparisonOf(host)?.base === null);
  assert.match(comparisonOf(host)?.baseNote ?? "", /…$/);
  section.documentScored(scored(2, 19, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [2], "one base scoring per version");
  assert.equal(comparisonOf(host)?.base?.tokenPerplexity, 30);
  assert.match(comparisonOf(host)?.baseNote ?? "", /7 ms \(6 tokens computed, 4 reused\)/);
  // Several edits while one base scoring runs: only the latest version is scored after it.
  section.documentScored(scored(3, 19, [{ name: prose.name, scale: 1 }]));
  section.documentScored(scored(4, 19, [{ name: prose.name, scale: 1 }]));
  section.documentScored(scored(5, 19, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [2, 3, 5]);
  assert.equal(comparisonOf(host)?.version, 5);
  assert.equal(comparisonOf(host)?.base?.tokenPerplexity, 30);
  // A closed panel asks for nothing; opening it (adaptersChanged on page ready) does.
  host.open = false;
  section.documentScored(scored(6, 19, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [2, 3, 5]);
  host.open = true;
  section.adaptersChanged();
  await host.settle();
  assert.deepEqual(host.baseRequests, [2, 3, 5, 6]);
  section.forgetDocument("file:///a.md");
  assert.ok(comparisonOf(host) === null);
});

test("section: a base scoring the engine refuses (merge mode) says why instead of a number", async () => {
  const host = new FakeHost();
  host.baseRefusal = "The base model's perplexity is not computed in merge mode: m has no LoRA inputs, so it would need a second session.";
  const section = new LoraPanelSection(host);
  section.documentScored(scored(1, 18, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.ok(comparisonOf(host)?.base === null);
  assert.equal(comparisonOf(host)?.baseNote, host.baseRefusal);
  section.documentScored(scored(1, 18, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [1], "a refusal is remembered for that version, not asked again");
});

test("section: a cancelled or crashed base scoring is not remembered: the next score of that version asks again", async () => {
  const host = new FakeHost();
  host.baseErrors.push(new EngineError("cancelled", "Scoring was cancelled."), new EngineError("crashed", "The engine worker stopped."));
  const section = new LoraPanelSection(host);
  section.documentScored(scored(1, 18, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [1]);
  assert.ok(comparisonOf(host)?.base === null, "no figures from a cancelled run");
  assert.match(comparisonOf(host)?.baseNote ?? "", /…$/, "still shown as pending, not as a refusal");
  section.documentScored(scored(1, 18, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [1, 1], "asked again after the cancelled run");
  assert.ok(comparisonOf(host)?.base === null, "no figures from a crashed run");
  section.documentScored(scored(1, 18, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [1, 1, 1], "asked again after the crash");
  assert.equal(comparisonOf(host)?.base?.tokenPerplexity, 30, "the third run's figures are shown");
  section.documentScored(scored(1, 18, [{ name: prose.name, scale: 1 }]));
  await host.settle();
  assert.deepEqual(host.baseRequests, [1, 1, 1], "and then remembered");
});

// ---------------------------------------------------------------- the engine's base scoring

const available = committedArtifact("models/lens-gpt2-bpe4k/onnx/model.onnx", "npm run models") !== "";
committedArtifact("test/fixtures/lens-gpt2-bpe4k-nolora/onnx/model.onnx", "npm run models");
let engine: Engine;
before(async () => {
  if (!available) return;
  engine = new Engine();
  await engine.loadModel(MODEL);
});
after(async () => {
  await engine?.dispose();
});

const TEXT = "# Notes\n\nThe adapter was trained on Markdown prose: READMEs and changelogs of npm packages.\n\n- install it\n- run it\n";
const OPTIONS = { method: "sliding", window: 64, stride: 32, topK: 3 } as const;

test("engine: scoreBase with an adapter on gives the base model's metrics bit for bit, and leaves the document's own cache alone", async () => {
  const base = await engine.score("plain", TEXT, OPTIONS);
  await engine.setAdapters([{ name: "markdown-prose", scale: 1 }]);
  const withAdapter = await engine.score("doc", TEXT, OPTIONS);
  assert.notEqual(withAdapter.metrics.nll, base.metrics.nll, "the adapter changes the numbers");
  const baseOnly = await engine.scoreBase("doc", TEXT, OPTIONS);
  assert.equal(baseOnly.metrics.nll, base.metrics.nll, "base figures are the base model's, bit for bit");
  assert.equal(baseOnly.metrics.tokenPerplexity, base.metrics.tokenPerplexity);
  assert.equal(baseOnly.method.adapters, undefined, "the base method names no adapters");
  // The adapter's feeds are back, and the document's own state is untouched: rescoring it reuses everything.
  const again = await engine.score("doc", TEXT, OPTIONS);
  assert.equal(again.metrics.nll, withAdapter.metrics.nll);
  assert.equal(again.rescore.tokensRecomputed, 0, "the document's cache survived the base scoring");
  // The shadow is incremental too: an appended line recomputes only the end.
  const longer = `${TEXT}- and test it\n`;
  const incremental = await engine.scoreBase("doc", longer, OPTIONS);
  assert.ok(
    incremental.rescore.tokensReused > 0 && incremental.rescore.tokensRecomputed < incremental.rescore.tokensReused,
    JSON.stringify(incremental.rescore),
  );
  // Releasing the document releases its shadow.
  await engine.releaseDocument("doc");
  const fresh = await engine.scoreBase("doc", longer, OPTIONS);
  assert.equal(fresh.rescore.tokensReused, 0, `${baseShadowId("doc")} was released with the document`);
  await engine.setAdapters([]);
});

test("engine: scoreBase refuses in merge mode, in one sentence", async () => {
  const merged = new Engine();
  try {
    await merged.loadModel(NO_LORA_MODEL);
    await merged.setAdapters([{ name: "markdown-prose", path: path.join(MODEL, "adapters", "markdown-prose"), scale: 1 }]);
    await assert.rejects(merged.scoreBase("doc", TEXT, OPTIONS), /merge mode.*second session/);
  } finally {
    await merged.dispose();
  }
});

test("worker: scoreBase round trip through EngineClient; the base figures match a score with the adapter off", async () => {
  const client = new EngineClient(workerScript, () => undefined);
  try {
    await client.request("loadModel", { path: MODEL, source: "embedded", kvBudgetBytes: 64 * 1024 * 1024, threads: 1 });
    const plain = await client.request("score", { docId: "d", version: 1, text: TEXT, options: OPTIONS });
    await client.request("setAdapters", { adapters: [{ name: "markdown-prose", scale: 1 }] });
    const withAdapter = await client.request("score", { docId: "d", version: 1, text: TEXT, options: OPTIONS });
    const base = await client.request("scoreBase", { docId: "d", version: 1, text: TEXT, options: OPTIONS });
    assert.equal(base.version, 1);
    assert.equal(base.metrics.nll, plain.metrics.nll);
    assert.notEqual(base.metrics.nll, withAdapter.metrics.nll);
    assert.deepEqual(withAdapter.method.adapters, [{ name: "markdown-prose", scale: 1 }]);
  } finally {
    await client.dispose();
  }
});
