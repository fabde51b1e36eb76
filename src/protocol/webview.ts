/**
 * The extension ↔ webview protocol, declared once: the panel's sections (each with the schema of its data) and the
 * messages the webview sends (each with the schema of its data). Every message is `{type: K, data}`:
 *  - ext→webview: one message per section, `{type: "document", data: PanelData["document"]}`, posted by the host's
 *    LensPanel whenever that section's data changes (null: nothing to show yet);
 *  - webview→ext: `{type: "revealToken", data: {...}}` etc., posted by webview-ui.
 * The webview posts `ready` once its script has loaded and its listener is installed; the host posts nothing to a
 * webview before that (messages posted earlier are lost), then sends every section's current state. Both sides
 * validate what they receive against these schemas and drop (and log) anything else.
 *
 * Adding a panel section: its entry in `panelSections` (schema of its data), the host's code that posts it, and its
 * view in webview-ui/src/sections/. Nothing else.
 *
 * Kept free of DOM, Node and `vscode` types: both TypeScript projects compile this file.
 */
import type { KvCacheStats, MethodInfo, Metrics, RescoreInfo } from "../core/types";
import type { DocumentStats, KvBytesBreakdown, RescoreAggregates, RescoreRecord } from "../core/documentStats";
import type { Comparison } from "../core/comparisonData";
import type { AdapterInfo, AdapterMode } from "../core/lora/adapterTypes";
import {
  adapterMode,
  adapterScale,
  comparison,
  documentStats,
  kvBytesBreakdown,
  kvCacheStats,
  methodInfo,
  metrics,
  modelInfo,
  rescoreAggregates,
  rescoreInfo,
  rescoreRecord,
} from "./coreSchemas";
import { arrayOf, boolean, count, nullable, number, object, oneOf, optional, refine, string, type Infer, type OptionalSchema, type Schema } from "./schema";

export type * from "./coreTypes";
export { MAX_ADAPTER_SCALE } from "./coreSchemas";

// ---------------------------------------------------------------- section data

/** The Document section: one scored document's metrics and the statistics drawn from its tokens. */
export interface DocumentView {
  /** The host's opaque id of the document; sent back in `revealToken` (never a URI). */
  docId: string;
  /** Name to show, e.g. the file's base name. */
  fileName: string;
  /** Document version the result belongs to. */
  version: number;
  /** Name of the model that scored it. */
  modelName: string;
  method: MethodInfo;
  metrics: Metrics;
  stats: DocumentStats;
  /** Milliseconds since the epoch when the result arrived. */
  scoredAt: number;
}

/** The KV-cache section: the engine's counters and what the panel derives from them. */
export interface CacheView {
  stats: KvCacheStats;
  /** Why the cache was just reset, e.g. "adapter changed"; null when this update is not a reset. */
  reason: string | null;
  /** The terms of the bytes formula with the current model's numbers; null before a model is known. */
  bytes: KvBytesBreakdown | null;
  /** What the last (re)score did; null before the first. */
  lastRescore: RescoreInfo | null;
  /** Recent rescores, oldest first, for the reuse chart. */
  history: RescoreRecord[];
  historyTotals: RescoreAggregates;
}

/**
 * The comparison view (Compare Tokenizers): the metrics of every compared model over the whole text, the fairness
 * verdict, and the text split by each tokenizer for the side-by-side view — the first `text.length` characters only
 * (each entry's `tokens` are those that start in it), so a long document does not flood the webview.
 */
export interface ComparisonView {
  /** URI of the compared document (string form). */
  docUri: string;
  fileName: string;
  /** Whether the whole document or the selection was compared. */
  scope: "document" | "selection";
  /** The compared text from its start up to the cut: what is shown side by side (offsets of tokens are into it). */
  text: string;
  /** UTF-16 length of the whole compared text (the metrics cover all of it); > text.length when the view is cut. */
  characters: number;
  comparison: Comparison;
  /** Milliseconds since the epoch when the comparison finished. */
  comparedAt: number;
}

/**
 * One adapter in the LoRA section: its config (as the worker lists it) and whether (and how strongly) it is on. `id` is
 * what `setAdapter` sends back: the host's opaque id of the row (two folders with the same name stay apart), never a path.
 */
export interface AdapterRow extends Omit<AdapterInfo, "baseModel"> {
  id: string;
  /** On: in the active set with a non-zero scale. */
  enabled: boolean;
  /** Its scale when on; when off, the scale it gets when switched on again (the last one used, else 1). */
  scale: number;
}

/** Token perplexity and bits per byte of one scoring of the document. */
export interface PerplexityFigures {
  tokenPerplexity: number | null;
  bitsPerByte: number | null;
  scoredTokens: number;
}

