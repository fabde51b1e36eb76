/**
 * Tokenizer comparison: the same text scored by two or more models (and split by tokenizers that have no model), so
 * the part of a perplexity that is the tokenizer's can be seen and the models compared fairly.
 *
 * Why token perplexity is not comparable across tokenizers: it is exp(NLL / tokens), and the same text is a
 * different number of tokens for each tokenizer. With B = UTF-8 bytes of the text (the same for every model),
 *
 *   token perplexity = exp(NLL / tokens) = 2^(bits per byte × bytes per token)
 *
 * so a tokenizer with short tokens (a byte model: one byte per token) divides the same total loss over more, easier
 * predictions and gets a much lower token perplexity for the same bits per byte. Bits per byte (NLL / (B · ln 2)),
 * byte perplexity (exp(NLL / B)) and word perplexity (exp(NLL / W), W = /\s+/ pieces) divide by a unit that does
 * not depend on the tokenizer, so on the same text they compare fairly (lm-evaluation-harness reports word and
 * byte perplexity and bits per byte for this reason). The formulas themselves are in metrics.ts.
 *
 * No `vscode`; used by the command line (`compare`), the worker (`compare` request) and the tests.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_SCORE_OPTIONS, Engine, EngineError, type RunOptions } from "./engine";
import { computeMetrics } from "./metrics";
import { ONNX_CANDIDATES } from "./backends/onnx/modelBundle";
import { TextTokenizer } from "./tokenizers/textTokenizer";
import { UnsafeTokenizerError } from "./tokenizers/tokenizerSafety";
import type { Metrics, TokenScore } from "./types";
import { silentLogger, type Logger } from "./logger";
import { natsToBits, surprisalBitsOrNull } from "./surprisal";
import type {
  ComparedToken,
  Comparison,
  ComparisonEntry,
  ComparisonMetrics,
  ComparisonOptions,
  ComparisonProgress,
  ComparisonReport,
  ComparisonVerdict,
  ComparisonTarget,
} from "./comparisonData";

export type * from "./comparisonData";

/** The defaults of `score`, so a model's comparison column equals its score. */
export const DEFAULT_COMPARISON_OPTIONS: ComparisonOptions = { method: DEFAULT_SCORE_OPTIONS.method, window: 0, stride: 0 };

export interface ComparisonRun {
  signal?: AbortSignal;
  onProgress?: (progress: ComparisonProgress) => void;
  /**
   * An engine whose loaded model is used for the target with the same folder (it stays loaded; its comparison state
   * is released afterwards). Every other model is loaded in an engine of its own and released after the comparison.
   */
  loadedEngine?: Engine;
  logger?: Logger;
  threads?: number;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** "model" when the folder has a config.json or an ONNX graph, "tokenizer" when it has only tokenizer.json. */
export function classifyComparisonFolder(dir: string): "model" | "tokenizer" {
  const full = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    throw new EngineError("badInput", `The folder ${full} does not exist.`);
  }
  if (!stat.isDirectory()) throw new EngineError("badInput", `${full} is not a folder (expected a model folder or a folder with tokenizer.json).`);
  const hasModelParts = fs.existsSync(path.join(full, "config.json")) || ONNX_CANDIDATES.some((candidate) => fs.existsSync(path.join(full, candidate)));
  if (hasModelParts) return "model";
  if (fs.existsSync(path.join(full, "tokenizer.json"))) return "tokenizer";
  throw new EngineError("badInput", `The folder ${full} has neither a model (config.json and an ONNX graph) nor a tokenizer.json.`);
}

function readJsonFile(file: string, required: boolean): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    if (required) throw new EngineError("badInput", `${file} could not be read.`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new EngineError("badInput", `${file} is not valid JSON (${messageOf(e).replace(/\.$/, "")}).`);
  }
}

/** The tokenizer of a folder (tokenizer.json, and tokenizer_config.json when present). */
export function loadFolderTokenizer(dir: string): TextTokenizer {
  const full = path.resolve(dir);
  const tokenizerJson = readJsonFile(path.join(full, "tokenizer.json"), true);
  const tokenizerConfig = readJsonFile(path.join(full, "tokenizer_config.json"), false);
  try {
    return TextTokenizer.fromJson(tokenizerJson, tokenizerConfig);
  } catch (e) {
    if (e instanceof UnsafeTokenizerError) throw new EngineError("badInput", `${full}/${e.message}`);
    throw new EngineError("badInput", `${path.join(full, "tokenizer.json")} could not be used (${messageOf(e).replace(/\.$/, "")}).`);
  }
}

