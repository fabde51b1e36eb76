/**
 * Perplexity-family metrics over a text or a range of it, with lm-evaluation-harness's definitions
 * (lm_eval/api/metrics.py: `weighted_perplexity`, `bits_per_byte`, `mean_stderr`; the wikitext task's
 * `word_perplexity` / `byte_perplexity` / `bits_per_byte`), and GLTR's rank buckets (Gehrmann et al. 2019).
 *
 * With NLL = Σ −log p(t_i | context) in nats over the scored tokens of the range, n = scored tokens,
 * W = words, B = UTF-8 bytes of the range:
 *
 *   token perplexity = exp(NLL / n)
 *   word perplexity  = exp(NLL / W)        W = pieces of the range split on /\s+/, empty pieces dropped (lm-eval's
 *                                          wikitext `len(re.split(r"\s+", doc))` also counts the empty piece before
 *                                          leading or after trailing whitespace; we do not)
 *   byte perplexity  = exp(NLL / B)
 *   bits per byte    = NLL / (B · ln 2)
 *   NLL std. error   = s / √n             s = sample standard deviation (n − 1) of the per-token NLLs
 *
 * A value that cannot be computed (nothing scored, no words, no bytes, n < 2 for the standard error, or an overflow)
 * is null, never NaN or Infinity.
 */

import { rankBucket } from "./surprisal";
import type { Metrics, RankBuckets, TokenScore } from "./types";
import { utf8ByteLength } from "./tokenizers/utf8";

export { utf8ByteLength };

/** A UTF-16 [start, end) range of the text. */
export interface TextRange {
  start: number;
  end: number;
}

/** Number of words: pieces of the text split on /\s+/, empty pieces dropped. */
export function countWords(text: string): number {
  let words = 0;
  for (const piece of text.split(/\s+/)) if (piece.length > 0) words++;
  return words;
}

/**
 * A token belongs to a range when its [start, end) intersects it; an empty-range token (the continuation of a
 * character split across tokens, placed at that character's end) belongs when that character does (start < pos ≤ end).
 * An empty range holds no tokens.
 */
export function tokenInRange(token: Pick<TokenScore, "start" | "end">, range: TextRange): boolean {
  if (range.start >= range.end) return false;
  if (token.start === token.end) return token.start > range.start && token.start <= range.end;
  return token.start < range.end && token.end > range.start;
}

/** The tokens of a range, in order (see {@link tokenInRange}). */
export function tokensInRange<T extends Pick<TokenScore, "start" | "end">>(tokens: readonly T[], range: TextRange): T[] {
  return tokens.filter((token) => tokenInRange(token, range));
}

/** Whether a token counts as scored: it has a finite log-probability (a non-finite one, from a broken model output, is left out). */
export function isScored(token: Pick<TokenScore, "logprob">): token is Pick<TokenScore, "logprob"> & { logprob: number } {
  return token.logprob !== null && Number.isFinite(token.logprob);
}

export { rankBucket };

/** GLTR rank buckets of the scored tokens that have a rank. */
export function rankBuckets(tokens: readonly Pick<TokenScore, "rank" | "logprob">[]): RankBuckets {
  const buckets: RankBuckets = { top10: 0, top100: 0, top1000: 0, rest: 0 };
  for (const token of tokens) {
    if (token.rank === null || !Number.isFinite(token.rank) || !isScored(token)) continue;
    buckets[rankBucket(token.rank)]++;
  }
  return buckets;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function clampRange(text: string, range: TextRange | undefined): TextRange {
  if (range === undefined) return { start: 0, end: text.length };
  const clamp = (x: number): number => (Number.isFinite(x) ? Math.min(Math.max(Math.trunc(x), 0), text.length) : 0);
  const a = clamp(range.start);
  const b = clamp(range.end);
  return { start: Math.min(a, b), end: Math.max(a, b) };
}

/**
 * Metrics of `text` (or of `range` of it) from its token scores. Tokens are those of {@link tokenInRange};
 * bytes and words are those of the range's text.
 */
export function computeMetrics(text: string, tokens: readonly TokenScore[], range?: TextRange): Metrics {
  const bounds = clampRange(text, range);
  const whole = range === undefined;
  const selected = whole ? tokens : tokensInRange(tokens, bounds);
  const rangeText = whole ? text : text.slice(bounds.start, bounds.end);
  const bytes = utf8ByteLength(rangeText);
  const words = countWords(rangeText);

  let scored = 0;
  let nll = 0;
  for (const token of selected) {
    if (!isScored(token)) continue;
    scored++;
    nll -= token.logprob;
  }
  let nllStdErr: number | null = null;
  if (scored >= 2) {
    const mean = nll / scored;
    let squares = 0;
    for (const token of selected) {
      if (!isScored(token)) continue;
      const deviation = -token.logprob - mean;
      squares += deviation * deviation;
    }
    nllStdErr = finiteOrNull(Math.sqrt(squares / (scored - 1)) / Math.sqrt(scored));
  }
  const perUnit = (units: number): number | null => (scored > 0 && units > 0 ? finiteOrNull(Math.exp(nll / units)) : null);
  return {
    tokens: selected.length,
    scoredTokens: scored,
    bytes,
    words,
    nll: Number.isFinite(nll) ? nll : 0,
    tokenPerplexity: perUnit(scored),
    wordPerplexity: perUnit(words),
    bytePerplexity: perUnit(bytes),
    bitsPerByte: scored > 0 && bytes > 0 ? finiteOrNull(nll / (bytes * Math.LN2)) : null,
    nllStdErr,
    rankBuckets: rankBuckets(selected),
  };
}
