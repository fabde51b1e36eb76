/**
 * What changed between two configurations on the same text (a baseline and a candidate: a quantisation, an adapter,
 * another model), position by position:
 *
 * - {@link summarizeDiff}: the summary `llama-perplexity --kl-divergence` prints, with its definitions and its
 *   uncertainties (llama.cpp tools/perplexity/perplexity.cpp, function `kl_divergence` and its helpers
 *   `mean_and_uncertainty`, `covariance` and `percentile`);
 * - {@link klDivergence}: the exact KL(baseline ‖ candidate) of one position from two full log-probability rows;
 * - {@link alignLossesOnCommonSpans}: for two different tokenizers, each token's loss spread over its UTF-8 bytes and
 *   the two sides compared on the character spans whose edges are token boundaries on both sides.
 *
 * Notation: for position i, nll_i = −ln q(t_i) (candidate, llama.cpp's "Q"), nllBase_i = −ln p(t_i) (baseline),
 * n = positions. llama.cpp's definitions, each written once below next to its code:
 *
 *   mean_and_uncertainty(Σx, Σx², n):  f = Σx / n;  δf = √((Σx²/n − f²) / (n − 1)), 0 when that variance is ≤ 0
 *                                      and no uncertainty at all when n ≤ 10 (llama.cpp prints 0 there; here null)
 *   covariance(Σa, Σb, Σab, n):        (Σab/n − (Σa/n)(Σb/n)) / (n − 1), none when n < 10 (llama.cpp: 0; here null)
 *   percentile(sorted v, f):           f ≤ 0 → v[0]; f ≥ 1 → v[n−1]; else h = f(n − 1), j = ⌊h⌋,
 *                                      (1 − (h − j)) v[j] + (h − j) v[min(j + 1, n − 1)]   (linear interpolation
 *                                      between closest ranks, numpy's default); median: the middle value, or the mean
 *                                      of the two middle values when n is even.
 *
 * llama.cpp computes the per-token values in float32, sums x and x² as they come, and its percentile fractions are
 * float32 literals (0.999f); here everything is float64 and the sums are of x − (first x), which gives the same
 * figures without the cancellation in Σx²/n − mean² (equal values get an uncertainty of exactly 0). llama.cpp prints its final statistics only from 100 positions on; here they are
 * computed from one position on, with a `caution` sentence below 100.
 */

import { utf8ByteLength } from "../tokenizers/utf8";

// ---------------------------------------------------------------------------------------------------- types

/** One scored position: both sides' log-probabilities of the actual next token, and what else is known. */
export interface DiffPosition {
  /** ln p(token) under the baseline (natural log); null or non-finite: the position is left out. */
  baselineLogprob: number | null;
  /** ln q(token) under the candidate; null or non-finite: the position is left out. */
  candidateLogprob: number | null;
  /** KL(baseline ‖ candidate) of the whole next-token distributions at this position, in nats (see klDivergence). */
  klDivergence?: number | null;
  /** Whether both sides' most probable token is the same at this position. */
  sameTop?: boolean | null;
  /** p(token) under the baseline; when absent, exp(baselineLogprob). */
  baselineProb?: number | null;
  /** q(token) under the candidate; when absent, exp(candidateLogprob). */
  candidateProb?: number | null;
}

/** A mean and its uncertainty (one standard error); `error` is null where it cannot be computed. */
export interface MeanWithError {
  value: number;
  error: number | null;
}

/** llama.cpp's "Perplexity statistics" block. Q is the candidate. */
export interface PerplexityComparison {
  /** Mean PPL(Q) = exp(mean nll), error PPL(Q) · δ(mean nll). */
  candidate: MeanWithError | null;
  /** Mean PPL(base) = exp(mean nllBase), error PPL(base) · δ(mean nllBase). */
  baseline: MeanWithError | null;
  /** Cor(ln PPL(Q), ln PPL(base)) = covariance / (δ(mean nll) · δ(mean nllBase)), in [−1, 1]. */
  correlation: number | null;
  /** Mean ln(PPL(Q)/PPL(base)) = mean nll − mean nllBase, error √(δ² + δBase² − 2 cov). */
  logRatio: MeanWithError;
  /** Mean PPL(Q)/PPL(base) = exp(logRatio), error ratio · δ(logRatio). */
  ratio: MeanWithError | null;
  /** Mean PPL(Q) − PPL(base), error √(δPPL² + δPPLbase² − 2 · PPL · PPLbase · cov). */
  difference: MeanWithError | null;
}

