/**
 * The extension ↔ engine-worker protocol: every message that crosses the worker_threads boundary.
 *
 * Direction is in each type's doc: "ext→worker" messages are sent by the extension host (src/extension)
 * or by any other client of the worker (tests, bench); "worker→ext" by src/worker.
 * Requests carry a numeric `id`; the worker answers each with exactly one `response` or `error`
 * with the same id, possibly preceded by `progress` messages. `cancel` asks the worker to stop a
 * request; a cancelled request ends with an `error` whose `code` is "cancelled".
 *
 * Both sides validate what they receive (see `extToWorkerMessageProblem` / `isWorkerToExtMessage` at the end).
 * `EngineClient` (src/worker/engineClient.ts) is the client side: one promise per request, progress callbacks,
 * cancellation through an AbortSignal, and a restart after a crash.
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
import type { Comparison, ComparisonOptions, ComparisonTarget } from "../core/comparisonData";

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

/**
 * An adapter to activate, by name (folder under the model's adapters/, then under the request's extraDirs) or path,
 * with its scale: the model computes W + scale · (lora_alpha / r) · B·A. Scale 0 keeps the adapter loaded but off.
 */
export interface AdapterSelection {
  name: string;
  /** Absolute folder path; when absent the adapter is looked up under the model's adapters/ folder. */
  path?: string;
  scale: number;
}

/** An adapter as its adapter_config.json describes it. */
export interface AdapterInfo {
  /** Its folder's name. */
  name: string;
  /** Absolute folder path. */
  path: string;
  rank: number;
  alpha: number;
  /** target_modules (a regular expression is listed as one entry). */
  targetModules: string[];
  /** The config's "description" (the domain it was trained on), or "". */
  description: string;
  /** base_model_name_or_path, or "". */
  baseModel: string;
}

/** How adapters reach the model: "feed" (graph LoRA inputs, no rebuild), "merge" (weights patched, session rebuilt), "none" (never set). */
export type AdapterMode = "feed" | "merge" | "none";

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

/**
 * ext→worker: score a document's text with the base model (no LoRA adapters), for the panel's "with and without"
 * figures, without touching the document's own cache: the worker keeps the base scoring's state under a shadow of
 * `docId` (reused incrementally, released with the document). Answer: BaseScore. Fails with "badInput" in merge mode.
 */
