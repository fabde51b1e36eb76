/**
 * Scores a token sequence window by window, in chunks, with the KV cache.
 *
 * The sequence is [prefix, t0 … t(n−1)]; t_j is predicted by the logits at sequence position j (windows.ts).
 * For each window the model runs over positions [inputStart, scoreEnd) with positions restarting at 0, and scores
 * t_j for j in [scoreStart, scoreEnd) with context length j − inputStart + 1.
 *
 * Memory: the model runs `chunkTokens` positions at a time after the cached keys/values of the earlier ones, so the
 * logits held at once are chunk × vocabulary (a model without past_key_values inputs must run a whole window at once).
 *
 * Incremental rescoring: a token's previous score is reused when the sequence positions it depends on (its context
 * and itself) are unchanged and it was scored in a window with the same start; the keys/values cached for a window
 * are reused up to the first changed position. Everything else is recomputed, so the result equals a full rescore.
 */
import * as ort from "onnxruntime-node";
import type { ScoringWindow } from "./windows";
import type { OnnxCausalLm, KvState } from "./backends/onnx/onnxSession";
import { KvCache, disposeKv, sliceKv } from "./kvCache";
import type { PositionScore } from "./tokenDistribution";
import { scoreRowsFloat64, type LogitsStats } from "./backends/onnx/logitsStats";

export class ScoringCancelledError extends Error {
  constructor() {
    super("Scoring was cancelled.");
  }
}

/** Per-token result of the scorer (decoded text and offsets are added by the engine). */
export interface ScoredPosition extends PositionScore {
  contextLength: number;
}

export interface PreviousScoring {
  /** The previous sequence, prefix included. */
  sequence: readonly number[];
  /** Per text token: its score, or null when it was not scored. */
  scores: ReadonlyArray<ScoredPosition | null>;
}

export interface ScoreSequenceOptions {
  docId: string;
  /** [prefix, t0 … t(n−1)]. */
  sequence: readonly number[];
  windows: readonly ScoringWindow[];
  topK: number;
  /** Positions per forward pass. */
  chunkTokens: number;
  /** Model vocabulary (logits row length). */
  vocab: number;
  previous?: PreviousScoring;
  /**
   * "onnx" (default): statistics from the nodes fused into the model's graph, else from `stats` (a separate session);
   * "float64": computed in JavaScript from the logits (the reference).
   */
  statistics?: "onnx" | "float64";
  /** The separate statistics session, for graphs without fused statistics. */
  stats?: LogitsStats;
  signal?: AbortSignal;
  /** Called after each chunk with positions evaluated so far and the total to evaluate. */
  onProgress?: (done: number, total: number) => void;
}