/** The KL divergence percentiles llama.cpp prints, in nats. */
export interface KlDivergencePercentiles {
  maximum: number;
  p99_9: number;
  p99: number;
  p95: number;
  p90: number;
  median: number;
  p10: number;
  p5: number;
  p1: number;
  p0_1: number;
  minimum: number;
}

/** The Δp percentiles llama.cpp prints (Δp = q(token) − p(token), a probability difference, not a percentage). */
export interface DeltaProbabilityPercentiles extends KlDivergencePercentiles {
  p75: number;
  p25: number;
}

/** llama.cpp's "KL divergence statistics" block. */
export interface KlDivergenceSummary {
  /** Positions with a KL divergence. */
  positions: number;
  /** Mean KLD, error of the mean (mean_and_uncertainty). */
  mean: MeanWithError;
  percentiles: KlDivergencePercentiles;
}

/** llama.cpp's "Token probability statistics" block. */
export interface TokenProbabilitySummary {
  /** Mean Δp, error of the mean (mean_and_uncertainty of Δp). */
  mean: MeanWithError;
  percentiles: DeltaProbabilityPercentiles;
  /** RMS Δp = √(mean Δp²), error δ(mean Δp²) / (2 · RMS) (mean_and_uncertainty of Δp², Δp⁴; first-order). */
  rms: MeanWithError;
  /** max |Δp| (llama.cpp keeps it as max_p_diff but does not print it). */
  maximumAbsolute: number;
}

/** llama.cpp's "Same top p". */
export interface SameTopSummary {
  /** Positions where top-token agreement is known. */
  positions: number;
  /** Fraction of those where both sides' top token is the same, error √(r(1 − r)/(n − 1)) (binomial). */
  rate: MeanWithError;
}

export interface DiffSummary {
  /** Positions with both log-probabilities finite (the n of every statistic but KLD and same-top). */
  positions: number;
  /** Positions left out because a log-probability was null or not finite. */
  skippedPositions: number;
  /** Why nothing could be summarised (no usable position); null otherwise. */
  problem: string | null;
  /** A sentence about how far the figures can be trusted (few positions); null from 100 positions on. */
  caution: string | null;
  perplexity: PerplexityComparison | null;
  /** Null when no position has a KL divergence. */
  klDivergence: KlDivergenceSummary | null;
  tokenProbability: TokenProbabilitySummary | null;
  /** Null when no position says whether the top tokens agree. */
  sameTop: SameTopSummary | null;
}

// ---------------------------------------------------------------------------------------------------- llama.cpp's helpers

/** llama.cpp prints no uncertainty (0) for a mean of this many values or fewer; see meanAndUncertainty. */
export const FEWEST_FOR_UNCERTAINTY = 11;
/** llama.cpp's `covariance` returns 0 below this many values. */
export const FEWEST_FOR_COVARIANCE = 10;
/** llama.cpp prints its final statistics only from this many positions on. */
export const FEWEST_FOR_LLAMA_CPP_SUMMARY = 100;

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/**
 * llama.cpp's `mean_and_uncertainty`: the mean Σx/n and its standard error √((Σx²/n − mean²)/(n − 1)) (the same as
 * the sample standard deviation / √n), 0 when that variance is not positive, null when n ≤ 10 (llama.cpp prints 0).
 * Null for n < 1. The sums may be of x − shift (the mean adds it back; the variance does not change), which keeps
 * Σx²/n − mean² from cancelling: llama.cpp sums x itself, so equal values can leave a rounding residue there.
 */
export function meanAndUncertainty(sum: number, sumOfSquares: number, count: number, shift = 0): MeanWithError | null {
  if (!(count >= 1) || !Number.isFinite(sum) || !Number.isFinite(sumOfSquares)) return null;
  const mean = sum / count;
  const variance = sumOfSquares / count - mean * mean;
  const error = count >= FEWEST_FOR_UNCERTAINTY ? (variance > 0 ? Math.sqrt(variance / (count - 1)) : 0) : null;
  return { value: shift + mean, error: error === null ? null : finiteOrNull(error) };
}