export interface ScoreBaseRequest {
  type: "scoreBase";
  id: number;
  docId: string;
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

/**
 * ext→worker: set the active adapters on the loaded model (replaces the whole set; [] turns them off). Answer:
 * AdaptersChanged. Drops every document's KV cache (lastReset "adapter changed"): rescore the visible documents after it.
 * Fails with "badInput" and one sentence naming the adapter when one cannot be used; the previous set then stays active.
 * Loading a model starts it with no adapters.
 */
export interface SetAdaptersRequest {
  type: "setAdapters";
  id: number;
  adapters: AdapterSelection[];
  /** Folders (perplexityLens.adapterFolders) where names not found under the model's adapters/ are looked up. */
  extraDirs?: string[];
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

/**
 * ext→worker: score one text with every model target and split it with every tokenizer-only target (a folder with just
 * tokenizer.json), for the comparison view. Answer: ComparisonResult. Progress messages carry `step` (which target).
 * The loaded model stays loaded (a target with its folder is scored by it); other models are loaded in sessions of
 * their own, one at a time, and released after the comparison. Needs at least two targets.
 */
export interface CompareRequest {
  type: "compare";
  id: number;
  text: string;
  targets: ComparisonTarget[];
  options: ComparisonOptions;
}

/** ext→worker: stop request `targetId` as soon as possible (within one chunk). No answer of its own. */
export interface CancelMessage {
  type: "cancel";
  targetId: number;
}

export type EngineRequest =
  | LoadModelRequest
  | ScoreRequest
  | ScoreBaseRequest
  | ReleaseDocumentRequest
  | SetAdaptersRequest
  | ListAdaptersRequest
  | GetStatsRequest
  | CompareRequest;

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

/** The answer to ScoreBaseRequest: the base model's metrics for the text, and what the run cost. */
export interface BaseScore {
  kind: "baseScore";
  docId: string;
  version: number;
  method: MethodInfo;
  metrics: Metrics;
  rescore: RescoreInfo;
}

export interface Ack {
  kind: "ack";
}

export interface AdaptersChanged {
  kind: "adaptersChanged";
  /** The selections now active, scale 0 included. */
  active: AdapterSelection[];
  /** Each active adapter's config, in the order of `active`. */
  adapters: AdapterInfo[];
  /** "feed" when the graph has LoRA inputs, "merge" when weights were patched. */
  mode: AdapterMode;
  /** Module paths of the base model the adapters (with non-zero scale) changed, e.g. "transformer.h.0.attn.q_proj". */
  matchedModules: string[];
  /** The cache after the reset (lastReset "adapter changed"). */
  cache: KvCacheStats;
  /** Time the switch took in the worker. */
  millis: number;
}

export interface AdapterList {
  kind: "adapterList";
  /** Adapters under the model's adapters/ folder, then under extraDirs. */
  adapters: AdapterInfo[];
  /** One sentence per adapter folder that could not be read. */
  problems: string[];
  /** The set active now, so every view shows the same state. */
  active: AdapterSelection[];
  mode: AdapterMode;
}

export interface Stats {
  kind: "stats";
  model: ModelInfo | null;
  cache: KvCacheStats;
  /** Resident memory of the worker's process, bytes. */
  rssBytes: number;
}

/** The answer to CompareRequest: per target, metrics, boundaries and surprisal, and the fairness verdict. */
export interface ComparisonResult {
  kind: "comparison";
  comparison: Comparison;
}

export type EngineAnswer = ModelLoaded | ScoreResult | BaseScore | Ack | AdaptersChanged | AdapterList | Stats | ComparisonResult;

/** worker→ext: the answer to request `id`. */
export interface ResponseMessage {
  type: "response";
  id: number;
  result: EngineAnswer;
}

/** "crashed": the worker died while the request was in flight (EngineClient only; the worker never sends it). */
export type EngineErrorCode = "cancelled" | "badInput" | "modelError" | "internal" | "crashed";

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
  /** For a multi-step request (compare): which step (0-based, of `count`) `done`/`total` belong to, and its name. */
  step?: ProgressStep;
}

export interface ProgressStep {
  index: number;
  count: number;
  name: string;
}

/** worker→ext: a log line for the extension's output channel. */
export interface LogMessage {
  type: "log";
  level: "trace" | "debug" | "info" | "warn" | "error";
  message: string;
}

export type WorkerToExtMessage = ResponseMessage | ErrorMessage | ProgressMessage | LogMessage;

// ---------------------------------------------------------------- helpers and validation

/** `Omit` applied to each member of a union (so a request without its `id` keeps its tag). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === "string";

function isScoreOptions(v: unknown): v is ScoreOptions {
  return (
    isRecord(v) &&
    (v["method"] === "sliding" || v["method"] === "rolling") &&
    isId(v["window"]) &&
    isId(v["stride"]) &&
    isId(v["topK"])
  );
}

function isAdapterSelection(v: unknown): v is AdapterSelection {
  return isRecord(v) && isString(v["name"]) && (v["path"] === undefined || isString(v["path"])) && isFiniteNumber(v["scale"]);
}

/**
 * Why `message` is not a valid ext→worker message, or null when it is. The worker answers an invalid request that
 * carries an id with an error "badInput" naming the reason, and logs any other invalid message.
 */
export function extToWorkerMessageProblem(message: unknown): string | null {
  if (!isRecord(message)) return "the message is not an object";
  const type = message["type"];
  if (type === "cancel") return isId(message["targetId"]) ? null : "cancel needs a numeric targetId";
  if (!isId(message["id"])) return `the ${String(type)} request has no numeric id`;
  switch (type) {
    case "loadModel":
      if (!isString(message["path"]) || message["path"] === "") return "loadModel needs a path";
      if (message["source"] !== "embedded" && message["source"] !== "folder") return "loadModel's source must be embedded or folder";
      if (!isId(message["kvBudgetBytes"])) return "loadModel needs a non-negative integer kvBudgetBytes";
      if (!isId(message["threads"]) || message["threads"] < 1) return "loadModel needs a positive integer threads";
      return null;
    case "score":
      if (!isString(message["docId"])) return "score needs a docId string";
      if (!isFiniteNumber(message["version"])) return "score needs a numeric version";
      if (!isString(message["text"])) return "score needs a text string";
      if (!isScoreOptions(message["options"])) return "score needs options {method: sliding|rolling, window, stride, topK} with non-negative integers";
      return null;
    case "scoreBase":
      if (!isString(message["docId"])) return "scoreBase needs a docId string";
      if (!isFiniteNumber(message["version"])) return "scoreBase needs a numeric version";
      if (!isString(message["text"])) return "scoreBase needs a text string";
      if (!isScoreOptions(message["options"])) return "scoreBase needs options {method: sliding|rolling, window, stride, topK} with non-negative integers";
      return null;
    case "releaseDocument":
      return isString(message["docId"]) ? null : "releaseDocument needs a docId string";
    case "setAdapters":
      if (!Array.isArray(message["adapters"]) || !message["adapters"].every(isAdapterSelection)) return "setAdapters needs adapters [{name, path?, scale}] with finite scales";
      return message["extraDirs"] === undefined || (Array.isArray(message["extraDirs"]) && message["extraDirs"].every(isString)) ? null : "setAdapters' extraDirs must be strings";
    case "listAdapters":
      return Array.isArray(message["extraDirs"]) && message["extraDirs"].every(isString) ? null : "listAdapters needs extraDirs as strings";
    case "getStats":
      return null;
    case "compare": {
      if (!isString(message["text"])) return "compare needs a text string";
      const targets = message["targets"];
      const isTarget = (t: unknown): boolean =>
        isRecord(t) && isString(t["path"]) && t["path"] !== "" && (t["name"] === undefined || isString(t["name"])) && (t["source"] === undefined || t["source"] === "embedded" || t["source"] === "folder");
      if (!Array.isArray(targets) || targets.length < 2 || !targets.every(isTarget)) return "compare needs at least two targets {path, name?, source?}";
      const options = message["options"];
      if (!isRecord(options) || (options["method"] !== "sliding" && options["method"] !== "rolling") || !isId(options["window"]) || !isId(options["stride"])) {
        return "compare needs options {method: sliding|rolling, window, stride} with non-negative integers";
      }
      return null;
    }
    default:
      return `unknown request type ${JSON.stringify(type)}`;
  }
}

export function isExtToWorkerMessage(message: unknown): message is ExtToWorkerMessage {
  return extToWorkerMessageProblem(message) === null;
}

const ERROR_CODES: readonly string[] = ["cancelled", "badInput", "modelError", "internal", "crashed"];
const LOG_LEVELS: readonly string[] = ["trace", "debug", "info", "warn", "error"];

/** Checks the envelope of a worker→ext message (answers' bodies come from our own worker and are typed there). */
export function isWorkerToExtMessage(message: unknown): message is WorkerToExtMessage {
  if (!isRecord(message)) return false;
  switch (message["type"]) {
    case "response":
      return isId(message["id"]) && isRecord(message["result"]) && isString(message["result"]["kind"]);
    case "error":
      return isId(message["id"]) && ERROR_CODES.includes(message["code"] as string) && isString(message["message"]);
    case "progress":
      return isId(message["id"]) && isFiniteNumber(message["done"]) && isFiniteNumber(message["total"]);
    case "log":
      return LOG_LEVELS.includes(message["level"] as string) && isString(message["message"]);
    default:
      return false;
  }
}
