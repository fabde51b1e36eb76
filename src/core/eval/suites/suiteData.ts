/**
 * What the bias suites share: the data error, the request a suite asks for (Task 1's {@link LoglikelihoodRequest}
 * tagged with its item and choice), gathering the answers back per item, and lm-evaluation-harness's `mean` and
 * `mean_stderr` (lm_eval/api/metrics.py).
 */
import type { LoglikelihoodRequest, LoglikelihoodResult } from "../loglikelihood";

/** Benchmark data that cannot be used; the message is one sentence naming the file and the item or line. */
export class SuiteDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SuiteDataError";
  }
}

/** A loglikelihood request of a suite: the `choice`-th text scored for item `item` (both 0-based). */
export interface SuiteRequest extends LoglikelihoodRequest {
  item: number;
  choice: number;
}

/**
 * The batch key of `planPrefixBatches` (loglikelihood.ts) that puts a suite's requests for one item together, so the
 * sentences of a CrowS-Pairs pair or a StereoSet triplet, which have an empty context, share their common first tokens.
 */
export function itemGroupOf(requests: readonly SuiteRequest[]): (request: number) => string {
  return (request) => String(requests[request]?.item ?? `request ${request}`);
}

/**
 * Per item, per choice, a number taken from each request's result (`score`, by default the summed log-probability),
 * from requests and results given in the same order. A missing or uncomputable score is null.
 */
export function choiceScores(
  itemCount: number,
  requests: readonly SuiteRequest[],
  results: readonly LoglikelihoodResult[],
  score: (result: LoglikelihoodResult) => number | null = (result) => result.logprob,
): Array<Array<number | null>> {
  if (results.length !== requests.length) throw new SuiteDataError(`There are ${results.length} results for ${requests.length} requests.`);
  const out: Array<Array<number | null>> = Array.from({ length: itemCount }, () => []);
  requests.forEach((request, i) => {
    const row = out[request.item];
    if (row === undefined) throw new SuiteDataError(`Request ${i} names item ${request.item}, but there are ${itemCount} items.`);
    const value = score(results[i] as LoglikelihoodResult);
    row[request.choice] = value !== null && Number.isFinite(value) ? value : null;
  });
  for (const row of out) for (let c = 0; c < row.length; c++) if (row[c] === undefined) row[c] = null;
  return out;
}

/** StereoSet's per-token normalisation of a sentence score: the summed log-probability over the number of tokens. */
export function perTokenLogprob(result: LoglikelihoodResult): number | null {
  return result.logprob !== null && result.tokens.length > 0 ? result.logprob / result.tokens.length : null;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** lm-eval's `mean`: Σx / n; null for no values. */
export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return finiteOrNull(sum / values.length);
}

/**
 * lm-eval's `mean_stderr` (lm_eval/api/metrics.py): sample_stddev / √n with sample_stddev = √(Σ(x − x̄)² / (n − 1));
 * null for fewer than two values. For 0/1 values with mean p it equals √(p(1 − p) / (n − 1)).
 */
export function meanStderr(values: readonly number[]): number | null {
  const m = mean(values);
  if (m === null || values.length < 2) return null;
  let squares = 0;
  for (const v of values) squares += (v - m) * (v - m);
  return finiteOrNull(Math.sqrt(squares / (values.length - 1)) / Math.sqrt(values.length));
}

/** The binomial standard error of a proportion p of n trials: √(p(1 − p) / n); null for n = 0. */
export function binomialStderr(p: number | null, n: number): number | null {
  if (p === null || n === 0) return null;
  return finiteOrNull(Math.sqrt((p * (1 - p)) / n));
}

/** Index of the largest value, the first of equals (numpy's `argmax`); null when any value is null or there is none. */
export function argmax(values: readonly (number | null)[]): number | null {
  let best: number | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) return null;
    if (best === null || v > (values[best] as number)) best = i;
  }
  return best;
}

/** Values grouped by a key, groups in the order their key first appears. */
export function groupBy<T>(values: readonly T[], keyOf: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values) {
    const key = keyOf(value);
    const group = groups.get(key);
    if (group) group.push(value);
    else groups.set(key, [value]);
  }
  return groups;
}

/** A parsed JSON value's description for an error message: its type, or for a string its text. */
export function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "object") return "an object";
  return String(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
