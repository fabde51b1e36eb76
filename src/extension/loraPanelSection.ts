/**
 * The panel's LoRA section on the extension side: what it shows (every adapter the loaded model can use, with its
 * switch and scale, the apply mode, and the current document's perplexity with and without the active adapters) and
 * what its controls do. A switch from the panel goes through the same entry point as the command palette
 * (`LensContext.applyAdapters`), and the section is rebuilt from the shared adapter state (`LoraAdapters.onDidChange`),
 * so the palette, the status bar and the panel always show the same set.
 *
 * The "without" figures come from a base-model scoring of the same text in the worker (`scoreBase`: the document's
 * own cache is not touched, see Engine.scoreBase for its cost), remembered per document version, so toggling adapters
 * on an unchanged document costs no second scoring; a document scored with no adapter on gives them for free.
 * No `vscode` at run time: unit-tested with fakes.
 */
import { panelId } from "./panel/panelIds";
import { isEngineError } from "../core/engineError";
import { LruMap } from "../core/lruMap";
import type { MethodInfo, Metrics } from "../core/types";
import type { AdapterInfo, AdapterList, AdapterSelection, AdaptersChanged, BaseScore, ScoreOptions, ScoreResult } from "../protocol/engine";
import type { AdapterComparisonView, AdapterRow, AdaptersView, PerplexityFigures, SetAdapterMessage } from "../protocol/webview";
import type { AdapterSnapshot } from "./loraAdapters";

/** Whether `selection` names `adapter` (by name, and by folder when the selection has one). */
function sameAdapter(selection: Pick<AdapterSelection, "name" | "path">, adapter: Pick<AdapterSelection, "name" | "path">): boolean {
  return selection.name === adapter.name && (selection.path === undefined || adapter.path === undefined || selection.path === adapter.path);
}

/**
 * The active set after the panel's `change`: switched off, the adapter leaves the set; switched on (or its slider
 * moved), it is put in with the new scale, in place when it was active (the order is the order they are applied in),
 * else last. The other adapters keep their scales.
 */
/** A switch or slider change, resolved from the panel's row id to the adapter the row shows. */
export interface AdapterChange {
  name: string;
  path: string;
  enabled: boolean;
  scale: number;
}

export function selectionsAfterChange(active: readonly AdapterSelection[], change: AdapterChange): AdapterSelection[] {
  const target = { name: change.name, path: change.path };
  if (!change.enabled) return active.filter((s) => !sameAdapter(s, target)).map((s) => ({ ...s }));
  let found = false;
  const next = active.map((s) => {
    if (!sameAdapter(s, target)) return { ...s };
    found = true;
    return { name: change.name, path: change.path, scale: change.scale };
  });
  if (!found) next.push({ name: change.name, path: change.path, scale: change.scale });
  return next;
}

/**
 * One row per adapter: the listed ones in their order, then active ones the list does not hold (e.g. listed before a
 * folder setting changed). An off adapter shows the scale it had last (`remembered`), else 1.
 */
export function adapterRows(
  available: readonly AdapterInfo[],
  snapshot: Pick<AdapterSnapshot, "active" | "activeInfo">,
  remembered: ReadonlyMap<string, number>,
): AdapterRow[] {
  const infos = [...available];
  snapshot.activeInfo.forEach((info) => {
    if (!infos.some((a) => sameAdapter(a, info))) infos.push(info);
  });
  return infos.map((info) => {
    const selection = snapshot.active.find((s) => sameAdapter(s, info));
    const enabled = selection !== undefined && selection.scale !== 0;
    // In the set at scale 0 (slider moved to 0) shows 0; out of the set, the scale it had last.
    const scale = selection !== undefined ? selection.scale : (remembered.get(info.path) ?? 1);
    return {
      id: panelId("adapter", info.path),
      name: info.name,
      path: info.path,
      rank: info.rank,
      alpha: info.alpha,
      targetModules: [...info.targetModules],
      description: info.description,
      enabled,
      scale,
    };
  });
}

export function perplexityFigures(metrics: Metrics): PerplexityFigures {
  return { tokenPerplexity: metrics.tokenPerplexity, bitsPerByte: metrics.bitsPerByte, scoredTokens: metrics.scoredTokens };
}

