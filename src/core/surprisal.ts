/**
 * How surprising a token was, in the units every view shows: surprisal in bits, the highlight levels, and GLTR's
 * rank buckets. One definition each, used by the engine's metrics, the panel's statistics, the editor's colours and
 * the command line's colours alike.
 */
import type { RankBuckets } from "./types";

/**
 * Surprisal of a token in bits: −log₂ p = −ln p / ln 2 (the engine's log-probabilities are natural logs). Never
 * below 0 (a log-probability rounded to just above 0 is a certain token).
 */
export function surprisalBits(logprob: number): number {
  return Math.max(0, -logprob / Math.LN2);
}

/** A quantity in nats (natural logs: NLL, entropy) in bits. */
export function natsToBits(nats: number): number {
  return nats / Math.LN2;
}

/** surprisalBits, or null when the token was not scored or its log-probability is not finite. */
export function surprisalBitsOrNull(logprob: number | null | undefined): number | null {
  if (logprob === null || logprob === undefined || !Number.isFinite(logprob)) return null;
  return surprisalBits(logprob);
}

/** Number of surprisal levels drawn (one decoration type each in the editor); level 0 is the least surprising. */
export const SURPRISAL_LEVELS = 8;

/** Bits covered by each level: level k holds [k·BITS_PER_LEVEL, (k+1)·BITS_PER_LEVEL) bits; the last is open-ended. */
export const BITS_PER_LEVEL = 2;

/** The level (0 … SURPRISAL_LEVELS−1) of a token's surprisal; null for unscored tokens, which are not coloured. */
export function surprisalLevel(logprob: number | null | undefined): number | null {
  const bits = surprisalBitsOrNull(logprob);
  if (bits === null) return null;
  return Math.min(SURPRISAL_LEVELS - 1, Math.floor(bits / BITS_PER_LEVEL));
}

/** Lower bound in bits of a level, for legends and tooltips. */
export function levelLowerBoundBits(level: number): number {
  return level * BITS_PER_LEVEL;
}

export type RankBucketName = keyof RankBuckets;

/**
 * GLTR's rank buckets (Gehrmann et al., 2019, "GLTR: Statistical Detection and Visualization of Generated Text"):
 * the token was the model's top-10, top-100 or top-1000 choice, or worse. Disjoint: `top100` holds ranks 11–100.
 */
export const GLTR_BUCKETS = ["top10", "top100", "top1000", "rest"] as const satisfies readonly RankBucketName[];

/** The largest rank of each bucket but the last. */
export const GLTR_RANK_LIMITS = [10, 100, 1000] as const;

/** How the buckets are labelled in charts and legends. */
export const GLTR_BUCKET_LABELS: Readonly<Record<RankBucketName, string>> = {
  top10: "top 10",
  top100: "11–100",
  top1000: "101–1000",
  rest: "> 1000",
};

/** The GLTR bucket of a 1-based rank. */
export function rankBucket(rank: number): RankBucketName {
  for (let i = 0; i < GLTR_RANK_LIMITS.length; i++) if (rank <= GLTR_RANK_LIMITS[i]!) return GLTR_BUCKETS[i]!;
  return "rest";
}

/** The index of rankBucket in GLTR_BUCKETS (0 = top-10 … 3 = rest); null for unscored tokens. */
export function gltrBucket(rank: number | null | undefined): number | null {
  if (rank === null || rank === undefined || !Number.isFinite(rank) || rank < 1) return null;
  return GLTR_BUCKETS.indexOf(rankBucket(rank));
}