/** Adds the per-token ratios and NLL in bits to `score` metrics of the whole text. */
export function comparisonMetrics(text: string, metrics: Metrics): ComparisonMetrics {
  const perToken = (units: number): number | null => (metrics.tokens > 0 ? units / metrics.tokens : null);
  return {
    ...metrics,
    charsPerToken: perToken(text.length),
    bytesPerToken: perToken(metrics.bytes),
    nllBits: metrics.scoredTokens > 0 ? natsToBits(metrics.nll) : null,
  };
}

function comparedTokens(tokens: readonly Pick<TokenScore, "start" | "end" | "logprob">[]): ComparedToken[] {
  return tokens.map((t) => ({ start: t.start, end: t.end, bits: surprisalBitsOrNull(t.logprob) }));
}

/** Splits the text with a tokenizer that has no model: counts and boundaries, no perplexity. */
export function tokenizerOnlyEntry(text: string, dir: string, name?: string): ComparisonEntry {
  const started = Date.now();
  const full = path.resolve(dir);
  const tokenizer = loadFolderTokenizer(full);
  const encoded = tokenizer.encode(text);
  const scores: TokenScore[] = encoded.offsets.map(([start, end], j) => ({
    id: encoded.ids[j] ?? 0,
    text: "",
    start,
    end,
    logprob: null,
    prob: null,
    rank: null,
    entropy: null,
    top: [],
  }));
  const metrics = computeMetrics(text, scores);
  return {
    model: {
      name: name ?? path.basename(full),
      path: full,
      kind: "tokenizer",
      architecture: null,
      vocabSize: tokenizer.vocabSize,
      contextLength: null,
      parameters: null,
      tokenizerType: tokenizer.type,
    },
    method: null,
    metrics: comparisonMetrics(text, metrics),
    tokens: comparedTokens(scores),
    millis: Date.now() - started,
  };
}

async function modelEntry(
  text: string,
  engine: Engine,
  options: ComparisonOptions,
  run: RunOptions,
  docId: string,
  started: number,
  name?: string,
): Promise<ComparisonEntry> {
  const info = engine.modelInfo;
  if (info === null) throw new EngineError("internal", "The comparison's engine has no model loaded.");
  const result = await engine.score(docId, text, { method: options.method, window: options.window, stride: options.stride, topK: 0 }, run);
  // The loaded model may have LoRA adapters on: say so in its name, since they change its numbers.
  const adapters = (result.method.adapters ?? []).filter((a) => a.scale !== 0);
  const adapterSuffix = adapters.length > 0 ? ` + ${adapters.map((a) => `${a.name} × ${a.scale}`).join(" + ")}` : "";
  return {
    model: {
      name: (name ?? info.name) + adapterSuffix,
      path: info.path,
      kind: "model",
      architecture: info.architecture,
      vocabSize: info.vocabSize,
      contextLength: info.contextLength,
      parameters: info.parameters,
      tokenizerType: info.tokenizerType,
    },
    method: result.method,
    metrics: comparisonMetrics(text, result.metrics),
    tokens: comparedTokens(result.tokens),
    millis: Date.now() - started,
  };
}

const COMPARISON_DOC_ID = "\u0000comparison";

/**
 * Scores `text` with every model target and splits it with every tokenizer-only target, in order. Needs at least
 * two targets. Models other than `run.loadedEngine`'s are loaded one at a time and released right after scoring.
 */