/** Σ(x − x₀) and Σ(x − x₀)² with x₀ the first value (llama.cpp's running sums, shifted; see meanAndUncertainty). */
function shiftedSums(values: readonly number[]): { shift: number; sum: number; sumOfSquares: number } {
  const shift = values[0] ?? 0;
  let sum = 0;
  let sumOfSquares = 0;
  for (const x of values) {
    sum += x - shift;
    sumOfSquares += (x - shift) * (x - shift);
  }
  return { shift, sum, sumOfSquares };
}

/** Σ(a − a₀)(b − b₀) over paired values, with the shifts of shiftedSums (the covariance does not change). */
function shiftedCrossSum(a: readonly number[], b: readonly number[]): number {
  const a0 = a[0] ?? 0;
  const b0 = b[0] ?? 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - a0) * (b[i]! - b0);
  return sum;
}

/**
 * llama.cpp's `covariance` of two means: (Σab/n − (Σa/n)(Σb/n)) / (n − 1); null when n < 10 (llama.cpp returns 0).
 */
export function covarianceOfMeans(sumA: number, sumB: number, sumAB: number, count: number): number | null {
  // The sums may be of shifted values (a − a₀, b − b₀): the covariance does not change.
  if (!(count >= FEWEST_FOR_COVARIANCE)) return null;
  return finiteOrNull((sumAB / count - (sumA / count) * (sumB / count)) / (count - 1));
}

/**
 * llama.cpp's `percentile` of ascending `sorted` values: fraction ≤ 0 → the first, ≥ 1 → the last, otherwise linear
 * interpolation at h = fraction · (n − 1) between sorted[⌊h⌋] and the next one. Throws on an empty list.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, fraction: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("A percentile of no values does not exist.");
  if (fraction <= 0) return sorted[0]!;
  if (fraction >= 1) return sorted[n - 1]!;
  const h = fraction * (n - 1);
  const j = Math.floor(h);
  const w = h - j;
  return (1 - w) * sorted[j]! + w * sorted[Math.min(j + 1, n - 1)]!;
}

/** llama.cpp's median of ascending `sorted` values: the middle one, or the mean of the two middle ones. */
export function medianOfSorted(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("The median of no values does not exist.");
  const half = Math.floor(n / 2);
  return n % 2 === 0 ? 0.5 * (sorted[half]! + sorted[half - 1]!) : sorted[half]!;
}

function klDivergencePercentiles(sorted: Float64Array): KlDivergencePercentiles {
  return {
    maximum: sorted[sorted.length - 1]!,
    p99_9: percentileOfSorted(sorted, 0.999),
    p99: percentileOfSorted(sorted, 0.99),
    p95: percentileOfSorted(sorted, 0.95),
    p90: percentileOfSorted(sorted, 0.9),
    median: medianOfSorted(sorted),
    p10: percentileOfSorted(sorted, 0.1),
    p5: percentileOfSorted(sorted, 0.05),
    p1: percentileOfSorted(sorted, 0.01),
    p0_1: percentileOfSorted(sorted, 0.001),
    minimum: sorted[0]!,
  };
}

function deltaProbabilityPercentiles(sorted: Float64Array): DeltaProbabilityPercentiles {
  return { ...klDivergencePercentiles(sorted), p75: percentileOfSorted(sorted, 0.75), p25: percentileOfSorted(sorted, 0.25) };
}

/** exp(mean) with error exp(mean) · δ (first-order: d exp(x)/dx = exp(x)); null on overflow. */
function exponentiated(logMean: MeanWithError): MeanWithError | null {
  const value = Math.exp(logMean.value);
  if (!Number.isFinite(value)) return null;
  return { value, error: logMean.error === null ? null : finiteOrNull(value * logMean.error) };
}

/** √ of a variance of a difference: negative only by rounding (it is the variance of the per-token difference). */
function rootOfDifferenceVariance(variance: number): number | null {
  return finiteOrNull(Math.sqrt(Math.max(0, variance)));
}

// ---------------------------------------------------------------------------------------------------- the summary

function usableProb(given: number | null | undefined, logprob: number): number {
  return given !== null && given !== undefined && Number.isFinite(given) ? given : Math.exp(logprob);
}

/**
 * The `llama-perplexity --kl-divergence` summary of the positions where both log-probabilities are finite. The KL and
 * same-top figures use those of them that have a KL divergence / a top-token agreement. Δp = q(token) − p(token)
 * (candidate minus baseline), from the given probabilities or exp of the log-probabilities.
 */
