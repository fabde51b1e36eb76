/**
 * The extension ↔ engine-worker protocol: every message that crosses the worker_threads boundary.
 *
 * Direction is in each type's doc: "ext→worker" messages are sent by the extension host (src/extension)
 * or by any other client of the worker (tests, bench); "worker→ext" by src/worker.
 * Requests carry a numeric `id`; the worker answers each with exactly one `response` or `error`
 * with the same id, possibly preceded by `progress` messages. `cancel` asks the worker to stop a
 * request; a cancelled request ends with an `error` whose `code` is "cancelled".
 *
 * Both sides validate what they receive (see `isEngineRequest` / `isEngineEvent`).
 */
import type {
  KvCacheStats,
  MethodInfo,
  Metrics,
  ModelInfo,
  RescoreInfo,
  TokenScore,
  WindowMethod,
} from "../core/types";

/** Scoring options that the user's settings control. */
export interface ScoreOptions {
  method: WindowMethod;
  /** Tokens per window including the prefix token; clamped to the model's context length. 0 = model context. */
  window: number;
  /** Sliding-window stride in tokens; 0 = window / 2. Ignored for "rolling". */
  stride: number;
  /** How many alternatives to report per token. */
  topK: number;
}

/** An adapter to activate, by name (folder under the model's adapters/) or path, with its scale. */
export interface AdapterSelection {
  name: string;
  /** Absolute folder path; when absent the adapter is looked up under the model's adapters/ folder. */
  path?: string;
  scale: number;
}

export interface AdapterInfo {
  name: string;
  path: string;
  rank: number;
  alpha: number;
  targetModules: string[];
  description: string;
  baseModel: string;
}

// ---------------------------------------------------------------- requests (ext→worker)

/** ext→worker: load (or switch to) a model folder. Answer: ModelLoaded. The previous model stays in use if this fails. */
export interface LoadModelRequest {
  type: "loadModel";
  id: number;
  path: string;
  source: "embedded" | "folder";
  /** KV-cache budget in bytes for all documents together. */
  kvBudgetBytes: number;
  /** onnxruntime intra-op threads (1 is fastest on small machines). */
  threads: number;
}

/**
 * ext→worker: score a document's text. The worker reuses the KV cache of the longest unchanged
 * token prefix of the previous text scored under the same `docId`. Answer: ScoreResult.
 */
export interface ScoreRequest {
  type: "score";
  id: number;
  /** Stable key of the document (its URI); results and caches are per document. */
  docId: string;
  /** Document version the text was taken at; echoed back so stale results are never applied. */
  version: number;
  text: string;
  options: ScoreOptions;
}

/** ext→worker: forget a document's cache and state (document closed). Answer: Ack. */
export interface ReleaseDocumentRequest {
  type: "releaseDocument";
  id: number;
  docId: string;
}

/** ext→worker: set the active adapters (replaces the whole set). Answer: AdaptersChanged. Invalidates KV caches. */
export interface SetAdaptersRequest {
  type: "setAdapters";
  id: number;
  adapters: AdapterSelection[];
}

/** ext→worker: list adapters found in the model's adapters/ folder and in `extraDirs`. Answer: AdapterList. */
export interface ListAdaptersRequest {
  type: "listAdapters";
  id: number;
  extraDirs: string[];
}

/** ext→worker: current engine statistics. Answer: Stats. */
export interface GetStatsRequest {
  type: "getStats";
  id: number;
}

/** ext→worker: stop request `targetId` as soon as possible (within one chunk). No answer of its own. */
export interface CancelMessage {
  type: "cancel";
  targetId: number;
}

export type EngineRequest =
  | LoadModelRequest
  | ScoreRequest
  | ReleaseDocumentRequest
  | SetAdaptersRequest
  | ListAdaptersRequest
  | GetStatsRequest;

export type ExtToWorkerMessage = EngineRequest | CancelMessage;

// ---------------------------------------------------------------- answers (worker→ext)

export interface ModelLoaded {
  kind: "modelLoaded";
  model: ModelInfo;
}

export interface ScoreResult {
  kind: "scoreResult";
  docId: string;
  version: number;
  model: ModelInfo["name"];
  method: MethodInfo;
  metrics: Metrics;
  tokens: TokenScore[];
  rescore: RescoreInfo;
  cache: KvCacheStats;
}

export interface Ack {
  kind: "ack";
}

export interface AdaptersChanged {
  kind: "adaptersChanged";
  active: AdapterSelection[];
  /** "feed" when the graph has LoRA inputs, "merge" when weights were patched. */
  mode: "feed" | "merge" | "none";
  /** Module paths the adapters matched (merge) or fed (feed). */
  matchedModules: string[];
  cache: KvCacheStats;
}

export interface AdapterList {
  kind: "adapterList";
  adapters: AdapterInfo[];
  /** One sentence per adapter folder that could not be read. */
  problems: string[];
}

export interface Stats {
  kind: "stats";
  model: ModelInfo | null;
  cache: KvCacheStats;
  /** Resident memory of the worker's process, bytes. */
  rssBytes: number;
}

export type EngineAnswer = ModelLoaded | ScoreResult | Ack | AdaptersChanged | AdapterList | Stats;

/** worker→ext: the answer to request `id`. */
export interface ResponseMessage {
  type: "response";
  id: number;
  result: EngineAnswer;
}

export type EngineErrorCode = "cancelled" | "badInput" | "modelError" | "internal";

/** worker→ext: request `id` failed; `message` is one sentence naming what was wrong. */
export interface ErrorMessage {
  type: "error";
  id: number;
  code: EngineErrorCode;
  message: string;
}

/** worker→ext: progress of request `id` (tokens done of total). */
export interface ProgressMessage {
  type: "progress";
  id: number;
  done: number;
  total: number;
}

/** worker→ext: a log line for the extension's output channel. */
export interface LogMessage {
  type: "log";
  level: "trace" | "debug" | "info" | "warn" | "error";
  message: string;
}

export type WorkerToExtMessage = ResponseMessage | ErrorMessage | ProgressMessage | LogMessage;