/** What the base figures of one scoring depend on: the document version, the model and the windows. */
export function baseFiguresKey(docUri: string, version: number, modelPath: string, method: MethodInfo): string {
  return JSON.stringify([docUri, version, modelPath, method.method, method.window, method.stride, method.prefix]);
}

/** The latest score the panel shows, with what a base scoring of it needs. */
export interface ScoredDocument {
  docUri: string;
  fileName: string;
  modelPath: string;
  text: string;
  options: ScoreOptions;
  result: ScoreResult;
}

/** What the section needs from the rest of the extension (LensContext in the extension, fakes in tests). */
export interface LoraSectionHost {
  /** The adapters the loaded model can use; undefined when no model is loaded (the engine is not started for this). */
  listAdapters(): Promise<(AdapterList & { modelName: string }) | undefined>;
  /** LensContext.applyAdapters: the one entry point for the palette and the panel. */
  applyAdapters(selections: AdapterSelection[]): Promise<AdaptersChanged>;
  /** Scores `text` with the base model in the worker, apart from the document's own cache. */
  scoreBase(docUri: string, version: number, text: string, options: ScoreOptions): Promise<BaseScore>;
  /** Whether a panel page is open: base scorings are only run for an open panel (it asks again when a page loads). */
  panelOpen(): boolean;
  /** The shared adapter state. */
  readonly adapters: { readonly current: AdapterSnapshot };
  /** Sends the section to the panel. */
  show(view: AdaptersView): void;
  log: { debug(message: string): void; warn(message: string): void };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Base figures kept at most for this many document versions (a few documents, a few versions each). */
const rememberedBaseFigures = 32;

export class LoraPanelSection {
  private available: AdapterInfo[] = [];
  private problems: string[] = [];
  private modelName: string | null = null;
  private switching = 0;
  private error: string | null = null;
  /** The scale an adapter had when it was switched off, by folder, so switching it on again restores it. */
  private readonly rememberedScales = new Map<string, number>();
  private latest: ScoredDocument | null = null;
  /** Base figures (or why there are none) by baseFiguresKey, oldest first. */
  private readonly baseFigures = new LruMap<string, { figures: PerplexityFigures | null; note: string }>(rememberedBaseFigures);
  /** The key of the base scoring in flight, and the latest key that should be scored after it. */
  private baseInFlight: string | null = null;
  private baseWanted: ScoredDocument | null = null;
  private disposed = false;
  /** Switches from the panel, one after the other: each computes its set from the state the previous one left. */
  private switches: Promise<void> = Promise.resolve();

  constructor(private readonly host: LoraSectionHost) {}

  /** The model changed (or was loaded): list its adapters again; base figures of other models no longer apply. */
  async refreshList(): Promise<void> {
    try {
      const list = await this.host.listAdapters();
      if (list === undefined) return;
      this.available = list.adapters;
      this.problems = list.problems;
      this.modelName = list.modelName;
    } catch (error) {
      this.host.log.warn(`[lora] listing adapters for the panel failed: ${errorText(error)}`);
    }
    this.publish();
  }

  /** The shared adapter state changed (from the palette, the panel, a restart or a model change), or a panel page loaded. */
  adaptersChanged(): void {
    this.publish();
    this.requestBaseIfNeeded();
  }

  /** A new score of a document: the "with" figures; the "without" ones are looked up or scored. */
  documentScored(scored: ScoredDocument): void {
    this.latest = scored;
    const effective = scored.result.method.adapters ?? [];
    if (effective.length === 0) this.rememberBase(this.keyOf(scored), perplexityFigures(scored.result.metrics), "");
    this.publish();
    this.requestBaseIfNeeded();
  }

  /** The document was closed: stop showing it. */
  forgetDocument(docUri: string): void {
    if (this.latest?.docUri !== docUri) return;
    this.latest = null;
    this.publish();
  }