export function summarizeDiff(positions: readonly DiffPosition[]): DiffSummary {
  const nlls: number[] = [];
  const baseNlls: number[] = [];
  const kls: number[] = [];
  const dps: number[] = [];
  let topCount = 0;
  let sameTop = 0;
  for (const position of positions) {
    const base = position.baselineLogprob;
    const cand = position.candidateLogprob;
    if (base === null || cand === null || !Number.isFinite(base) || !Number.isFinite(cand)) continue;
    nlls.push(-cand);
    baseNlls.push(-base);
    const kl = position.klDivergence;
    if (kl !== null && kl !== undefined && Number.isFinite(kl)) kls.push(kl);
    const top = position.sameTop;
    if (top !== null && top !== undefined) {
      topCount++;
      if (top) sameTop++;
    }
    dps.push(usableProb(position.candidateProb, cand) - usableProb(position.baselineProb, base));
  }
  const count = nlls.length;
  const skippedPositions = positions.length - count;
  if (count === 0) {
    return {
      positions: 0,
      skippedPositions,
      problem: positions.length === 0 ? "There are no positions to compare." : "No position has a finite log-probability on both sides.",
      caution: null,
      perplexity: null,
      klDivergence: null,
      tokenProbability: null,
      sameTop: null,
    };
  }

  // Perplexity statistics.
  const nll = shiftedSums(nlls);
  const nllBase = shiftedSums(baseNlls);
  const logPpl = meanAndUncertainty(nll.sum, nll.sumOfSquares, count, nll.shift);
  const logPplBase = meanAndUncertainty(nllBase.sum, nllBase.sumOfSquares, count, nllBase.shift);
  const cov = covarianceOfMeans(nll.sum, nllBase.sum, shiftedCrossSum(nlls, baseNlls), count);
  let perplexity: PerplexityComparison | null = null;
  if (logPpl !== null && logPplBase !== null) {
    const ppl = exponentiated(logPpl);
    const pplBase = exponentiated(logPplBase);
    const errors = logPpl.error !== null && logPplBase.error !== null && cov !== null ? { q: logPpl.error, base: logPplBase.error, cov } : null;
    const correlation = errors !== null && errors.q > 0 && errors.base > 0 ? Math.min(1, Math.max(-1, errors.cov / (errors.q * errors.base))) : null;
    const logRatio: MeanWithError = {
      value: logPpl.value - logPplBase.value,
      error: errors === null ? null : rootOfDifferenceVariance(errors.q * errors.q + errors.base * errors.base - 2 * errors.cov),
    };
    let difference: MeanWithError | null = null;
    if (ppl !== null && pplBase !== null) {
      const differenceError =
        errors !== null && ppl.error !== null && pplBase.error !== null
          ? rootOfDifferenceVariance(ppl.error * ppl.error + pplBase.error * pplBase.error - 2 * ppl.value * pplBase.value * errors.cov)
          : null;
      difference = { value: ppl.value - pplBase.value, error: differenceError };
    }
    perplexity = { candidate: ppl, baseline: pplBase, correlation, logRatio, ratio: exponentiated(logRatio), difference };
  }

  // KL divergence statistics.
  let klDivergence: KlDivergenceSummary | null = null;
  const kl = shiftedSums(kls);
  const klMean = meanAndUncertainty(kl.sum, kl.sumOfSquares, kls.length, kl.shift);
  if (klMean !== null) klDivergence = { positions: kls.length, mean: klMean, percentiles: klDivergencePercentiles(Float64Array.from(kls).sort()) };

  // Token probability statistics.
  let tokenProbability: TokenProbabilitySummary | null = null;
  const dp = shiftedSums(dps);
  const dpMean = meanAndUncertainty(dp.sum, dp.sumOfSquares, count, dp.shift);
  const dp2 = shiftedSums(dps.map((x) => x * x));
  const dpMeanSquare = meanAndUncertainty(dp2.sum, dp2.sumOfSquares, count, dp2.shift);
  if (dpMean !== null && dpMeanSquare !== null) {
    const rmsValue = Math.sqrt(Math.max(0, dpMeanSquare.value));
    // δRMS = δ(mean Δp²) / (2 RMS); with RMS = 0 every Δp is 0 and so is the spread.
    const rmsError = dpMeanSquare.error === null ? null : rmsValue > 0 ? finiteOrNull((0.5 / rmsValue) * dpMeanSquare.error) : 0;
    tokenProbability = {
      mean: dpMean,
      percentiles: deltaProbabilityPercentiles(Float64Array.from(dps).sort()),
      rms: { value: rmsValue, error: rmsError },
      maximumAbsolute: dps.reduce((most, x) => Math.max(most, Math.abs(x)), 0),
    };
  }

  // Same top p: a binomial proportion and its standard error √(r(1 − r)/(n − 1)).
  let sameTopSummary: SameTopSummary | null = null;
  if (topCount > 0) {
    const rate = sameTop / topCount;
    sameTopSummary = { positions: topCount, rate: { value: rate, error: topCount >= 2 ? Math.sqrt((rate * (1 - rate)) / (topCount - 1)) : null } };
  }

  let caution: string | null = null;
  const only = `Only ${count} position${count === 1 ? "" : "s"}`;
  if (count < FEWEST_FOR_UNCERTAINTY)
    caution = `${only}: uncertainties need at least ${FEWEST_FOR_UNCERTAINTY} (llama.cpp prints 0 for them), and llama.cpp prints no summary below ${FEWEST_FOR_LLAMA_CPP_SUMMARY}.`;
  else if (count < FEWEST_FOR_LLAMA_CPP_SUMMARY)
    caution = `${only}: llama.cpp prints no summary below ${FEWEST_FOR_LLAMA_CPP_SUMMARY}, and the tail percentiles rest on a handful of values.`;

  return { positions: count, skippedPositions, problem: null, caution, perplexity, klDivergence, tokenProbability, sameTop: sameTopSummary };
}