/** The current document with and without the active adapters, side by side (same text, same method). */
export interface AdapterComparisonView {
  docUri: string;
  fileName: string;
  /** Document version both figures belong to. */
  version: number;
  /** The effective adapters (non-zero scale) the "with" figures were scored with. */
  adapters: { name: string; scale: number }[];
  /** The base model without adapters; null while it is being scored or when it could not be (see `baseNote`). */
  base: PerplexityFigures | null;
  /** With the active adapters: the document's own score. */
  withAdapters: PerplexityFigures;
  /** Why `base` is null, or what it cost (e.g. "scored in 40 ms, 12 tokens recomputed"); "" for nothing to say. */
  baseNote: string;
}

/** The LoRA section: the adapters the loaded model can use, the active set, and the document with and without it. */
export interface AdaptersView {
  /** The loaded model; null before one is loaded (the section then says how to get one). */
  modelName: string | null;
  adapters: AdapterRow[];
  /** How the adapters reach the model: "feed" (graph inputs, no session rebuild), "merge" (weights patched, session rebuilt), "none" (never set). */
  mode: AdapterMode;
  /** How many modules of the base model the active adapters change. */
  matchedModules: number;
  /** One sentence per adapter folder that could not be read. */
  problems: string[];
  /** True while a switch asked for from the panel or the palette is running. */
  switching: boolean;
  /** The last switch's refusal (one sentence), until the next switch succeeds; null when none. */
  error: string | null;
  /** Null when no adapter is on or nothing is scored. */
  comparison: AdapterComparisonView | null;
}

// ---------------------------------------------------------------- schemas of the views

const finite = number();
const perplexityFigures: Schema<PerplexityFigures> = object({ tokenPerplexity: nullable(finite), bitsPerByte: nullable(finite), scoredTokens: count() });

const documentView: Schema<DocumentView> = object({
  docId: string({ nonEmpty: true }),
  fileName: string(),
  version: finite,
  modelName: string(),
  method: methodInfo,
  metrics,
  stats: documentStats,
  scoredAt: finite,
});

const cacheView: Schema<CacheView> = object({
  stats: kvCacheStats,
  reason: nullable(string()),
  bytes: nullable(kvBytesBreakdown),
  lastRescore: nullable(rescoreInfo),
  history: arrayOf(rescoreRecord),
  historyTotals: rescoreAggregates,
});

const comparisonView: Schema<ComparisonView> = refine(
  object({ docUri: string(), fileName: string(), scope: oneOf("document", "selection"), text: string(), characters: count(), comparison, comparedAt: finite }),
  // Every token of the side-by-side view lies inside the shown text.
  (v) => v.text.length <= v.characters && v.comparison.entries.every((entry) => entry.tokens.every((t) => t.end <= v.text.length)),
  "the shown text is longer than the compared text or a token lies outside it",
);

const adapterRow: Schema<AdapterRow> = object({
  id: string({ nonEmpty: true }),
  name: string(),
  path: string(),
  rank: count(),
  alpha: finite,
  targetModules: arrayOf(string()),
  description: string(),
  enabled: boolean(),
  scale: finite,
});

const adaptersView: Schema<AdaptersView> = object({
  modelName: nullable(string()),
  adapters: arrayOf(adapterRow),
  mode: adapterMode,
  matchedModules: count(),
  problems: arrayOf(string()),
  switching: boolean(),
  error: nullable(string()),
  comparison: nullable(
    object({
      docUri: string(),
      fileName: string(),
      version: finite,
      adapters: arrayOf(object({ name: string(), scale: finite })),
      base: nullable(perplexityFigures),
      withAdapters: perplexityFigures,
      baseNote: string(),
    }),
  ),
});

// ---------------------------------------------------------------- the sections (ext→webview)

/**
 * Every section of the panel and the schema of its data. The host posts `{type: K, data}` for section K; the webview
 * keeps the last data of each (and persists it), redrawing the views that depend on it.
 */
export const panelSections = {
  /** The loaded model (null: none loaded yet, or loading failed). Sent on ready and on change. */
  model: nullable(modelInfo),
  /** The latest scored document (null: nothing scored yet). Throttled by the host. */
  document: nullable(documentView),
  /** KV-cache statistics (null: no engine statistics yet). Throttled by the host. */
  cache: nullable(cacheView),
  /** The latest tokenizer comparison (null: none yet). Sent on ready and when a comparison finishes. */
  comparison: nullable(comparisonView),
  /** The LoRA section (null: not known yet). Sent on ready, when the adapters or the model change, and after scores. */
  adapters: nullable(adaptersView),
};