export interface SequenceScoring {
  /** Per text token (index j = t_j); null when no window scored it. */
  scores: Array<ScoredPosition | null>;
  /** Text tokens whose scores were taken from the previous scoring. */
  tokensReused: number;
  /** Text tokens scored by running the model. */
  tokensRecomputed: number;
  /** Sequence positions run through the model (context positions of sliding windows included). */
  positionsEvaluated: number;
  /** Sequence positions whose keys/values came from the cache. */
  positionsFromCache: number;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Lets queued messages (a worker's cancel) run between chunks: onnxruntime's run blocks the event loop. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface WindowPlan {
  window: ScoringWindow;
  /** First text token to compute (scoreEnd when the whole window is reused). */
  firstCompute: number;
  /** Cached positions to reuse, from inputStart. */
  reuse: number;
}

export async function scoreSequence(model: OnnxCausalLm, cache: KvCache, options: ScoreSequenceOptions): Promise<SequenceScoring> {
  const { sequence, windows, docId, topK, vocab } = options;
  const n = sequence.length - 1;
  const scores: Array<ScoredPosition | null> = new Array<ScoredPosition | null>(Math.max(0, n)).fill(null);
  const previous = options.previous;
  // Sequence positions [0, same) are identical to the previous sequence.
  const same = previous ? commonPrefix(previous.sequence, sequence) : 0;
  const hasPast = model.signature.hasPast;
  const chunk = hasPast ? Math.max(1, Math.floor(options.chunkTokens)) : Number.MAX_SAFE_INTEGER;

  let tokensReused = 0;
  const plans: WindowPlan[] = [];
  let total = 0;
  for (const w of windows) {
    let firstCompute = w.scoreStart;
    // t_j depends on positions inputStart..j and on position j+1 (itself).
    while (firstCompute < w.scoreEnd && firstCompute + 1 < same) {
      const old = previous?.scores[firstCompute];
      if (!old || old.contextLength !== firstCompute - w.inputStart + 1) break;
      scores[firstCompute] = old;
      tokensReused++;
      firstCompute++;
    }
    if (firstCompute >= w.scoreEnd) continue;
    let reuse = 0;
    if (hasPast) {
      const entry = cache.get(docId, w.inputStart);
      if (entry) {
        let valid = 0;
        while (valid < entry.ids.length && entry.ids[valid] === sequence[w.inputStart + valid]) valid++;
        reuse = Math.min(valid, firstCompute - w.inputStart);
      }
    }
    plans.push({ window: w, firstCompute, reuse });
    total += w.scoreEnd - (w.inputStart + reuse);
  }

  let done = 0;
  let positionsFromCache = 0;
  let tokensRecomputed = 0;
  for (const plan of plans) {
    const { window: w, firstCompute, reuse } = plan;
    let past: KvState | null = null;
    let pastOwned = false;
    if (reuse > 0) {
      const entry = cache.get(docId, w.inputStart)!;
      if (reuse === entry.kv.length) past = entry.kv;
      else {
        past = sliceKv(ort, entry.kv, reuse);
        pastOwned = true;
      }
      positionsFromCache += reuse;
    }
    let position = w.inputStart + reuse;
    try {
      while (position < w.scoreEnd) {
        if (options.signal?.aborted) throw new ScoringCancelledError();
        const end = Math.min(w.scoreEnd, position + chunk);
        const ids = sequence.slice(position, end);
        const first = Math.max(position, firstCompute);
        const targets = first < end ? (sequence.slice(first + 1, end + 1) as number[]) : [];
        const fused = model.signature.fusedStats && options.statistics !== "float64";
        const {
          logits,
          scores: fusedScores,
          present,
        } = await model.forward(ids, past, fused && targets.length > 0 ? { firstRow: first - position, targets, topK, vocab } : null, !fused);
        let rowScores: PositionScore[] = [];
        try {
          if (fusedScores !== null) {
            let exact: PositionScore[] | null = null;
            if (fusedScores.some((x) => x === null)) {
              // Non-finite values in some row: run the chunk again for its logits and score those rows in float64.
              const again = await model.forward(ids, past, null, true);
              if (again.present) disposeKv(again.present);
              try {
                exact = scoreRowsFloat64(again.logits!, first - position, targets, vocab, topK);
              } finally {
                again.logits?.dispose();
              }
            }
            rowScores = fusedScores.map((x, r) => x ?? exact![r]!);
          } else if (targets.length > 0 && logits !== null) {
            const [, seqLen, rowLength] = logits.dims as [number, number, number];
            if (seqLen !== end - position) throw new Error(`the model returned logits for ${seqLen} positions, expected ${end - position}`);
            if (rowLength < vocab) throw new Error(`the model returned ${rowLength} logits per position, expected ${vocab}`);
            rowScores = options.stats
              ? await options.stats.scoreRows(logits, first - position, targets, vocab, topK)
              : scoreRowsFloat64(logits, first - position, targets, vocab, topK);
          }
          for (let r = 0; r < rowScores.length; r++) {
            const j = first + r;
            const scored = rowScores[r]!;
            scores[j] = {
              logprob: scored.logprob,
              prob: scored.prob,
              rank: scored.rank,
              entropy: scored.entropy,
              top: scored.top,
              contextLength: j - w.inputStart + 1,
            };
          }
          tokensRecomputed += rowScores.length;
        } finally {
          logits?.dispose();
        }
        if (past !== null && pastOwned) disposeKv(past);
        past = present;
        pastOwned = true;
        done += end - position;
        position = end;
        options.onProgress?.(done, total);
        if (position < w.scoreEnd || plan !== plans[plans.length - 1]) await yieldToEventLoop();
      }
    } finally {
      // Keep what was computed, even when cancelled: those keys/values are valid for the ids they cover.
      const start = w.inputStart;
      if (past !== null && pastOwned && past.length > 0) {
        cache.put(docId, start, past, sequence.slice(start, start + past.length) as number[]);
      } else if (past !== null && pastOwned) disposeKv(past);
    }
  }
  cache.record(tokensReused, tokensRecomputed);
  return { scores, tokensReused, tokensRecomputed, positionsEvaluated: done, positionsFromCache };
}
