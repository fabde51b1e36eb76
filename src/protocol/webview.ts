/**
 * The extension ↔ webview protocol: every message between the panel host (src/extension/panel) and
 * the panel UI (webview-ui/), as tagged unions on `type`.
 *
 * Direction is in each type's doc: "ext→webview" messages are posted by the host's LensPanel,
 * "webview→ext" by webview-ui. The webview posts `ready` once its script has loaded and its listener is
 * installed; the host posts nothing to a webview before that (messages posted earlier are lost), then
 * sends every section's current state. Both sides validate what they receive with
 * {@link isExtToWebviewMessage} / {@link isWebviewToExtMessage}, and drop (and log) anything else.
 *
 * Sections plug in by adding a message pair here: the LoRA section (issue "LoRA adapters…") adds an
 * ext→webview `adapters` message and a webview→ext `setAdapter`; the comparison view (issue
 * "Compare tokenizers…") an ext→webview `comparison` and a webview→ext `compare`.
 *
 * Kept free of DOM, Node and `vscode` types: both TypeScript projects compile this file.
 */
import type { KvCacheStats, MethodInfo, Metrics, ModelInfo, RescoreInfo } from "../core/types";
import type { DocumentStats, KvBytesBreakdown, RescoreAggregates, RescoreRecord } from "../core/documentStats";
import type { Comparison } from "../core/comparisonData";
import type { AdapterInfo, AdapterMode } from "./engine";

// ---------------------------------------------------------------- section data

