/**
 * Wire schemas of src/core's plain data. Each is typed `Schema<CoreType>`, which compiles only when the schema
 * describes exactly that type (Schema is invariant): a field added to a core type without its schema here, or a
 * schema field the type lacks, is a compile error. The engine and webview protocols build on these.
 */
import type {
  Comparison,
  ComparisonEntry,
  ComparisonMetrics,
  ComparisonOptions,
  ComparisonTarget,
  ComparedToken,
  ComparedModelDescription,
  ComparisonVerdict,
} from "../core/comparisonData";
import type { DocumentStats, KvBytesBreakdown, RescoreAggregates, RescoreRecord } from "../core/documentStats";
import type { AdapterInfo, AdapterMode, AdapterSelection } from "../core/lora/adapterTypes";
import type {
  KvCacheStats,
  MethodInfo,
  Metrics,
  ModelInfo,
  RankBuckets,
  RescoreInfo,
  ScoreOptions,
  TokenScore,
  TopAlternative,
  WindowMethod,
} from "../core/types";
import { arrayOf, boolean, count, nullable, number, object, oneOf, optional, refine, string, type Schema } from "./schema";

const finite = number();
const countOrNull = nullable(count());
const finiteOrNull = nullable(finite);

export const windowMethod: Schema<WindowMethod> = oneOf("sliding", "rolling");

/** The largest top-k the engine computes (the setting allows 20). */
export const MAX_TOP_K = 100;

export const scoreOptions: Schema<ScoreOptions> = object({
  method: windowMethod,
  window: count(),
  stride: count(),
  topK: number({ integer: true, min: 0, max: MAX_TOP_K }),
});

export const topAlternative: Schema<TopAlternative> = object({ id: count(), text: string(), logprob: finite });

export const tokenScore: Schema<TokenScore> = object({
  id: count(),
  text: string(),
  start: count(),
  end: count(),
  logprob: finiteOrNull,
  prob: finiteOrNull,
  rank: nullable(number({ integer: true, min: 1 })),
  entropy: finiteOrNull,
  top: arrayOf(topAlternative),
  contextLength: optional(count()),
});

export const rankBuckets: Schema<RankBuckets> = object({ top10: count(), top100: count(), top1000: count(), rest: count() });

const metricsFields = {
  tokens: count(),
  scoredTokens: count(),
  bytes: count(),
  words: count(),
  nll: finite,
  tokenPerplexity: finiteOrNull,
  wordPerplexity: finiteOrNull,
  bytePerplexity: finiteOrNull,
  bitsPerByte: finiteOrNull,
  nllStdErr: finiteOrNull,
  rankBuckets,
};
export const metrics: Schema<Metrics> = object(metricsFields);

export const methodInfo: Schema<MethodInfo> = object({
  method: windowMethod,
  window: count(),
  stride: count(),
  prefix: string(),
  adapters: optional(arrayOf(object({ name: string(), scale: finite }))),
});

export const modelInfo: Schema<ModelInfo> = object({
  name: string(),
  path: string(),
  source: oneOf("embedded", "folder"),
  architecture: oneOf("gpt2", "llama"),
  modelType: string(),
  vocabSize: count(),
  contextLength: count(),
  numLayers: count(),
  numHeads: count(),
  numKvHeads: count(),
  headDim: count(),
  hiddenSize: count(),
  parameters: count(),
  parametersEstimate: count(),
  flopsPerToken: finite,
  kvDtype: oneOf("float32", "float16"),
  kvBytesPerToken: count(),
  tokenizerType: string(),
  files: arrayOf(object({ name: string(), bytes: count() })),
  loraInputs: boolean(),
});

export const kvCacheStats: Schema<KvCacheStats> = object({
  tokensCached: count(),
  bytesHeld: count(),
  budgetBytes: count(),
  layerShape: arrayOf(count()),
  tokensReused: count(),
  tokensRecomputed: count(),
  hitRate: finiteOrNull,
  evictions: count(),
  lastReset: optional(string()),
});

export const rescoreInfo: Schema<RescoreInfo> = object({ tokensReused: count(), tokensRecomputed: count(), millis: finite, fullRescoreMillisEstimate: finite });

// ---------------------------------------------------------------- LoRA