export type PanelSectionName = keyof typeof panelSections;
export const PANEL_SECTION_NAMES = Object.keys(panelSections) as PanelSectionName[];
export type PanelData = { [K in PanelSectionName]: Infer<(typeof panelSections)[K]> };
export type ExtToWebviewMessage = { [K in PanelSectionName]: { type: K; data: PanelData[K] } }[PanelSectionName];

// ---------------------------------------------------------------- webview→ext

/** Every message the webview sends, and the schema of its data. */
export const webviewMessages = {
  /** The UI has loaded and listens; the host answers with every section's state. */
  ready: object({}),
  /**
   * The user clicked a token: reveal and select token `index` of the scored document `docId` (the id the Document
   * section was given). The host opens only documents it scored, so no message can open a file of its own choosing.
   */
  revealToken: object({ docId: string({ nonEmpty: true }), index: count() }),
  /** An error inside the webview, for the extension's log. */
  webviewError: object({ message: string() }),
  /** The user asked for a (new) comparison from the comparison view; the host runs Compare Tokenizers. */
  compare: object({}),
  /**
   * The user switched an adapter or moved its scale slider in the LoRA section. The host applies the whole new set
   * through LensContext.applyAdapters (as the command palette does): `enabled` false takes it out of the set, true
   * puts it in with `scale` (0 keeps it loaded but off). Other active adapters keep their scales. `id` is a row's id
   * (AdapterRow.id): only an adapter the section listed can be named, never a folder of the webview's choosing.
   */
  setAdapter: object({ id: string({ nonEmpty: true }), enabled: boolean(), scale: adapterScale }),
};

export type WebviewMessageName = keyof typeof webviewMessages;
export type WebviewMessageData<K extends WebviewMessageName> = Infer<(typeof webviewMessages)[K]>;
export type WebviewToExtMessage = { [K in WebviewMessageName]: { type: K; data: WebviewMessageData<K> } }[WebviewMessageName];
export type SetAdapterMessage = WebviewMessageData<"setAdapter">;

// ---------------------------------------------------------------- persisted webview state

/** Every section's data, each optional: state saved before a section existed is restored with that section empty. */
const sectionsData = object(
  Object.fromEntries(PANEL_SECTION_NAMES.map((name) => [name, optional(panelSections[name] as Schema<unknown>)])) as {
    [K in PanelSectionName]: OptionalSchema<Infer<(typeof panelSections)[K]>>;
  },
);

/**
 * What the webview keeps with `setState` (and VS Code hands to the tab serializer on restore): the last data of every
 * section, so a reloaded panel shows it before the host answers `ready`, and which sections the user collapsed.
 * State of another version (version 1 kept each section at the top level) is discarded.
 */
export const persistedPanelState = object({ version: oneOf(2), data: sectionsData, collapsedSections: arrayOf(string()) });
export type PersistedPanelState = Infer<typeof persistedPanelState>;

// ---------------------------------------------------------------- validation

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function taggedProblem(value: unknown, schemas: Record<string, { check(v: unknown, path: string): string | null }>): string | null {
  if (!isRecord(value)) return `not an object (${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value})`;
  const type = value["type"];
  if (typeof type !== "string") return "no string `type`";
  const schema = Object.prototype.hasOwnProperty.call(schemas, type) ? schemas[type] : undefined;
  if (schema === undefined) return `unknown type "${type.slice(0, 40)}"`;
  return schema.check(value["data"], `${type.slice(0, 40)}.data`);
}

/** Why a message to the webview is invalid, or null. */
export function extToWebviewMessageProblem(value: unknown): string | null {
  return taggedProblem(value, panelSections);
}

/** Why a message from the webview is invalid, or null. */
export function webviewToExtMessageProblem(value: unknown): string | null {
  return taggedProblem(value, webviewMessages);
}

/** Validates what the webview receives: a known section with well-formed data. */
export function isExtToWebviewMessage(value: unknown): value is ExtToWebviewMessage {
  return extToWebviewMessageProblem(value) === null;
}

/** Validates what the host receives from a webview: a known message with well-formed data. */
export function isWebviewToExtMessage(value: unknown): value is WebviewToExtMessage {
  return webviewToExtMessageProblem(value) === null;
}

/** Validates state read back with `getState()` or handed to the serializer; anything else is discarded. */
export function isPersistedPanelState(value: unknown): value is PersistedPanelState {
  return persistedPanelState.check(value, "state") === null;
}

/** A short description of a value that failed validation, for the log (never the whole payload). */
export function describeInvalidMessage(value: unknown, schemas: "toWebview" | "toExtension" = "toWebview"): string {
  return (schemas === "toWebview" ? extToWebviewMessageProblem(value) : webviewToExtMessageProblem(value)) ?? "valid";
}
