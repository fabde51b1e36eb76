/**
 * How a text longer than the model's context is cut into forward passes.
 *
 * The sequence is [prefix, t0, t1, …, t(n−1)]: sequence position 0 holds the prefix token (BOS or EOS) and
 * position j + 1 holds text token t_j. Text token t_j is predicted by the logits at sequence position j, so a window
 * that feeds positions [inputStart, inputEnd) can score the text tokens j with inputStart ≤ j < inputEnd; t_j is then
 * conditioned on positions inputStart..j, a context of j − inputStart + 1 tokens.
 */

import type { WindowMethod } from "./types";

export interface ScoringWindow {
  /** Sequence positions fed in this window, [inputStart, inputEnd). */
  inputStart: number;
  inputEnd: number;
  /** Text-token indices j scored by this window, [scoreStart, scoreEnd); context length of t_j = j − inputStart + 1. */
  scoreStart: number;
  scoreEnd: number;
}

/** Context length (tokens, prefix included when in the window) t_j is scored with in this window. */
export function contextLength(window: ScoringWindow, j: number): number {
  return j - window.inputStart + 1;
}

function requireCount(name: string, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`${name} must be an integer of at least ${minimum}, got ${value}.`);
  }
}

/**
 * lm-evaluation-harness `get_rolling_token_windows(token_list, prefix_token, max_seq_len, context_len)`
 * (lm_eval/utils.py, used by `loglikelihood_rolling`), as windows over the sequence:
 * - the first window feeds [prefix, t0 … t(L−2)] and predicts t0 … t(L−1), with L = min(max_seq_len, n);
 * - each next window predicts up to max_seq_len − context_len + 1 further tokens ending at `end`, feeding the
 *   max_seq_len tokens t(end−max_seq_len−1) … t(end−2), i.e. sequence positions [end − max_seq_len, end).
 * Every token is scored exactly once. n = 0 gives no windows.
 */
export function rollingTokenWindows(nTokens: number, maxSeqLen: number, contextLen: number): ScoringWindow[] {
  requireCount("The number of tokens", nTokens, 0);
  requireCount("The window (max_seq_len)", maxSeqLen, 1);
  requireCount("The context length (context_len)", contextLen, 1);
  if (contextLen > maxSeqLen) {
    throw new RangeError(`The context length (${contextLen}) must not exceed the window (${maxSeqLen}).`);
  }
  const windows: ScoringWindow[] = [];
  if (nTokens === 0) return windows;
  const predictionLength = maxSeqLen - contextLen + 1;
  const firstLength = Math.min(maxSeqLen, nTokens);
  windows.push({ inputStart: 0, inputEnd: firstLength, scoreStart: 0, scoreEnd: firstLength });
  let predicted = firstLength;
  while (predicted < nTokens) {
    const windowPredictionLength = Math.min(nTokens - predicted, predictionLength);
    const windowEnd = predicted + windowPredictionLength;
    windows.push({
      inputStart: windowEnd - maxSeqLen,
      inputEnd: windowEnd,
      scoreStart: windowEnd - windowPredictionLength,
      scoreEnd: windowEnd,
    });
    predicted += windowPredictionLength;
  }
  return windows;
}

/**
 * lm-evaluation-harness `loglikelihood_rolling`: `get_rolling_token_windows` with context_len = 1 and
 * max_seq_len = window, i.e. disjoint windows, each conditioned only on the token before it.
 */
export function rollingWindows(nTokens: number, window: number): ScoringWindow[] {
  return rollingTokenWindows(nTokens, window, 1);
}

/**
 * Hugging Face "Perplexity of fixed-length models" (transformers docs, perplexity.md) applied to the sequence of
 * n + 1 positions including the prefix:
 *
 *     for begin_loc in range(0, seq_len, stride):
 *         end_loc = min(begin_loc + max_length, seq_len)
 *         trg_len = end_loc - prev_end_loc          # labels only for positions not scored before
 *         input_ids = ids[begin_loc:end_loc]; labels = input_ids with all but the last trg_len set to -100
 *         prev_end_loc = end_loc; stop when end_loc == seq_len
 *
 * The model shifts labels by one, so the first position of a window is never predicted: a window scores sequence
 * positions max(begin_loc + 1, prev_end_loc) … end_loc − 1, i.e. text tokens j from max(begin_loc, prev_end_loc − 1)
 * to end_loc − 2. With stride < window every token is scored once; with stride = window the windows are disjoint and,
 * exactly as in Hugging Face's loop, the token at the start of each later window is left unscored.
 * window ≥ 2 (a one-token window predicts nothing) and 1 ≤ stride ≤ window (a larger stride would skip tokens).
 * n = 0 gives no windows.
 */
export function slidingWindows(nTokens: number, window: number, stride: number): ScoringWindow[] {
  requireCount("The number of tokens", nTokens, 0);
  requireCount("The sliding window", window, 2);
  requireCount("The stride", stride, 1);
  if (stride > window) {
    throw new RangeError(`The stride (${stride}) must not exceed the window (${window}), or tokens between windows would never be scored.`);
  }
  const windows: ScoringWindow[] = [];
  if (nTokens === 0) return windows;
  const sequenceLength = nTokens + 1;
  let previousEnd = 0;
  for (let begin = 0; begin < sequenceLength; begin += stride) {
    const end = Math.min(begin + window, sequenceLength);
    const scoreStart = Math.max(begin, previousEnd - 1);
    const scoreEnd = end - 1;
    if (scoreEnd > scoreStart) windows.push({ inputStart: begin, inputEnd: end, scoreStart, scoreEnd });
    previousEnd = end;
    if (end === sequenceLength) break;
  }
  return windows;
}

/** The windows of a method by name; refuses an unknown method in one sentence. */
export function windowsFor(method: WindowMethod, nTokens: number, window: number, stride: number): ScoringWindow[] {
  switch (method) {
    case "sliding":
      return slidingWindows(nTokens, window, stride);
    case "rolling":
      return rollingWindows(nTokens, window);
    default:
      throw new RangeError(`Unknown window method "${String(method)}": expected "sliding" or "rolling".`);
  }
}
