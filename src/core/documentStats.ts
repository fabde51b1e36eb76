/**
 * Statistics the panel shows about a scored document and about the KV cache.
 *
 * Computed on the extension/engine side from plain data (never in the webview), so the numbers are
 * unit-tested here and the webview only draws them. No `vscode`, no Node and no DOM imports: the
 * webview's TypeScript project also sees these types through src/protocol/webview.ts.
 */
import type { KvCacheStats, MethodInfo, Metrics, RankBuckets, TokenScore } from "./types";

import { GLTR_BUCKETS, GLTR_BUCKET_LABELS, surprisalBits, type RankBucketName } from "./surprisal";

export type { RankBucketName } from "./surprisal";
export type { KvBytesBreakdown } from "./kvBytes";
export type { RescoreAggregates, RescoreRecord } from "./rescoreHistory";

// ---------------------------------------------------------------- surprisal histogram

export interface HistogramBin {
  /** Lower edge in bits, inclusive. */
  fromBits: number;
  /** Upper edge in bits, exclusive; null for the last, open-ended bin ("≥ fromBits"). */
  toBits: number | null;
  count: number;
}

export interface SurprisalHistogram {
  binWidthBits: number;
  bins: HistogramBin[];
  /** Scored tokens counted in the bins (tokens with a null logprob are left out). */
  scoredTokens: number;
  /** Mean surprisal in bits per scored token; null when nothing was scored. */
  meanBits: number | null;
  /** Median surprisal in bits (mean of the two middle values for an even count); null when nothing was scored. */
  medianBits: number | null;
  maxBits: number | null;
}

export interface SurprisalHistogramOptions {
  /** Width of each bin in bits. Default 1. */
  binWidthBits?: number;
  /** At most this many bins; surprisals beyond fall into the last, open-ended bin. Default 20. */
  maxBins?: number;
}

/**
 * Histogram of per-token surprisal in bits. Bin i holds surprisals in [i·w, (i+1)·w); the number of
 * bins is just enough to hold the largest surprisal, capped at `maxBins`, the last of which then
 * is open-ended. Always at least one bin so an empty document draws an empty axis.
 */
export function surprisalHistogram(tokens: readonly TokenScore[], options: SurprisalHistogramOptions = {}): SurprisalHistogram {
  const binWidthBits = options.binWidthBits ?? 1;
  const maxBins = Math.max(1, Math.floor(options.maxBins ?? 20));
  if (!(binWidthBits > 0)) throw new Error(`surprisal histogram: bin width must be positive, got ${binWidthBits}`);

  const values: number[] = [];
  for (const token of tokens) {
    if (token.logprob !== null && Number.isFinite(token.logprob)) values.push(surprisalBits(token.logprob));
  }
  const maxBits = values.length > 0 ? Math.max(...values) : null;
  const binsNeeded = maxBits === null ? 1 : Math.floor(maxBits / binWidthBits) + 1;
  const binCount = Math.min(maxBins, Math.max(1, binsNeeded));
  const openEnded = binsNeeded > maxBins;

  const bins: HistogramBin[] = [];
  for (let i = 0; i < binCount; i++) {
    const last = i === binCount - 1;
    bins.push({ fromBits: i * binWidthBits, toBits: last && openEnded ? null : (i + 1) * binWidthBits, count: 0 });
  }
  for (const value of values) {
    const index = Math.min(binCount - 1, Math.floor(value / binWidthBits));
    const bin = bins[index];
    if (bin) bin.count += 1;
  }

  const sorted = [...values].sort((a, b) => a - b);
  let medianBits: number | null = null;
  if (sorted.length > 0) {
    const mid = sorted.length >> 1;
    medianBits = sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  }
  const meanBits = values.length > 0 ? values.reduce((sum, v) => sum + v, 0) / values.length : null;
  return { binWidthBits, bins, scoredTokens: values.length, meanBits, medianBits, maxBits };
}

// ---------------------------------------------------------------- GLTR rank buckets

export interface RankBucketBar {
  bucket: RankBucketName;
  /** Human label, e.g. "top 10", "11–100". */
  label: string;
  count: number;
  /** count / all scored tokens in the buckets; 0 when there are none. */
  fraction: number;
}