// ---------------------------------------------------------------------------------------------------- one position

/** KL(baseline ‖ candidate) in nats, or why it does not exist. */
export type KlDivergenceResult = { value: number; problem: null } | { value: null; problem: string };

function checkRow(row: ArrayLike<number>, side: string): string | null {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const x = row[i]!;
    if (Number.isNaN(x) || x === Infinity) return `The ${side} row has a ${Number.isNaN(x) ? "NaN" : "+Infinity"} entry at index ${i}.`;
    if (x > max) max = x;
  }
  return max === -Infinity ? `The ${side} row has no finite entry, so it is not a distribution.` : null;
}

/** ln Σ exp(row), stable: m + ln Σ exp(x − m), m = max (the row is checked to have a finite maximum). */
function logSumExp(row: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/**
 * KL(P ‖ Q) = Σ_k p_k (ln p_k − ln q_k) of one position (P the baseline, Q the candidate, the definition llama.cpp's
 * `--kl-divergence` uses), from two rows of log-probabilities (or logits: each row is normalised first in float64,
 * ln p_k = x_k − ln Σ exp(x), which also removes float32 rounding of stored log-probabilities), accumulated in float64.
 * Entries of −Infinity are zero probabilities: a term with p_k = 0 is 0; p_k > 0 with q_k = 0 makes the divergence
 * infinite, which is reported as a problem. Rounding can leave a sum a few ulps below 0; it is returned as 0.
 * (llama.cpp's own per-position KLD is approximate: the baseline's log-probabilities are stored as 16-bit integers
 * over the top 16 nats of the row, and terms with ln p_k ≤ −16 are dropped.)
 */
export function klDivergence(baselineRow: ArrayLike<number>, candidateRow: ArrayLike<number>): KlDivergenceResult {
  if (baselineRow.length !== candidateRow.length) {
    return {
      value: null,
      problem: `The rows have different lengths (${baselineRow.length} and ${candidateRow.length}), so they are not over the same vocabulary.`,
    };
  }
  if (baselineRow.length === 0) return { value: null, problem: "The rows are empty." };
  const bad = checkRow(baselineRow, "baseline") ?? checkRow(candidateRow, "candidate");
  if (bad !== null) return { value: null, problem: bad };
  const lseBase = logSumExp(baselineRow);
  const shift = lseBase - logSumExp(candidateRow);
  let sum = 0;
  for (let k = 0; k < baselineRow.length; k++) {
    const x = baselineRow[k]!;
    if (x === -Infinity) continue;
    const y = candidateRow[k]!;
    if (y === -Infinity) {
      return { value: null, problem: `The candidate gives token ${k} probability 0 where the baseline does not, so the divergence is infinite.` };
    }
    // p_k (ln p_k − ln q_k) = exp(x − lse_P) · ((x − y) − (lse_P − lse_Q))
    sum += Math.exp(x - lseBase) * (x - y - shift);
  }
  return { value: Math.max(0, sum), problem: null };
}

/** Index of the largest entry (the first of equal ones, as llama.cpp's strict `>` scan); −1 for an empty row. */
export function topIndex(row: ArrayLike<number>): number {
  let best = -1;
  let max = -Infinity;
  for (let k = 0; k < row.length; k++) {
    const x = row[k]!;
    if (best === -1 || x > max) {
      best = k;
      max = x;
    }
  }
  return best;
}

/**
 * A {@link DiffPosition} from both sides' full rows (log-probabilities or logits) and the actual next token: the
 * normalised log-probabilities of the token, the KL divergence (null when it does not exist) and top-token agreement.
 */
export function diffPositionFromRows(baselineRow: ArrayLike<number>, candidateRow: ArrayLike<number>, token: number): DiffPosition {
  if (!Number.isInteger(token) || token < 0 || token >= baselineRow.length || token >= candidateRow.length) {
    throw new RangeError(`Token ${token} is outside the rows (lengths ${baselineRow.length} and ${candidateRow.length}).`);
  }
  const kl = klDivergence(baselineRow, candidateRow);
  const baseOk = checkRow(baselineRow, "baseline") === null;
  const candOk = checkRow(candidateRow, "candidate") === null;
  return {
    baselineLogprob: baseOk ? finiteOrNull(baselineRow[token]! - logSumExp(baselineRow)) : null,
    candidateLogprob: candOk ? finiteOrNull(candidateRow[token]! - logSumExp(candidateRow)) : null,
    klDivergence: kl.value,
    sameTop: baseOk && candOk ? topIndex(baselineRow) === topIndex(candidateRow) : null,
  };
}

// ---------------------------------------------------------------------------------------------------- different tokenizers

/** One token's loss and the UTF-8 bytes [byteStart, byteEnd) of the text it covers. */
export interface ByteSpanLoss {
  /** −ln p(token) in nats; leave unscored tokens out (their bytes then carry no loss on that side). */
  nll: number;
  byteStart: number;
  byteEnd: number;
}

/** One span of the text whose edges are token boundaries on both sides and character boundaries. */
export interface AlignedSpan {
  byteStart: number;
  byteEnd: number;
  /** UTF-16 [start, end) of the span in the text. */
  start: number;
  end: number;
  /** The baseline's loss on the span's bytes, in nats. */
  baselineNll: number;
  /** The candidate's loss on the span's bytes, in nats. */
  candidateNll: number;
}

export interface SpanAlignment {
  /** UTF-8 bytes of the text. */
  bytes: number;
  /** The spans, in order; together they cover every byte of the text once. */
  spans: AlignedSpan[];
  /** Σ nll of the baseline's tokens (= Σ of the spans' baselineNll). */
  baselineNll: number;
  /** Σ nll of the candidate's tokens (= Σ of the spans' candidateNll). */
  candidateNll: number;
}

/** Invalid input to the span functions: a token outside the text, a reversed or fractional span, a non-finite loss. */
export class SpanAlignmentError extends Error {}

function checkTokens(tokens: readonly ByteSpanLoss[], bytes: number, side: string): void {
  tokens.forEach((token, i) => {
    const { byteStart, byteEnd, nll } = token;
    if (!Number.isInteger(byteStart) || !Number.isInteger(byteEnd) || byteStart < 0 || byteEnd < byteStart || byteEnd > bytes) {
      throw new SpanAlignmentError(`Token ${i} of the ${side} has bytes [${byteStart}, ${byteEnd}), which is not a span of the text's ${bytes} bytes.`);
    }
    if (!Number.isFinite(nll)) throw new SpanAlignmentError(`Token ${i} of the ${side} has a loss of ${nll}; leave unscored tokens out.`);
  });
  if (bytes === 0 && tokens.length > 0) throw new SpanAlignmentError(`The text is empty, so the tokens of the ${side} have no bytes to carry their losses.`);
}

/**
 * The byte that carries a token's loss when the token has no bytes (an empty span at `at`, such as the continuation
 * of a character split across tokens): the byte before it (the character it continues, as metrics.tokenInRange
 * counts such a token), or byte 0 at the start of the text.
 */
function byteOfEmptyToken(at: number): number {
  return at > 0 ? at - 1 : 0;
}

/**
 * Each byte's loss: every token's nll divided equally among its bytes (a token with no bytes gives all of it to the
 * byte before its position, see byteOfEmptyToken). Overlapping tokens add up. The bytes sum to Σ nll.
 */
export function spreadLossOverBytes(tokens: readonly ByteSpanLoss[], bytes: number): Float64Array {
  checkTokens(tokens, bytes, "list");
  const perByte = new Float64Array(bytes);
  for (const token of tokens) {
    const length = token.byteEnd - token.byteStart;
    if (length === 0) {
      perByte[byteOfEmptyToken(token.byteStart)]! += token.nll;
      continue;
    }
    const share = token.nll / length;
    for (let b = token.byteStart; b < token.byteEnd; b++) perByte[b]! += share;
  }
  return perByte;
}

/**
 * UTF-16 offset of each UTF-8 byte offset that starts a character (or ends the text), −1 inside a character. Lone
 * surrogates count as U+FFFD (3 bytes), as TextEncoder encodes them (the same count as utf8ByteLength).
 */
function characterBoundaries(text: string, bytes: number): Int32Array {
  const utf16At = new Int32Array(bytes + 1).fill(-1);
  let byte = 0;
  for (let i = 0; i < text.length; i++) {
    utf16At[byte] = i;
    const unit = text.charCodeAt(i);
    if (unit < 0x80) byte += 1;
    else if (unit < 0x800) byte += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff) {
      byte += 4;
      i++;
    } else byte += 3;
  }
  utf16At[byte] = text.length;
  return utf16At;
}