export async function compareModels(
  text: string,
  targets: readonly ComparisonTarget[],
  options: ComparisonOptions = DEFAULT_COMPARISON_OPTIONS,
  run: ComparisonRun = {},
): Promise<Comparison> {
  if (typeof text !== "string") throw new EngineError("badInput", "The text to compare on is not a string.");
  if (text.includes("\u0000")) throw new EngineError("badInput", "The text contains NUL characters, so it looks binary and is not compared.");
  if (targets.length < 2) throw new EngineError("badInput", `A comparison needs at least two models or tokenizers, not ${targets.length}.`);
  const entries: ComparisonEntry[] = [];
  const loadedPath = run.loadedEngine?.modelInfo?.path;
  for (const [index, target] of targets.entries()) {
    if (run.signal?.aborted) throw new EngineError("cancelled", "The comparison was cancelled.");
    const dir = path.resolve(target.path);
    const name = target.name ?? path.basename(dir);
    const progress = (done: number, total: number): void => run.onProgress?.({ index, count: targets.length, name, done, total });
    const scoreRun: RunOptions = { onProgress: progress, ...(run.signal ? { signal: run.signal } : {}) };
    const started = Date.now();
    progress(0, 0);
    if (classifyComparisonFolder(dir) === "tokenizer") {
      entries.push(tokenizerOnlyEntry(text, dir, name));
      continue;
    }
    if (run.loadedEngine && loadedPath !== undefined && path.resolve(loadedPath) === dir) {
      try {
        entries.push(await modelEntry(text, run.loadedEngine, options, scoreRun, COMPARISON_DOC_ID, started, name));
      } finally {
        await run.loadedEngine.releaseDocument(COMPARISON_DOC_ID);
      }
      continue;
    }
    const engine = new Engine({ logger: run.logger ?? silentLogger, threads: run.threads ?? 1, maxDocuments: 1 });
    try {
      await engine.loadModel(dir, { source: target.source ?? "folder" });
      entries.push(await modelEntry(text, engine, options, scoreRun, COMPARISON_DOC_ID, started, name));
    } finally {
      await engine.dispose();
    }
  }
  const first = entries[0];
  const comparison: Omit<Comparison, "verdict"> = {
    characters: text.length,
    bytes: first?.metrics.bytes ?? 0,
    words: first?.metrics.words ?? 0,
    entries,
  };
  return { ...comparison, verdict: comparisonVerdict(comparison) };
}

/** `compare --json`: one object per entry, as `score --json` without tokens. */
export function comparisonReports(comparison: Comparison): ComparisonReport[] {
  return comparison.entries.map((e) => ({ model: e.model, method: e.method, metrics: e.metrics }));
}

// ---------------------------------------------------------------- the verdict

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

