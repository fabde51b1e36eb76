/**
 * The extension ↔ engine-worker protocol, declared once: every request with the schema of its parameters and of its
 * result, and every notification with the schema of its payload. From this one table come the TypeScript types
 * (EngineParams<"score">, EngineResult<"score">), the validators both ends run on what they receive, the typed client
 * call `client.request("score", params)` (src/worker/engineClient.ts) and the worker's handler table, which is
 * checked with `satisfies EngineHandlers` so a request without a handler does not compile (src/worker/engineWorker.ts).
 *
 * Transport: JSON-RPC 2.0 messages of vscode-jsonrpc (the Language Server Protocol's library) over the worker's
 * MessagePort (structured clone, no JSON text): requests and answers by id, `$/cancelRequest` for cancellation and
 * `$/progress` with a per-request token for progress, as LSP does. Every request is sent by the extension host (or by
 * another client of the worker: tests, bench) and answered by the worker; notifications go worker → extension.
 *
 * Adding a request: one entry in `engineRequests`, its handler in the worker, and its callers. Nothing else.
 */
import type { AdapterSetResult } from "../core/lora/adapterTypes";
import type { Comparison } from "../core/comparisonData";
import type { KvCacheStats, MethodInfo, Metrics, RescoreInfo, TokenScore } from "../core/types";
import { LIMITS } from "../core/limits";
import {
  adapterInfo,
  adapterMode,
  adapterSelection,
  comparison,
  comparisonOptions,
  comparisonTarget,
  kvCacheStats,
  methodInfo,
  metrics,
  modelInfo,
  rescoreInfo,
  scoreOptions,
  tokenScore,
} from "./coreSchemas";
import { arrayOf, count, nullable, number, object, oneOf, optional, string, type Infer, type Schema } from "./schema";

export type * from "./coreTypes";

// ---------------------------------------------------------------- declarations

export interface RequestSpec<P, R> {
  params: Schema<P>;
  result: Schema<R>;
  /** Whether the worker reports progress ({@link EngineProgress}) while it runs. */
  progress: boolean;
}

function request<P, R>(params: Schema<P>, result: Schema<R>, options: { progress?: boolean } = {}): RequestSpec<P, R> {
  return { params, result, progress: options.progress ?? false };
}

const modelSource = oneOf("embedded", "folder");

/** Fields every scoring of a document carries: the document it belongs to and the version of its text. */
const documentFields = {
  /** Stable key of the document (its URI); results and caches are per document. */
  docId: string(),
  /** Document version the text was taken at; echoed back so stale results are never applied. */
  version: number(),
};

const scoreParams = object({ ...documentFields, text: string(), options: scoreOptions });

export interface ScoreResult {
  docId: string;
  version: number;
  /** Name of the model that scored it. */
  model: string;
  method: MethodInfo;
  metrics: Metrics;
  tokens: TokenScore[];
  rescore: RescoreInfo;
  cache: KvCacheStats;
}
const scoreResult: Schema<ScoreResult> = object({
  ...documentFields,
  model: string(),
  method: methodInfo,
  metrics,
  tokens: arrayOf(tokenScore),
  rescore: rescoreInfo,
  cache: kvCacheStats,
});

/** The base model's metrics for the text (no adapters), and what the run cost. */
export interface BaseScore {
  docId: string;
  version: number;
  method: MethodInfo;
  metrics: Metrics;
  rescore: RescoreInfo;
}
const baseScore: Schema<BaseScore> = object({ ...documentFields, method: methodInfo, metrics, rescore: rescoreInfo });

export interface AdaptersChanged extends AdapterSetResult {
  /** The cache after the reset (lastReset "adapter changed"). */
  cache: KvCacheStats;
  /** Time the switch took in the worker. */
  millis: number;
}
const adapterSetFields = { active: arrayOf(adapterSelection), adapters: arrayOf(adapterInfo), mode: adapterMode, matchedModules: arrayOf(string()) };
const adaptersChanged: Schema<AdaptersChanged> = object({ ...adapterSetFields, cache: kvCacheStats, millis: number() });

const adapterList = object({
  /** Adapters under the model's adapters/ folder, then under extraDirs. */
  adapters: arrayOf(adapterInfo),
  /** One sentence per adapter folder that could not be read. */
  problems: arrayOf(string()),
  /** The set active now, so every view shows the same state. */
  active: arrayOf(adapterSelection),
  mode: adapterMode,
});

const stats = object({
  model: nullable(modelInfo),
  cache: kvCacheStats,
  /** Resident memory of the worker's process, bytes. */
  rssBytes: count(),
});

