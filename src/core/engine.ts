/**
 * The engine: one loaded model, its tokenizer, the KV cache and the state of every scored document.
 * What the worker, the command line, the tests and the benchmark use; no `vscode`, no worker_threads.
 *
 * Calls are serialised (one model run at a time). A failed `loadModel` keeps the previous model.
 */
import { EngineError } from "./engineError";

export { EngineError } from "./engineError";
import type { KvCacheStats, MethodInfo, Metrics, ModelInfo, RescoreInfo, ScoreOptions, TokenScore, WindowMethod } from "./types";
import { openModelBundle, ModelBundleError, type ModelBundle } from "./backends/onnx/modelBundle";
import { OnnxCausalLm } from "./backends/onnx/onnxSession";
import { OnnxModelError } from "./backends/onnx/graphSignature";
import { KvCache } from "./kvCache";
import { defaultChunkRows, LogitsStats } from "./backends/onnx/logitsStats";
import { buildModelInfo } from "./modelInfo";
import { scoreSequence, ScoringCancelledError, type ScoredPosition } from "./scorer";
import { TextTokenizer, type EncodedText } from "./tokenizers/textTokenizer";
import { UnsafeTokenizerError } from "./tokenizers/tokenizerSafety";
import { encodeIncrementally, supportsIncrementalEncoding } from "./incrementalEncoding";
import { rollingWindows, slidingWindows, type ScoringWindow } from "./windows";
import { computeMetrics } from "./metrics";
import { silentLogger, taggedLogger, type Logger } from "./logger";
import type { AdapterSelection } from "./lora/adapterTypes";
import { LoraAdapterState, type AdapterSetResult } from "./lora/adapterState";
import { listAdapters, type AdapterCatalog } from "./lora/adapterCatalog";
import { LoraError } from "./lora/loraError";
import { LruMap } from "./lruMap";

export interface EngineOptions {
  logger?: Logger;
  /** KV-cache budget for all documents together (default 256 MiB). */
  kvBudgetBytes?: number;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  /**
   * Positions per forward pass. Default: as many as keep one chunk's logits within 8 Mi floats (32 MiB),
   * between 16 and 256 (256 for a 4k vocabulary, 64 for 128k).
   */
  chunkTokens?: number;
  /** Documents whose scoring state is kept (least recently scored are forgotten first; default 64). */
  maxDocuments?: number;
  /**
   * Where per-token statistics are computed: "onnx" (default; onnxruntime kernels, float32) or "float64"
   * (JavaScript, float64 accumulation; several times slower, the reference the tests compare with).
   */
  statistics?: "onnx" | "float64";
}