/** A perplexity in a short readable form (3 significant digits, exponent form beyond 10⁶). */
export function formatPerplexity(value: number): string {
  if (value >= 1e6) return value.toExponential(2);
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function sameBoundaries(a: readonly ComparedToken[], b: readonly ComparedToken[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.start !== b[i]!.start || a[i]!.end !== b[i]!.end) return false;
  return true;
}

function listJoin(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]!}`;
}

/**
 * The fairness sentence, generated from the numbers: token perplexity compares fairly only when every model split
 * the text into the same tokens; otherwise bits per byte (and word perplexity) do, and the sentence says which model
 * is better per byte and by how much, and whether token perplexity would have said otherwise.
 */
export function comparisonVerdict(comparison: Omit<Comparison, "verdict">): ComparisonVerdict {
  const entries = comparison.entries;
  const scored = entries.map((e, i) => ({ e, i })).filter(({ e }) => e.metrics.bitsPerByte !== null && e.metrics.tokenPerplexity !== null);
  const byBpb = [...scored].sort((a, b) => a.e.metrics.bitsPerByte! - b.e.metrics.bitsPerByte!);
  const byTokenPpl = [...scored].sort((a, b) => a.e.metrics.tokenPerplexity! - b.e.metrics.tokenPerplexity!);
  const sameTokenization = scored.length >= 2 && scored.every(({ e }) => sameBoundaries(e.tokens, scored[0]!.e.tokens));
  const sentences: string[] = [];
  const tokenizersOnly = entries.filter((e) => e.model.kind === "tokenizer");

  if (comparison.bytes === 0) {
    sentences.push("The text is empty, so there is nothing to compare.");
  } else if (scored.length >= 2) {
    const best = byBpb[0]!.e;
    const second = byBpb[1]!.e;
    const bpbBest = best.metrics.bitsPerByte!;
    const bpbSecond = second.metrics.bitsPerByte!;
    const fewer = bpbSecond > 0 ? (1 - bpbBest / bpbSecond) * 100 : 0;
    const counts = listJoin(scored.map(({ e }, k) => `${e.metrics.tokens}${k === 0 ? " tokens" : ""} for ${e.model.name}`));
    if (sameTokenization) {
      sentences.push(
        `Every model split the text into the same ${best.metrics.tokens} tokens, so token perplexity compares fairly here, as do bits per byte and word perplexity: ` +
          `${best.model.name} is better, ${fixed(bpbBest, 3)} against ${fixed(bpbSecond, 3)} bits per byte (${fixed(fewer, 1)}% fewer bits than ${second.model.name}).`,
      );
    } else {
      sentences.push(
        `Token perplexity is not comparable across these tokenizers: the same text is ${counts}, so each model's perplexity averages its loss over a different unit ` +
          `(token perplexity = 2^(bits per byte × bytes per token)).`,
      );
      const wordClause =
        best.metrics.wordPerplexity !== null && second.metrics.wordPerplexity !== null
          ? ` and ${formatPerplexity(best.metrics.wordPerplexity)} against ${formatPerplexity(second.metrics.wordPerplexity)} word perplexity`
          : "";
      sentences.push(
        `Bits per byte and word perplexity divide the loss by the same ${comparison.bytes} bytes and ${comparison.words} words, so they compare fairly: ` +
          `${best.model.name} is better per byte, ${fixed(bpbBest, 3)} against ${fixed(bpbSecond, 3)} bits per byte for ${second.model.name} (${fixed(fewer, 1)}% fewer bits)${wordClause}.`,
      );
      const lowestTokenPpl = byTokenPpl[0]!.e;
      if (lowestTokenPpl !== best) {
        sentences.push(
          `Per token, ${lowestTokenPpl.model.name} looks better (token perplexity ${formatPerplexity(lowestTokenPpl.metrics.tokenPerplexity!)} against ${formatPerplexity(best.metrics.tokenPerplexity!)}), ` +
            `but only because its tokens are shorter (${fixed(lowestTokenPpl.metrics.bytesPerToken ?? 0, 2)} bytes per token against ${fixed(best.metrics.bytesPerToken ?? 0, 2)}): ` +
            `per byte it needs ${fixed(lowestTokenPpl.metrics.bitsPerByte!, 3)} bits, ${fixed((lowestTokenPpl.metrics.bitsPerByte! / bpbBest - 1) * 100, 0)}% more than ${best.model.name}.`,
        );
      } else {
        const other = byTokenPpl[byTokenPpl.length - 1]!.e;
        sentences.push(
          `${best.model.name} also has the lower token perplexity (${formatPerplexity(best.metrics.tokenPerplexity!)} against ${formatPerplexity(other.metrics.tokenPerplexity!)} for ${other.model.name}), ` +
            `but the size of that gap is set by the tokenizers as much as by the models.`,
        );
      }
      // A window of N tokens covers N × bytes-per-token bytes: the model with longer tokens sees more of the text at once.
      const spans = scored.map(({ e }) => ({ e, bytes: (e.method?.window ?? 0) * (e.metrics.bytesPerToken ?? 0) }));
      const shortest = spans.reduce((a, b) => (b.bytes < a.bytes ? b : a));
      const longest = spans.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      if (shortest.bytes > 0 && longest.bytes > shortest.bytes * 1.25 && comparison.bytes > shortest.bytes) {
        sentences.push(
          `Their windows cover different amounts of text (about ${Math.round(shortest.bytes)} bytes for ${shortest.e.model.name}, ${Math.round(longest.bytes)} for ${longest.e.model.name}), ` +
            `so part of the difference is context, not only modelling.`,
        );
      }
    }
  } else if (scored.length === 1) {
    const only = scored[0]!.e;
    sentences.push(
      `Only ${only.model.name} has a model (${fixed(only.metrics.bitsPerByte!, 3)} bits per byte, token perplexity ${formatPerplexity(only.metrics.tokenPerplexity!)}); ` +
        `the other entries can be compared by how they split the text, not by perplexity.`,
    );
  } else {
    sentences.push("No entry has a model, so the comparison is of how each tokenizer splits the text, not of perplexity.");
  }
  if (tokenizersOnly.length > 0 && comparison.bytes > 0) {
    const described = tokenizersOnly.map(
      (e) => `${e.model.name} splits it into ${e.metrics.tokens} tokens (${fixed(e.metrics.bytesPerToken ?? 0, 2)} bytes per token)`,
    );
    sentences.push(`Tokenizer only: ${listJoin(described)}.`);
  }
  return {
    sentence: sentences.join(" "),
    rankingByBitsPerByte: byBpb.map(({ i }) => i),
    rankingByTokenPerplexity: byTokenPpl.map(({ i }) => i),
    sameTokenization,
  };
}
