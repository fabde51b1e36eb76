/**
 * The shapes of a tokenizer comparison (see compare.ts): plain data that crosses the worker and webview boundaries,
 * so this file imports nothing with Node or DOM types (the webview's TypeScript project compiles it too).
 */
import type { MethodInfo, Metrics, ModelInfo, WindowMethod } from "./types";

/** A folder to compare: a model folder (config.json, tokenizer.json, ONNX graph) or a folder with only tokenizer.json. */
export interface ComparisonTarget {
  /** Folder path (made absolute). */
  path: string;
  /** Name to show; default: the folder's name. */
  name?: string;
  /** Where the folder came from, as ModelInfo reports it. */
  source?: "embedded" | "folder";
}

/** How each model scores the text (the same for all; the window is clamped to each model's context). */
export interface ComparisonOptions {
  method: WindowMethod;
  /** Tokens per window including the prefix token; 0 = each model's context length. */
  window: number;
  /** Sliding-window stride; 0 = window / 2. Ignored by "rolling". */
  stride: number;
}

/**
 * Metrics as in `score` (metrics.ts) plus what the comparison adds. A tokenizer-only entry has the counts
 * (tokens, bytes, words, per-token ratios) and null perplexities (scoredTokens 0, nll 0, nllBits null).
 */
export interface ComparisonMetrics extends Metrics {
  /** UTF-16 length of the text / tokens (null without tokens). */
  charsPerToken: number | null;
  /** UTF-8 bytes of the text / tokens (null without tokens). */
  bytesPerToken: number | null;
  /** NLL in bits: nll / ln 2 (null when nothing was scored). */
  nllBits: number | null;
}

/** One token of an entry, for the side-by-side view: where it is in the text and how surprising it was. */
export interface ComparedToken {
  /** UTF-16 [start, end) into the compared text (empty for the continuation of a character split across tokens). */
  start: number;
  end: number;
  /** Surprisal −log₂ p in bits; null when unscored (tokenizer-only entries, or a token no window scored). */
  bits: number | null;
}

/** What is known of an entry's model or tokenizer. */
export interface ComparedModelDescription {
  name: string;
  path: string;
  /** "model": scored by its ONNX graph; "tokenizer": a folder with only tokenizer.json (counts and boundaries). */
  kind: "model" | "tokenizer";
  /** Null for tokenizer-only entries. */
  architecture: ModelInfo["architecture"] | null;
  vocabSize: number;
  /** Null for tokenizer-only entries. */
  contextLength: number | null;
  /** Null for tokenizer-only entries. */
  parameters: number | null;
  /** e.g. "byte-level BPE", "SentencePiece BPE (byte fallback)". */
  tokenizerType: string;
}

export interface ComparisonEntry {
  model: ComparedModelDescription;
  /** How the model scored the text; null for tokenizer-only entries. */
  method: MethodInfo | null;
  metrics: ComparisonMetrics;
  tokens: ComparedToken[];
  /** Time to load (when not already loaded), tokenize and score, ms. */
  millis: number;
}

/** The fair comparison, stated in plain words and backed by the numbers it was generated from. */
export interface ComparisonVerdict {
  /** One or a few sentences: which comparison is fair, why, and what it says. */
  sentence: string;
  /** Entry indices of the scored models, best (lowest bits per byte) first. */
  rankingByBitsPerByte: number[];
  /** Entry indices of the scored models, lowest token perplexity first. */
  rankingByTokenPerplexity: number[];
  /** Whether every scored model split the text into the same tokens (then token perplexity is comparable too). */
  sameTokenization: boolean;
}

export interface Comparison {
  /** UTF-16 length of the text. */
  characters: number;
  bytes: number;
  words: number;
  entries: ComparisonEntry[];
  verdict: ComparisonVerdict;
}

/** One element of `compare --json`: as `score --json` without `tokens`; metrics with charsPerToken, bytesPerToken, nllBits. */
export interface ComparisonReport {
  model: ComparedModelDescription;
  method: MethodInfo | null;
  metrics: ComparisonMetrics;
}

/** Progress of a comparison: which entry is working (0-based, of `count`) and its own done/total positions. */
export interface ComparisonProgress {
  index: number;
  count: number;
  name: string;
  done: number;
  total: number;
}