/** For each byte offset 0..bytes, whether it lies strictly inside a token of the side (so the side cannot be cut there). */
function insideSomeToken(tokens: readonly ByteSpanLoss[], bytes: number): Uint8Array {
  const opened = new Int32Array(bytes + 2);
  for (const token of tokens) {
    if (token.byteEnd - token.byteStart < 2) continue;
    opened[token.byteStart + 1]!++;
    opened[token.byteEnd]!--;
  }
  const inside = new Uint8Array(bytes + 1);
  let depth = 0;
  for (let b = 0; b <= bytes; b++) {
    depth += opened[b]!;
    inside[b] = depth > 0 ? 1 : 0;
  }
  return inside;
}

/**
 * The per-character-span comparison of two tokenizations of the same `text`: the text is cut at every byte offset
 * that is a character boundary and lies inside no token of either side, and each span gets, on each side, the loss
 * of its bytes after {@link spreadLossOverBytes}. No token crosses a cut, so a span's loss on a side is exactly the
 * sum of that side's tokens within it (summed per token, not per byte, so no rounding is added), the spans cover
 * every byte once, and each side's span losses sum to its total NLL.
 */
export function alignLossesOnCommonSpans(text: string, baseline: readonly ByteSpanLoss[], candidate: readonly ByteSpanLoss[]): SpanAlignment {
  const bytes = utf8ByteLength(text);
  const boundaries = characterBoundaries(text, bytes);
  checkTokens(baseline, bytes, "baseline");
  checkTokens(candidate, bytes, "candidate");
  const insideBase = insideSomeToken(baseline, bytes);
  const insideCand = insideSomeToken(candidate, bytes);

  const spans: AlignedSpan[] = [];
  const spanOfByte = new Int32Array(bytes);
  let spanStart = 0;
  for (let b = 1; b <= bytes; b++) {
    if (b < bytes && (boundaries[b]! < 0 || insideBase[b] || insideCand[b])) continue;
    const index = spans.length;
    for (let k = spanStart; k < b; k++) spanOfByte[k] = index;
    spans.push({ byteStart: spanStart, byteEnd: b, start: boundaries[spanStart]!, end: boundaries[b]!, baselineNll: 0, candidateNll: 0 });
    spanStart = b;
  }
  const spanOf = (token: ByteSpanLoss): AlignedSpan =>
    spans[spanOfByte[token.byteEnd > token.byteStart ? token.byteStart : byteOfEmptyToken(token.byteStart)]!]!;
  let baselineNll = 0;
  let candidateNll = 0;
  for (const token of baseline) {
    spanOf(token).baselineNll += token.nll;
    baselineNll += token.nll;
  }
  for (const token of candidate) {
    spanOf(token).candidateNll += token.nll;
    candidateNll += token.nll;
  }
  return { bytes, spans, baselineNll, candidateNll };
}