  /**
   * The panel's switch or slider moved. Resolves when the switch is done (or refused: the section shows why). Changes
   * are applied in order, each on the set the one before it left (two quick clicks on two adapters keep both).
   */
  setAdapter(message: SetAdapterMessage): Promise<void> {
    const row = adapterRows(this.available, this.host.adapters.current, this.rememberedScales).find((r) => r.id === message.id);
    if (row === undefined) {
      this.host.log.warn(`[lora] setAdapter names no adapter the panel listed (${message.id}); ignored.`);
      this.error = "That adapter is no longer in the list; choose it again.";
      this.publish();
      return Promise.resolve();
    }
    const change: AdapterChange = { name: row.name, path: row.path, enabled: message.enabled, scale: message.scale };
    this.switching++;
    this.publish();
    const run = this.switches.then(() => this.applyChange(change));
    this.switches = run;
    return run;
  }

  private async applyChange(change: AdapterChange): Promise<void> {
    const current = this.host.adapters.current.active.find((s) => sameAdapter(s, change));
    if (!change.enabled && current !== undefined && current.scale !== 0) this.rememberedScales.set(change.path, current.scale);
    if (change.enabled && change.scale !== 0) this.rememberedScales.set(change.path, change.scale);
    try {
      await this.host.applyAdapters(selectionsAfterChange(this.host.adapters.current.active, change));
      this.error = null;
    } catch (error) {
      this.error = errorText(error);
    } finally {
      this.switching--;
      this.publish();
    }
  }

  /** What the panel shows now. */
  view(): AdaptersView {
    const snapshot = this.host.adapters.current;
    return {
      modelName: this.modelName,
      adapters: adapterRows(this.available, snapshot, this.rememberedScales),
      mode: snapshot.mode,
      matchedModules: snapshot.matchedModules.length,
      problems: [...this.problems],
      switching: this.switching > 0,
      error: this.error,
      comparison: this.comparisonView(),
    };
  }

  dispose(): void {
    this.disposed = true;
  }

  private comparisonView(): AdapterComparisonView | null {
    const latest = this.latest;
    const effective = latest?.result.method.adapters ?? [];
    if (latest === null || effective.length === 0) return null;
    const base = this.baseFigures.get(this.keyOf(latest));
    return {
      docUri: latest.docUri,
      fileName: latest.fileName,
      version: latest.result.version,
      adapters: effective.map((a) => ({ name: a.name, scale: a.scale })),
      base: base?.figures ?? null,
      withAdapters: perplexityFigures(latest.result.metrics),
      baseNote: base?.note ?? "scoring the text with the base model…",
    };
  }

  private keyOf(scored: ScoredDocument): string {
    return baseFiguresKey(scored.docUri, scored.result.version, scored.modelPath, scored.result.method);
  }

  private rememberBase(key: string, figures: PerplexityFigures | null, note: string): void {
    this.baseFigures.set(key, { figures, note });
  }

  /** Scores the latest document with the base model when its figures are not known; one run at a time, latest wins. */
  private requestBaseIfNeeded(): void {
    const latest = this.latest;
    if (latest === null || (latest.result.method.adapters ?? []).length === 0 || this.baseFigures.has(this.keyOf(latest))) return;
    if (!this.host.panelOpen()) return;
    if (this.baseInFlight !== null) {
      this.baseWanted = latest;
      return;
    }
    void this.scoreBase(latest);
  }

  private async scoreBase(scored: ScoredDocument): Promise<void> {
    const key = this.keyOf(scored);
    this.baseInFlight = key;
    try {
      const answer = await this.host.scoreBase(scored.docUri, scored.result.version, scored.text, scored.options);
      const r = answer.rescore;
      this.rememberBase(
        key,
        perplexityFigures(answer.metrics),
        `base scored in ${Math.round(r.millis)} ms (${r.tokensRecomputed} tokens computed, ${r.tokensReused} reused)`,
      );
    } catch (error) {
      const message = errorText(error);
      this.host.log.debug(`[lora] base figures for ${scored.fileName}: ${message}`);
      // A cancelled run (document closed, superseded) or one lost in an engine restart is retried by the next score;
      // a refusal is shown.
      if (!(isEngineError(error) && (error.code === "cancelled" || error.code === "crashed"))) this.rememberBase(key, null, message);
    } finally {
      this.baseInFlight = null;
    }
    if (this.disposed) return;
    this.publish();
    const wanted = this.baseWanted;
    this.baseWanted = null;
    if (wanted !== null && wanted === this.latest) this.requestBaseIfNeeded();
  }

  private publish(): void {
    if (!this.disposed) this.host.show(this.view());
  }
}