export interface LoadModelOptions {
  source?: "embedded" | "folder";
  kvBudgetBytes?: number;
  threads?: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** The base model's figures for a text (Engine.scoreBase): metrics only, and what the scoring cost. */
export interface BaseDocumentScore {
  method: MethodInfo;
  metrics: Metrics;
  rescore: RescoreInfo;
}

/** The key under which a document's base-model scoring keeps its own state and KV cache, apart from the document's. */
export function baseShadowId(docId: string): string {
  return `${docId}\u0000base`;
}

/** The engine's answer to a scoring: what the worker's ScoreResult carries besides docId/version/model. */
export interface DocumentScore {
  method: MethodInfo;
  metrics: Metrics;
  tokens: TokenScore[];
  rescore: RescoreInfo;
  cache: KvCacheStats;
}

export const DEFAULT_SCORE_OPTIONS: ScoreOptions = { method: "sliding", window: 0, stride: 0, topK: 5 };
const DEFAULT_KV_BUDGET = 256 * 1024 * 1024;

interface LoadedModel {
  bundle: ModelBundle;
  model: OnnxCausalLm;
  stats: LogitsStats | null;
  tokenizer: TextTokenizer;
  info: ModelInfo;
  /** Logits row length. */
  vocab: number;
  /** Decoded text per token id, filled on first use (top-k alternatives repeat the same few ids). */
  tokenTexts: Array<string | undefined>;
  /** Whether an edited text may be re-encoded from a line start before the change (incrementalEncoding.ts). */
  incrementalEncoding: boolean;
  prefix: { id: number; text: string; kind: "bos" | "eos" };
}

interface DocumentState {
  text: string;
  encoded: EncodedText;
  sequence: number[];
  scores: Array<ScoredPosition | null>;
  topK: number;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Engine {
  private loaded: LoadedModel | null = null;
  private readonly cache: KvCache;
  /** Scoring state per document, the least recently scored forgotten first (EngineOptions.maxDocuments). */
  private readonly documents: LruMap<string, DocumentState>;
  private readonly logger: Logger;
  private threads: number;
  private queue: Promise<unknown> = Promise.resolve();
  /** Measured milliseconds per evaluated position (exponential average), for RescoreInfo's full-rescore estimate. */
  private msPerPosition: number | null = null;
  /** LoRA adapters active on the loaded model; null until the first setAdapters after a load (none active). */
  private adapters: LoraAdapterState | null = null;

  constructor(private readonly options: EngineOptions = {}) {
    this.logger = taggedLogger(options.logger ?? silentLogger, "engine");
    this.cache = new KvCache(options.kvBudgetBytes ?? DEFAULT_KV_BUDGET, taggedLogger(options.logger ?? silentLogger, "kvCache"));
    this.threads = options.threads ?? 1;
    this.documents = new LruMap<string, DocumentState>(options.maxDocuments ?? 64, (docId) => {
      this.cache.releaseDocument(docId);
      const shadow = baseShadowId(docId);
      if (this.documents.delete(shadow)) this.cache.releaseDocument(shadow);
    });
  }

  /** Runs `task` after every earlier call has finished. */
  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get modelInfo(): ModelInfo | null {
    return this.loaded?.info ?? null;
  }

  /** The loaded session (for the LoRA feed/merge paths). */
  get session(): OnnxCausalLm | null {
    return this.loaded?.model ?? null;
  }

  get tokenizer(): TextTokenizer | null {
    return this.loaded?.tokenizer ?? null;
  }

  loadModel(dir: string, options: LoadModelOptions = {}): Promise<ModelInfo> {
    return this.serialise(() => this.loadModelNow(dir, options));
  }

  private async loadModelNow(dir: string, options: LoadModelOptions): Promise<ModelInfo> {
    const started = Date.now();
    const threads = options.threads ?? this.threads;
    let bundle: ModelBundle;
    let model: OnnxCausalLm | null = null;
    let stats: LogitsStats | null = null;
    try {
      bundle = openModelBundle(dir);
      let tokenizer: TextTokenizer;
      try {
        tokenizer = TextTokenizer.fromJson(bundle.tokenizerJson, bundle.tokenizerConfig);
      } catch (e) {
        if (e instanceof UnsafeTokenizerError) throw new EngineError("modelError", `${bundle.dir}/${e.message}`);
        throw new EngineError("modelError", `${bundle.dir}/tokenizer.json could not be used (${messageOf(e).replace(/\.$/, "")}).`);
      }
      model = await OnnxCausalLm.load(
        bundle.onnxPath,
        bundle.spec,
        { threads, logger: this.logger, fuseStatistics: this.options.statistics !== "float64", root: bundle.dir },
        bundle.onnxPath,
      );
      const prefix = tokenizer.prefixToken;
      // A first pass on the prefix token alone proves the graph runs and gives the logits' vocabulary.
      const probe = await model.forward([prefix.id], null);
      const vocab = probe.logits.dims[2] ?? 0;
      probe.logits.dispose();
      if (probe.present) for (const t of probe.present.tensors) t.dispose();
      if (vocab < tokenizer.vocabSize) {
        throw new EngineError(
          "modelError",
          `${bundle.onnxPath} returns ${vocab} logits per token but ${bundle.dir}/tokenizer.json has ${tokenizer.vocabSize} tokens.`,
        );
      }
      if (prefix.id >= vocab) throw new EngineError("modelError", `The prefix token ${prefix.text} (id ${prefix.id}) is outside the model's ${vocab} logits.`);
      if (this.options.statistics !== "float64" && !model.signature.fusedStats) stats = await LogitsStats.create(model.signature.logitsType, threads);
      const info = buildModelInfo({
        bundle,
        signature: model.signature,
        parameters: model.parameters,
        vocabSize: vocab,
        tokenizerType: tokenizer.type,
        source: options.source ?? "folder",
      });
      const previous = this.loaded;
      this.loaded = {
        bundle,
        model,
        stats,
        tokenizer,
        info,
        vocab,
        prefix,
        tokenTexts: [],
        incrementalEncoding: supportsIncrementalEncoding(bundle.tokenizerJson),
      };
      this.threads = threads;
      if (options.kvBudgetBytes !== undefined) this.cache.setBudget(options.kvBudgetBytes);
      this.documents.clear();
      this.adapters = null;
      this.cache.clear(previous ? `model changed to ${info.name}` : `model ${info.name} loaded`);
      this.msPerPosition = null;
      if (previous) {
        await previous.model.release();
        await previous.stats?.release();
      }
      this.logger.log("info", `loaded ${info.name} (${info.modelType}, ${info.parameters} parameters, vocabulary ${vocab}) in ${Date.now() - started} ms`);
      return info;
    } catch (e) {
      if (model !== null && this.loaded?.model !== model) await model.release().catch(() => undefined);
      if (stats !== null && this.loaded?.stats !== stats) await stats.release().catch(() => undefined);
      if (e instanceof EngineError) throw e;
      if (e instanceof ModelBundleError || e instanceof OnnxModelError) throw new EngineError("modelError", e.message);
      throw new EngineError("modelError", `The model in ${dir} could not be loaded (${messageOf(e).replace(/\.$/, "")}).`);
    }
  }

  /** The method, window and stride a scoring with these options uses. */
  resolveMethod(options: Partial<ScoreOptions> = {}): MethodInfo {
    const loaded = this.requireModel();
    const method: WindowMethod = options.method ?? DEFAULT_SCORE_OPTIONS.method;
    if (method !== "rolling" && method !== "sliding")
      throw new EngineError("badInput", `Unknown scoring method ${String(method)} (expected sliding or rolling).`);
    const context = loaded.info.contextLength;
    const requested = options.window ?? 0;
    if (!Number.isInteger(requested) || requested < 0) throw new EngineError("badInput", `The window must be a non-negative integer, not ${requested}.`);
    const window = requested === 0 ? context : Math.min(requested, context);
    if (window < 2) throw new EngineError("badInput", `The window must hold at least 2 tokens, not ${window}.`);
    let stride = window;
    if (method === "sliding") {
      const s = options.stride ?? 0;
      if (!Number.isInteger(s) || s < 0) throw new EngineError("badInput", `The stride must be a non-negative integer, not ${s}.`);
      stride = s === 0 ? Math.max(1, Math.floor(window / 2)) : Math.min(s, window);
    }
    const adapters = this.adapters?.effective ?? [];
    return { method, window, stride, prefix: `${loaded.prefix.kind}:${loaded.prefix.text}`, ...(adapters.length > 0 ? { adapters } : {}) };
  }

  private requireModel(): LoadedModel {
    if (!this.loaded) throw new EngineError("badInput", "No model is loaded.");
    return this.loaded;
  }

  private chunkTokens(vocab: number): number {
    if (this.options.chunkTokens !== undefined) return Math.max(1, Math.floor(this.options.chunkTokens));
    return defaultChunkRows(vocab);
  }

  /** Scores `text` as document `docId`, reusing what is unchanged since the document's previous scoring. */
  score(docId: string, text: string, options: Partial<ScoreOptions> = {}, run: RunOptions = {}): Promise<DocumentScore> {
    return this.serialise(() => this.scoreNow(docId, text, options, run));
  }

  private async scoreNow(docId: string, text: string, options: Partial<ScoreOptions>, run: RunOptions): Promise<DocumentScore> {
    const started = Date.now();
    const loaded = this.requireModel();
    if (typeof text !== "string") throw new EngineError("badInput", "The text to score is not a string.");
    if (text.includes("\u0000")) throw new EngineError("badInput", "The text contains NUL characters, so it looks binary and is not scored.");
    const method = this.resolveMethod(options);
    const topK = options.topK ?? DEFAULT_SCORE_OPTIONS.topK;
    if (!Number.isInteger(topK) || topK < 0 || topK > 100) throw new EngineError("badInput", `top-k must be an integer from 0 to 100, not ${topK}.`);
    if (run.signal?.aborted) throw new EngineError("cancelled", "Scoring was cancelled.");

    const state = this.documents.get(docId);
    const encode = (s: string): EncodedText => loaded.tokenizer.encode(s);
    const encoded =
      loaded.incrementalEncoding && state ? encodeIncrementally(text, { text: state.text, encoded: state.encoded }, encode).encoded : encode(text);
    const ids = encoded.ids;
    const sequence = [loaded.prefix.id, ...ids];
    const windows: ScoringWindow[] =
      ids.length === 0
        ? []
        : method.method === "rolling"
          ? rollingWindows(ids.length, method.window)
          : slidingWindows(ids.length, method.window, method.stride);
    const previous = state && state.topK === topK ? { sequence: state.sequence, scores: state.scores } : undefined;

    let result;
    try {
      result = await scoreSequence(loaded.model, this.cache, {
        docId,
        sequence,
        windows,
        topK,
        chunkTokens: this.chunkTokens(loaded.vocab),
        vocab: loaded.vocab,
        ...(loaded.stats ? { stats: loaded.stats } : {}),
        statistics: this.options.statistics ?? "onnx",
        ...(previous ? { previous } : {}),
        ...(run.signal ? { signal: run.signal } : {}),
        ...(run.onProgress ? { onProgress: run.onProgress } : {}),
      });
    } catch (e) {
      if (e instanceof ScoringCancelledError) throw new EngineError("cancelled", e.message);
      if (e instanceof EngineError) throw e;
      throw new EngineError("internal", `Scoring failed (${messageOf(e).replace(/\.$/, "")}).`);
    }
    // Windows that no longer exist (the text got shorter) keep no keys/values.
    this.cache.releaseDocument(docId, new Set(windows.map((w) => w.inputStart)));
    this.documents.set(docId, { text, encoded, sequence, scores: result.scores, topK });

    const tokens: TokenScore[] = ids.map((id, j) => {
      const s = result.scores[j] ?? null;
      const offsets = encoded.offsets[j] ?? [0, 0];
      const token: TokenScore = {
        id,
        text: this.tokenText(loaded, id),
        start: offsets[0],
        end: offsets[1],
        logprob: s ? s.logprob : null,
        prob: s ? s.prob : null,
        rank: s ? s.rank : null,
        entropy: s ? s.entropy : null,
        top: s ? s.top.map((t) => ({ id: t.id, text: this.tokenText(loaded, t.id), logprob: t.logprob })) : [],
      };
      if (s) token.contextLength = s.contextLength;
      return token;
    });
    const millis = Date.now() - started;
    if (result.positionsEvaluated >= 16) {
      const rate = millis / result.positionsEvaluated;
      this.msPerPosition = this.msPerPosition === null ? rate : 0.7 * this.msPerPosition + 0.3 * rate;
    }
    const fullPositions = windows.reduce((sum, w) => sum + (w.scoreEnd - w.inputStart), 0);
    return {
      method,
      metrics: computeMetrics(text, tokens),
      tokens,
      rescore: {
        tokensReused: result.tokensReused,
        tokensRecomputed: result.tokensRecomputed,
        millis,
        fullRescoreMillisEstimate: this.msPerPosition === null ? millis : Math.round(fullPositions * this.msPerPosition),
      },
      cache: this.cache.stats(),
    };
  }

  /**
   * Scores `text` with the base model (no adapters) for the LoRA section's side-by-side figures, without touching
   * document `docId`'s own state or KV cache: it runs under a shadow id (baseShadowId) that keeps its own incremental
   * state, with top-k 0. Cost: on the feed path the zero-rank feeds are swapped in for the run and the active ones put
   * back (no rebuild), and a rescore after an edit recomputes only the changed windows, like the document's own rescore;
   * after an adapter switch the shadow's cache is gone with every other one, so its first run scores the whole text.
   * Throws EngineError "badInput" on the merge path (the base weights exist only in a second session, which would cost a
   * model load); with no effective adapters it is an ordinary scoring of the shadow.
   */
  scoreBase(docId: string, text: string, options: Partial<ScoreOptions> = {}, run: RunOptions = {}): Promise<BaseDocumentScore> {
    return this.serialise(async () => {
      const loaded = this.requireModel();
      const active = this.activeAdapters();
      const effective = this.adapters?.effective ?? [];
      if (effective.length > 0 && active.mode === "merge") {
        throw new EngineError(
          "badInput",
          `The base model's perplexity is not computed in merge mode: ${loaded.info.name} has no LoRA inputs, so it would need a second session.`,
        );
      }
      const model = loaded.model;
      const activeFeeds = model.currentLoraFeeds;
      if (effective.length > 0) model.setLoraFeeds(new Map());
      try {
        const scored = await this.scoreNow(baseShadowId(docId), text, { ...options, topK: 0 }, run);
        const { adapters: _adapters, ...method } = scored.method;
        return { method, metrics: scored.metrics, rescore: scored.rescore };
      } finally {
        if (effective.length > 0) model.setLoraFeeds(activeFeeds);
      }
    });
  }

  private tokenText(loaded: LoadedModel, id: number): string {
    const cached = loaded.tokenTexts[id];
    if (cached !== undefined) return cached;
    let text = "";
    if (id < loaded.tokenizer.vocabSize) {
      try {
        text = loaded.tokenizer.tokenText(id);
      } catch {
        text = "";
      }
    }
    loaded.tokenTexts[id] = text;
    return text;
  }

  /** Forgets a document's state and cached keys/values. */
  releaseDocument(docId: string): Promise<void> {
    return this.serialise(async () => this.releaseDocumentNow(docId));
  }

  private releaseDocumentNow(docId: string): void {
    this.documents.delete(docId);
    this.cache.releaseDocument(docId);
    const shadow = baseShadowId(docId);
    if (this.documents.delete(shadow)) this.cache.releaseDocument(shadow);
  }

  /** Drops every cached key/value and document state (e.g. the adapters changed the weights). */
  invalidateCache(reason: string): Promise<void> {
    return this.serialise(async () => {
      this.documents.clear();
      this.cache.clear(reason);
    });
  }

  cacheStats(): KvCacheStats {
    return this.cache.stats();
  }

  /**
   * Replaces the active LoRA adapters (an empty list turns them all off; scale 0 keeps one loaded but off). When the
   * weights change, every document's KV cache is dropped with the reason "adapter changed" (its keys and values came
   * from other weights); setting the same effective set again keeps it.
   * Throws EngineError "badInput" with one sentence naming the adapter when one cannot be used; the previous set then
   * stays active and the cache is kept. Adapter names are folders under the model's adapters/ (then `extraDirs`).
   */
  setAdapters(selections: readonly AdapterSelection[], extraDirs: readonly string[] = []): Promise<AdapterSetResult & { cache: KvCacheStats; millis: number }> {
    return this.serialise(async () => {
      const started = Date.now();
      const loaded = this.requireModel();
      const state =
        this.adapters ??
        new LoraAdapterState(
          loaded.bundle.dir,
          {
            name: loaded.info.name,
            onnxPath: loaded.bundle.onnxPath,
            root: loaded.bundle.dir,
            spec: loaded.bundle.spec,
            threads: this.threads,
            logger: taggedLogger(this.options.logger ?? silentLogger, "lora"),
          },
          loaded.model.signature,
        );
      let applied;
      try {
        applied = await state.set(selections, loaded.model, extraDirs);
      } catch (e) {
        if (e instanceof LoraError) throw new EngineError("badInput", e.message);
        throw new EngineError("internal", `The adapters could not be applied (${messageOf(e).replace(/\.$/, "")}).`);
      }
      this.adapters = state;
      if (applied.model !== loaded.model) {
        const old = loaded.model;
        loaded.model = applied.model;
        await old.release();
      }
      if (applied.weightsChanged) {
        this.documents.clear();
        this.cache.clear("adapter changed");
      }
      const r = applied.result;
      this.logger.log(
        "info",
        `adapters ${r.active.map((a) => `${a.name}:${a.scale}`).join(", ") || "off"} (${r.mode}, ${r.matchedModules.length} modules) in ${Date.now() - started} ms`,
      );
      return { ...r, cache: this.cache.stats(), millis: Date.now() - started };
    });
  }

  /** The active adapters (none before the first setAdapters after a load). */
  activeAdapters(): AdapterSetResult {
    return this.adapters?.result ?? { active: [], adapters: [], mode: "none", matchedModules: [] };
  }

  /** Adapters in the loaded model's adapters/ folder and in `extraDirs` (configs only; nothing is applied). */
  listAdapters(extraDirs: readonly string[] = []): AdapterCatalog {
    return listAdapters(this.loaded?.bundle.dir ?? null, extraDirs);
  }

  /** Runs `task` with exclusive use of the engine (for the LoRA paths that swap feeds or sessions). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.serialise(task);
  }

  async dispose(): Promise<void> {
    await this.serialise(async () => {
      this.cache.clear("engine disposed");
      this.documents.clear();
      const loaded = this.loaded;
      this.loaded = null;
      if (loaded) {
        await loaded.model.release();
        await loaded.stats?.release();
      }
    });
  }
}