/** The Document section: one scored document's metrics and the statistics drawn from its tokens. */
export interface DocumentView {
  /** URI of the document (string form); sent back in `revealToken`. */
  docUri: string;
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
 * One adapter in the LoRA section: its config (as the worker lists it; `name` and `path` are what `setAdapter` sends
 * back, so two folders with the same name stay apart) and whether (and how strongly) it is on.
 */
export interface AdapterRow extends Omit<AdapterInfo, "baseModel"> {
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

// ---------------------------------------------------------------- ext→webview

/** ext→webview: the loaded model (null: none loaded yet, or loading failed). Sent on ready and on change. */
export interface ModelMessage {
  type: "model";
  model: ModelInfo | null;
}

/** ext→webview: the latest scored document (null: nothing scored yet). Throttled by the host. */
export interface DocumentMessage {
  type: "document";
  document: DocumentView | null;
}

/** ext→webview: KV-cache statistics (null: no engine statistics yet). Throttled by the host. */
export interface CacheMessage {
  type: "cache";
  cache: CacheView | null;
}

/** ext→webview: the latest tokenizer comparison (null: none yet). Sent on ready and when a comparison finishes. */
export interface ComparisonMessage {
  type: "comparison";
  comparison: ComparisonView | null;
}

/** ext→webview: the LoRA section (null: not known yet). Sent on ready, when the adapters or the model change, and after scores. */
export interface AdaptersMessage {
  type: "adapters";
  adapters: AdaptersView | null;
}

export type ExtToWebviewMessage = ModelMessage | DocumentMessage | CacheMessage | ComparisonMessage | AdaptersMessage;

// ---------------------------------------------------------------- webview→ext

/** webview→ext: the UI has loaded and listens; the host answers with every section's state. */
export interface ReadyMessage {
  type: "ready";
}

/** webview→ext: the user clicked a token; reveal and select [start, end) (UTF-16 offsets) in the document. */
export interface RevealTokenMessage {
  type: "revealToken";
  docUri: string;
  start: number;
  end: number;
}

/** webview→ext: an error inside the webview, for the extension's log. */
export interface WebviewErrorMessage {
  type: "webviewError";
  message: string;
}

/** webview→ext: the user asked for a (new) comparison from the comparison view; the host runs Compare Tokenizers. */
export interface CompareMessage {
  type: "compare";
}

/**
 * webview→ext: the user switched an adapter or moved its scale slider in the LoRA section. The host applies the whole
 * new set through LensContext.applyAdapters (as the command palette does): `enabled` false takes it out of the set,
 * true puts it in with `scale` (0 keeps it loaded but off). Other active adapters keep their scales.
 */
export interface SetAdapterMessage {
  type: "setAdapter";
  name: string;
  path: string;
  enabled: boolean;
  scale: number;
}

export type WebviewToExtMessage = ReadyMessage | RevealTokenMessage | WebviewErrorMessage | CompareMessage | SetAdapterMessage;

// ---------------------------------------------------------------- persisted webview state

/**
 * What the webview keeps with `setState` (and VS Code hands to the tab serializer on restore): the
 * last data of every section, so a reloaded panel shows it before the host answers `ready`, and
 * which sections the user collapsed.
 */
export interface PersistedPanelState {
  version: 1;
  model: ModelInfo | null;
  document: DocumentView | null;
  cache: CacheView | null;
  /** The last comparison (absent in state saved before the comparison view existed). */
  comparison?: ComparisonView | null;
  /** The LoRA section (absent in state saved before it existed). */
  adapters?: AdaptersView | null;
  /** Ids of the sections the user closed. */
  collapsedSections: string[];
}

// ---------------------------------------------------------------- validation

type Check = (value: unknown) => boolean;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
const isString: Check = (v) => typeof v === "string";
const isNumber: Check = (v) => typeof v === "number" && Number.isFinite(v);
const isCount: Check = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isBoolean: Check = (v) => typeof v === "boolean";
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const arrayOf =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);
const oneOf =
  (...values: readonly unknown[]): Check =>
  (v) =>
    values.includes(v);
/** An object whose listed fields pass their checks (other fields are allowed and ignored). */
const shape =
  (fields: Record<string, Check>): Check =>
  (v) =>
    isRecord(v) && Object.entries(fields).every(([key, check]) => check(v[key]));

const isRankBuckets = shape({ top10: isCount, top100: isCount, top1000: isCount, rest: isCount });

const isMetrics = shape({
  tokens: isCount,
  scoredTokens: isCount,
  bytes: isCount,
  words: isCount,
  nll: isNumber,
  tokenPerplexity: nullable(isNumber),
  wordPerplexity: nullable(isNumber),
  bytePerplexity: nullable(isNumber),
  bitsPerByte: nullable(isNumber),
  nllStdErr: nullable(isNumber),
  rankBuckets: isRankBuckets,
});

const isMethod = shape({
  method: oneOf("sliding", "rolling"),
  window: isCount,
  stride: isCount,
  prefix: isString,
  adapters: optional(arrayOf(shape({ name: isString, scale: isNumber }))),
});

const isModelInfo = shape({
  name: isString,
  path: isString,
  source: oneOf("embedded", "folder"),
  architecture: isString,
  modelType: isString,
  vocabSize: isCount,
  contextLength: isCount,
  numLayers: isCount,
  numHeads: isCount,
  numKvHeads: isCount,
  headDim: isCount,
  hiddenSize: isCount,
  parameters: isCount,
  parametersEstimate: isCount,
  flopsPerToken: isNumber,
  kvDtype: oneOf("float32", "float16"),
  kvBytesPerToken: isCount,
  tokenizerType: isString,
  files: arrayOf(shape({ name: isString, bytes: isCount })),
  loraInputs: isBoolean,
});

const isKvCacheStats = shape({
  tokensCached: isCount,
  bytesHeld: isCount,
  budgetBytes: isCount,
  layerShape: arrayOf(isCount),
  tokensReused: isCount,
  tokensRecomputed: isCount,
  hitRate: nullable(isNumber),
  evictions: isCount,
  lastReset: optional(isString),
});

const isRescoreInfo = shape({ tokensReused: isCount, tokensRecomputed: isCount, millis: isNumber, fullRescoreMillisEstimate: isNumber });

const isRescoreRecord = shape({
  at: isNumber,
  document: isString,
  tokensReused: isCount,
  tokensRecomputed: isCount,
  millis: isNumber,
  fullRescoreMillisEstimate: isNumber,
});

const isRescoreAggregates = shape({
  rescores: isCount,
  tokensReused: isCount,
  tokensRecomputed: isCount,
  reuseFraction: nullable(isNumber),
  millis: isNumber,
  fullRescoreMillisEstimate: isNumber,
  millisSaved: isNumber,
  speedup: nullable(isNumber),
});

const isKvBytesBreakdown = shape({
  layers: isCount,
  kvHeads: isCount,
  headDim: isCount,
  tokens: isCount,
  dtype: oneOf("float32", "float16"),
  dtypeBytes: isCount,
  bytes: isCount,
  bytesPerToken: isCount,
});

const isDocumentStats = shape({
  histogram: shape({
    binWidthBits: isNumber,
    bins: arrayOf(shape({ fromBits: isNumber, toBits: nullable(isNumber), count: isCount })),
    scoredTokens: isCount,
    meanBits: nullable(isNumber),
    medianBits: nullable(isNumber),
    maxBits: nullable(isNumber),
  }),
  rankBars: arrayOf(shape({ bucket: oneOf("top10", "top100", "top1000", "rest"), label: isString, count: isCount, fraction: isNumber })),
  mostSurprising: arrayOf(
    shape({
      index: isCount,
      text: isString,
      start: isCount,
      end: isCount,
      surprisalBits: isNumber,
      prob: isNumber,
      rank: nullable(isCount),
      expected: nullable(isString),
    }),
  ),
  methodDescription: isString,
});

const isDocumentView = shape({
  docUri: isString,
  fileName: isString,
  version: isNumber,
  modelName: isString,
  method: isMethod,
  metrics: isMetrics,
  stats: isDocumentStats,
  scoredAt: isNumber,
});

const isCacheView = shape({
  stats: isKvCacheStats,
  reason: nullable(isString),
  bytes: nullable(isKvBytesBreakdown),
  lastRescore: nullable(isRescoreInfo),
  history: arrayOf(isRescoreRecord),
  historyTotals: isRescoreAggregates,
});

const isComparisonMetrics = (v: unknown): boolean =>
  isMetrics(v) && shape({ charsPerToken: nullable(isNumber), bytesPerToken: nullable(isNumber), nllBits: nullable(isNumber) })(v);

const isComparedToken = shape({ start: isCount, end: isCount, bits: nullable(isNumber) });

const isComparisonEntry = shape({
  model: shape({
    name: isString,
    path: isString,
    kind: oneOf("model", "tokenizer"),
    architecture: nullable(isString),
    vocabSize: isCount,
    contextLength: nullable(isCount),
    parameters: nullable(isCount),
    tokenizerType: isString,
  }),
  method: nullable(isMethod),
  metrics: isComparisonMetrics,
  tokens: arrayOf(isComparedToken),
  millis: isNumber,
});

const isComparison = shape({
  characters: isCount,
  bytes: isCount,
  words: isCount,
  entries: arrayOf(isComparisonEntry),
  verdict: shape({ sentence: isString, rankingByBitsPerByte: arrayOf(isCount), rankingByTokenPerplexity: arrayOf(isCount), sameTokenization: isBoolean }),
});

const isComparisonView = (v: unknown): boolean =>
  shape({ docUri: isString, fileName: isString, scope: oneOf("document", "selection"), text: isString, characters: isCount, comparison: isComparison, comparedAt: isNumber })(v) &&
  isRecord(v) &&
  (v.text as string).length <= (v.characters as number) &&
  // Every token of the side-by-side view lies inside the shown text, and ranges are ordered.
  ((v.comparison as { entries: { tokens: { start: number; end: number }[] }[] }).entries.every((entry) =>
    entry.tokens.every((t) => t.start <= t.end && t.end <= (v.text as string).length),
  ));

/** The largest scale magnitude accepted (as Set LoRA Scale does); the panel's slider covers 0–2. */
export const MAX_ADAPTER_SCALE = 10;

const isPerplexityFigures = shape({ tokenPerplexity: nullable(isNumber), bitsPerByte: nullable(isNumber), scoredTokens: isCount });

const isAdaptersView = shape({
  modelName: nullable(isString),
  adapters: arrayOf(
    shape({
      name: isString,
      path: isString,
      rank: isCount,
      alpha: isNumber,
      targetModules: arrayOf(isString),
      description: isString,
      enabled: isBoolean,
      scale: isNumber,
    }),
  ),
  mode: oneOf("feed", "merge", "none"),
  matchedModules: isCount,
  problems: arrayOf(isString),
  switching: isBoolean,
  error: nullable(isString),
  comparison: nullable(
    shape({
      docUri: isString,
      fileName: isString,
      version: isNumber,
      adapters: arrayOf(shape({ name: isString, scale: isNumber })),
      base: nullable(isPerplexityFigures),
      withAdapters: isPerplexityFigures,
      baseNote: isString,
    }),
  ),
});

const isAdapterScale: Check = (v) => isNumber(v) && Math.abs(v as number) <= MAX_ADAPTER_SCALE;

const extToWebviewChecks: Record<ExtToWebviewMessage["type"], Check> = {
  model: shape({ model: nullable(isModelInfo) }),
  document: shape({ document: nullable(isDocumentView) }),
  cache: shape({ cache: nullable(isCacheView) }),
  comparison: shape({ comparison: nullable(isComparisonView) }),
  adapters: shape({ adapters: nullable(isAdaptersView) }),
};

const webviewToExtChecks: Record<WebviewToExtMessage["type"], Check> = {
  ready: () => true,
  revealToken: (v) => shape({ docUri: isString, start: isCount, end: isCount })(v) && isRecord(v) && (v.start as number) <= (v.end as number),
  webviewError: shape({ message: isString }),
  compare: () => true,
  setAdapter: (v) => shape({ name: isString, path: isString, enabled: isBoolean, scale: isAdapterScale })(v) && isRecord(v) && v.name !== "",
};

function checkTagged(value: unknown, checks: Record<string, Check>): boolean {
  if (!isRecord(value) || typeof value.type !== "string") return false;
  const check = Object.prototype.hasOwnProperty.call(checks, value.type) ? checks[value.type] : undefined;
  return check !== undefined && check(value);
}

/** Validates what the webview receives: a known `type` with well-formed data. */
export function isExtToWebviewMessage(value: unknown): value is ExtToWebviewMessage {
  return checkTagged(value, extToWebviewChecks);
}

/** Validates what the host receives from a webview: a known `type` with well-formed fields. */
export function isWebviewToExtMessage(value: unknown): value is WebviewToExtMessage {
  return checkTagged(value, webviewToExtChecks);
}

/** Validates state read back with `getState()` or handed to the serializer; anything else is discarded. */
export function isPersistedPanelState(value: unknown): value is PersistedPanelState {
  return shape({
    version: oneOf(1),
    model: nullable(isModelInfo),
    document: nullable(isDocumentView),
    cache: nullable(isCacheView),
    comparison: optional(nullable(isComparisonView)),
    adapters: optional(nullable(isAdaptersView)),
    collapsedSections: arrayOf(isString),
  })(value);
}

/** A short description of a value that failed validation, for the log (never the whole payload). */
export function describeInvalidMessage(value: unknown): string {
  if (!isRecord(value)) return `not an object (${value === null ? "null" : typeof value})`;
  return typeof value.type === "string" ? `type "${value.type.slice(0, 40)}" unknown or malformed` : "no string `type`";
}