/**
 * GLTR's bar chart (Gehrmann et al., 2019, "GLTR: Statistical Detection and Visualization of
 * Generated Text"): how many tokens were the model's top-10, top-100, top-1000 choice, or worse.
 * The buckets are disjoint (`top100` counts ranks 11–100), as the engine's Metrics.rankBuckets are.
 */
export function rankBucketBars(buckets: RankBuckets): RankBucketBar[] {
  const total = GLTR_BUCKETS.reduce((sum, name) => sum + buckets[name], 0);
  return GLTR_BUCKETS.map((bucket) => ({
    bucket,
    label: GLTR_BUCKET_LABELS[bucket],
    count: buckets[bucket],
    fraction: total > 0 ? buckets[bucket] / total : 0,
  }));
}

// ---------------------------------------------------------------- most surprising tokens

export interface SurprisingToken {
  /** Index of the token in the scored document. */
  index: number;
  text: string;
  /** UTF-16 offsets into the document, [start, end). */
  start: number;
  end: number;
  surprisalBits: number;
  prob: number;
  rank: number | null;
  /** The model's top choice at this position, when the engine reported alternatives. */
  expected: string | null;
}

/**
 * The `count` scored tokens with the highest surprisal, most surprising first; ties keep document
 * order so the list is stable between rescores.
 */
export function mostSurprisingTokens(tokens: readonly TokenScore[], count = 20): SurprisingToken[] {
  const scored: SurprisingToken[] = [];
  tokens.forEach((token, index) => {
    if (token.logprob === null || !Number.isFinite(token.logprob)) return;
    scored.push({
      index,
      text: token.text,
      start: token.start,
      end: token.end,
      surprisalBits: surprisalBits(token.logprob),
      prob: Math.exp(token.logprob),
      rank: token.rank,
      expected: token.top[0]?.text ?? null,
    });
  });
  scored.sort((a, b) => b.surprisalBits - a.surprisalBits || a.index - b.index);
  return scored.slice(0, Math.max(0, count));
}

// ---------------------------------------------------------------- method, stated plainly

/** One or two sentences saying how the numbers were computed, e.g. for the Document section. */
export function describeMethod(method: MethodInfo): string {
  const prefix = method.prefix ? ` The first token is predicted after the prefix token ${method.prefix}.` : "";
  const adapters =
    method.adapters && method.adapters.length > 0 ? ` LoRA adapters active: ${method.adapters.map((a) => `${a.name} × ${a.scale}`).join(", ")}.` : "";
  if (method.method === "sliding" && method.stride < method.window) {
    const context = method.window - method.stride;
    return (
      `Sliding window of ${method.window} tokens moved by ${method.stride}: ` +
      `after the first window every token is predicted from at least ${context} tokens of context.` +
      prefix +
      adapters
    );
  }
  // A sliding window moved by a whole window is the rolling method.
  return (
    `${method.method === "sliding" ? "Sliding" : "Rolling"} windows of ${method.window} tokens, not overlapping: ` +
    `context restarts at each window boundary, so tokens early in a window see little context.` +
    prefix +
    adapters
  );
}

// ---------------------------------------------------------------- what the panel shows

/** Everything the Document section draws, computed from one score result. */
export interface DocumentStats {
  histogram: SurprisalHistogram;
  rankBars: RankBucketBar[];
  mostSurprising: SurprisingToken[];
  methodDescription: string;
}

export function documentStats(
  result: { method: MethodInfo; metrics: Metrics; tokens: readonly TokenScore[] },
  options: { mostSurprisingCount?: number; histogram?: SurprisalHistogramOptions } = {},
): DocumentStats {
  return {
    histogram: surprisalHistogram(result.tokens, options.histogram),
    rankBars: rankBucketBars(result.metrics.rankBuckets),
    mostSurprising: mostSurprisingTokens(result.tokens, options.mostSurprisingCount ?? 20),
    methodDescription: describeMethod(result.method),
  };
}

/** Budget use of the cache: bytesHeld / budgetBytes, null without a budget. */
export function cacheBudgetFraction(stats: Pick<KvCacheStats, "bytesHeld" | "budgetBytes">): number | null {
  return stats.budgetBytes > 0 ? stats.bytesHeld / stats.budgetBytes : null;
}