/** The largest scale magnitude accepted (as Set LoRA Scale does); the panel's slider covers 0–2. */
export const MAX_ADAPTER_SCALE = 10;

export const adapterScale: Schema<number> = number({ min: -MAX_ADAPTER_SCALE, max: MAX_ADAPTER_SCALE });

export const adapterSelection: Schema<AdapterSelection> = object({ name: string({ nonEmpty: true }), path: optional(string()), scale: finite });

export const adapterInfo: Schema<AdapterInfo> = object({
  name: string(),
  path: string(),
  rank: count(),
  alpha: finite,
  targetModules: arrayOf(string()),
  description: string(),
  baseModel: string(),
});

export const adapterMode: Schema<AdapterMode> = oneOf("feed", "merge", "none");

// ---------------------------------------------------------------- comparison

export const comparisonTarget: Schema<ComparisonTarget> = object({
  path: string({ nonEmpty: true }),
  name: optional(string()),
  source: optional(oneOf("embedded", "folder")),
});

export const comparisonOptions: Schema<ComparisonOptions> = object({ method: windowMethod, window: count(), stride: count() });

const comparisonMetrics: Schema<ComparisonMetrics> = object({
  ...metricsFields,
  charsPerToken: finiteOrNull,
  bytesPerToken: finiteOrNull,
  nllBits: finiteOrNull,
});

const comparedToken: Schema<ComparedToken> = refine(
  object({ start: count(), end: count(), bits: finiteOrNull }),
  (t) => t.start <= t.end,
  "a token's start must not be after its end",
);

const comparedModel: Schema<ComparedModelDescription> = object({
  name: string(),
  path: string(),
  kind: oneOf("model", "tokenizer"),
  architecture: nullable(oneOf("gpt2", "llama")),
  vocabSize: count(),
  contextLength: countOrNull,
  parameters: countOrNull,
  tokenizerType: string(),
});

const comparisonEntry: Schema<ComparisonEntry> = object({
  model: comparedModel,
  method: nullable(methodInfo),
  metrics: comparisonMetrics,
  tokens: arrayOf(comparedToken),
  millis: finite,
});

const comparisonVerdict: Schema<ComparisonVerdict> = object({
  sentence: string(),
  rankingByBitsPerByte: arrayOf(count()),
  rankingByTokenPerplexity: arrayOf(count()),
  sameTokenization: boolean(),
});

export const comparison: Schema<Comparison> = object({
  characters: count(),
  bytes: count(),
  words: count(),
  entries: arrayOf(comparisonEntry),
  verdict: comparisonVerdict,
});

// ---------------------------------------------------------------- panel statistics

export const documentStats: Schema<DocumentStats> = object({
  histogram: object({
    binWidthBits: finite,
    bins: arrayOf(object({ fromBits: finite, toBits: finiteOrNull, count: count() })),
    scoredTokens: count(),
    meanBits: finiteOrNull,
    medianBits: finiteOrNull,
    maxBits: finiteOrNull,
  }),
  rankBars: arrayOf(object({ bucket: oneOf("top10", "top100", "top1000", "rest"), label: string(), count: count(), fraction: finite })),
  mostSurprising: arrayOf(
    object({
      index: count(),
      text: string(),
      start: count(),
      end: count(),
      surprisalBits: finite,
      prob: finite,
      rank: countOrNull,
      expected: nullable(string()),
    }),
  ),
  methodDescription: string(),
});

export const kvBytesBreakdown: Schema<KvBytesBreakdown> = object({
  layers: count(),
  kvHeads: count(),
  headDim: count(),
  tokens: count(),
  dtype: oneOf("float32", "float16"),
  dtypeBytes: count(),
  bytes: count(),
  bytesPerToken: count(),
});

export const rescoreRecord: Schema<RescoreRecord> = object({
  at: finite,
  document: string(),
  tokensReused: count(),
  tokensRecomputed: count(),
  millis: finite,
  fullRescoreMillisEstimate: finite,
});

export const rescoreAggregates: Schema<RescoreAggregates> = object({
  rescores: count(),
  tokensReused: count(),
  tokensRecomputed: count(),
  reuseFraction: finiteOrNull,
  millis: finite,
  fullRescoreMillisEstimate: finite,
  millisSaved: finite,
  speedup: finiteOrNull,
});
