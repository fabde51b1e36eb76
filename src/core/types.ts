/**
 * Plain data shared by the engine, the worker, the command line, the extension and the webview.
 * Nothing here imports `vscode` or onnxruntime: these shapes cross thread and process boundaries.
 *
 * The JSON the command line prints (`score --json`) is exactly {@link ScoreReport}.
 */

/** One of the model's top alternatives at a position. */
export interface TopAlternative {
  id: number;
  /** Decoded text of the token (may be "" for special tokens). */
  text: string;
  /** Natural-log probability. */
  logprob: number;
}

/** The score of one token of the text. */
export interface TokenScore {
  id: number;
  /** Decoded text of this token alone. */
  text: string;
  /** UTF-16 offsets into the scored text, [start, end). Ranges never overlap and follow token order. */
  start: number;
  end: number;
  /** Natural-log probability of this token given its context; null when the token was not scored. */
  logprob: number | null;
  prob: number | null;
  /** 1-based rank of the token among the vocabulary (1 = the model's top choice); null when unscored. */
  rank: number | null;
  /** Entropy (nats) of the predicted distribution at this position; null when unscored. */
  entropy: number | null;
  top: TopAlternative[];
  /** Number of tokens of context (including the prefix token) the prediction was conditioned on. */
  contextLength?: number;
}

/** GLTR's rank buckets: counts of scored tokens whose rank is within top-10, top-100, top-1000, or worse. */
export interface RankBuckets {
  top10: number;
  top100: number;
  top1000: number;
  rest: number;
}

/**
 * Metrics over a range of a text, with lm-evaluation-harness's definitions.
 * A value that cannot be computed (nothing scored, no bytes, no words) is null, never NaN or Infinity.
 */
export interface Metrics {
  tokens: number;
  scoredTokens: number;
  /** UTF-8 bytes of the range. */
  bytes: number;
  /** Pieces of the range split on /\s+/ (empty pieces dropped). */
  words: number;
  /** Sum of -logprob over scored tokens, in nats. */
  nll: number;
  tokenPerplexity: number | null;
  wordPerplexity: number | null;
  bytePerplexity: number | null;
  bitsPerByte: number | null;
  /** Standard error of the mean per-token NLL. */
  nllStdErr: number | null;
  rankBuckets: RankBuckets;
}

export type WindowMethod = "sliding" | "rolling";

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

/** How a text was scored: stated with every result so numbers can be compared and reproduced. */
export interface MethodInfo {
  method: WindowMethod;
  /** Maximum tokens per forward pass (model context), including the prefix token. */
  window: number;
  /** Sliding window stride; for "rolling" equal to the window. */
  stride: number;
  /** The token prepended so the first token is scored, e.g. "bos:<s>" or "eos:<|endoftext|>". */
  prefix: string;
  /** Active LoRA adapters, name and scale. */
  adapters?: { name: string; scale: number }[];
}

export type Architecture = "gpt2" | "llama";

/** What the engine knows about a loaded model. */
export interface ModelInfo {
  name: string;
  path: string;
  /** "embedded" for models shipped in the extension's models/ folder, else "folder". */
  source: "embedded" | "folder";
  architecture: Architecture;
  /** The config's model_type, e.g. "gpt2", "llama", "mistral", "qwen2". */
  modelType: string;
  vocabSize: number;
  contextLength: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  /** Parameters counted from the ONNX initializers. */
  parameters: number;
  /** The 12 · n_layer · d² estimate. */
  parametersEstimate: number;
  /** ≈ 2 · parameters. */
  flopsPerToken: number;
  kvDtype: "float32" | "float16";
  /** 2 · layers · kv_heads · head_dim · dtype size. */
  kvBytesPerToken: number;
  tokenizerType: string;
  files: { name: string; bytes: number }[];
  /** Whether the graph takes LoRA inputs (feed path). */
  loraInputs: boolean;
}

/** KV-cache counters, computed from tensor shapes. */
export interface KvCacheStats {
  tokensCached: number;
  bytesHeld: number;
  budgetBytes: number;
  /** Per-layer key (and value) tensor shape, e.g. [1, 4, 312, 64]. */
  layerShape: number[];
  tokensReused: number;
  tokensRecomputed: number;
  /** tokensReused / (tokensReused + tokensRecomputed) over the engine's lifetime; null before any work. */
  hitRate: number | null;
  evictions: number;
  /** Why the cache was last reset, if it was (e.g. "adapter changed"). */
  lastReset?: string;
}

/** What the last (re)score did. */
export interface RescoreInfo {
  tokensReused: number;
  tokensRecomputed: number;
  millis: number;
  /** Estimated time a full rescore would have taken, from the measured per-token rate. */
  fullRescoreMillisEstimate: number;
}

/** `score --json`: one object per scored text. */
export interface ScoreReport {
  model: Pick<ModelInfo, "name" | "path" | "architecture" | "vocabSize" | "contextLength" | "parameters">;
  method: MethodInfo;
  metrics: Metrics;
  tokens: TokenScore[];
}