const comparisonResult: Schema<Comparison> = comparison;

/** Every request the worker answers. Each answer is exactly one result or one error (see EngineError). */
export const engineRequests = {
  /**
   * Load (or switch to) a model folder. The previous model stays in use if this fails. Loading a model starts it with
   * no adapters and drops every document's state.
   */
  loadModel: request(
    object({
      path: string({ nonEmpty: true }),
      source: modelSource,
      /** KV-cache budget in bytes for all documents together. */
      kvBudgetBytes: count(),
      /** onnxruntime intra-op threads (1 is fastest on small machines). */
      threads: number({ integer: true, ...LIMITS.threads }),
    }),
    modelInfo,
  ),
  /**
   * Score a document's text. The worker reuses the KV cache of the longest unchanged token prefix of the previous
   * text scored under the same `docId`.
   */
  score: request(scoreParams, scoreResult, { progress: true }),
  /**
   * Score a document's text with the base model (no LoRA adapters), for the panel's "with and without" figures,
   * without touching the document's own cache: the worker keeps the base scoring's state under a shadow of `docId`
   * (reused incrementally, released with the document). Fails with "badInput" in merge mode.
   */
  scoreBase: request(scoreParams, baseScore, { progress: true }),
  /** Forget a document's cache and state (document closed). */
  releaseDocument: request(object({ docId: string() }), object({})),
  /**
   * Set the active adapters on the loaded model (replaces the whole set; [] turns them off). Drops every document's KV
   * cache (lastReset "adapter changed"): rescore the visible documents after it. Fails with "badInput" and one
   * sentence naming the adapter when one cannot be used; the previous set then stays active.
   */
  setAdapters: request(
    object({
      adapters: arrayOf(adapterSelection),
      /** Folders (perplexityLens.adapterFolders) where names not found under the model's adapters/ are looked up. */
      extraDirs: optional(arrayOf(string())),
    }),
    adaptersChanged,
  ),
  /** List adapters found in the model's adapters/ folder and in `extraDirs`, and the set active now. */
  listAdapters: request(object({ extraDirs: arrayOf(string()) }), adapterList),
  /** Current engine statistics. */
  getStats: request(object({}), stats),
  /**
   * Score one text with every model target and split it with every tokenizer-only target (a folder with just
   * tokenizer.json), for the comparison view. Progress carries `step` (which target). The loaded model stays loaded
   * (a target with its folder is scored by it); other models are loaded in sessions of their own, one at a time, and
   * released after the comparison.
   */
  compare: request(object({ text: string(), targets: arrayOf(comparisonTarget, { minItems: 2 }), options: comparisonOptions }), comparisonResult, {
    progress: true,
  }),
};

export type EngineMethod = keyof typeof engineRequests;

/** Why `params` are not valid for request `method` (naming the field), or null: what the worker checks first. */
export function engineRequestProblem(method: EngineMethod, params: unknown): string | null {
  return engineRequests[method].params.check(params, "params");
}
export type EngineParams<M extends EngineMethod> = Infer<(typeof engineRequests)[M]["params"]>;
export type EngineResult<M extends EngineMethod> = Infer<(typeof engineRequests)[M]["result"]>;

export type AdapterList = EngineResult<"listAdapters">;
export type EngineStats = EngineResult<"getStats">;

// ---------------------------------------------------------------- progress and notifications

export const progressStep = object({ index: count(), count: count(), name: string() });
export type ProgressStep = Infer<typeof progressStep>;

/** Progress of a request (tokens done of total); for a multi-step request (compare) also which step. */
export const engineProgress = object({ done: number(), total: number(), step: optional(progressStep) });
export type EngineProgress = Infer<typeof engineProgress>;

export const logLevel = oneOf("trace", "debug", "info", "warn", "error");

/** Every notification the worker sends. */
export const engineNotifications = {
  /** A log line for the extension's output channel. */
  log: object({ level: logLevel, message: string() }),
};
export type EngineNotification = keyof typeof engineNotifications;
export type EngineNotificationParams<N extends EngineNotification> = Infer<(typeof engineNotifications)[N]>;

/** The request field that carries the progress token, as LSP's `workDoneToken`. */
export const PROGRESS_TOKEN_FIELD = "workDoneToken";

/** The JSON-RPC error code of each EngineError code on the wire (the EngineError code also travels in `data`). */
export const ENGINE_ERROR_RPC_CODES = {
  cancelled: -32800,
  badInput: -32602,
  modelError: -32001,
  internal: -32603,
  crashed: -32002,
  timeout: -32003,
} as const;
