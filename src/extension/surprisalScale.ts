/**
 * Where a token falls on the highlight scales. Pure: no `vscode`, unit-tested.
 *
 * Surprisal is −log p of the token given its context. The engine reports natural-log probabilities;
 * the scale is in bits (−log₂ p = −ln p / ln 2) because bits are what people compare across models.
 * The scale is continuous (linear in bits) but drawn with a fixed number of decoration types, one per
 * level, so a document of any size costs SURPRISAL_LEVELS decoration types, not one per token.
 */

/** Number of surprisal levels (decoration types) drawn; level 0 is the least surprising. */
export const SURPRISAL_LEVELS = 8;

/** Bits of surprisal covered by each level: level k holds [k·BITS_PER_LEVEL, (k+1)·BITS_PER_LEVEL) bits; the last level is open-ended. */
export const BITS_PER_LEVEL = 2;

/** GLTR's rank buckets (Gehrmann et al., 2019): top-10, top-100, top-1000, and the rest. */
export const GLTR_BUCKETS = ["top10", "top100", "top1000", "rest"] as const;
export type GltrBucket = (typeof GLTR_BUCKETS)[number];

/** Surprisal in bits for a natural-log probability; null when the token was not scored or the value is not finite. */
export function surprisalBits(logprob: number | null | undefined): number | null {
  if (logprob === null || logprob === undefined || !Number.isFinite(logprob)) return null;
  return Math.max(0, -logprob / Math.LN2);
}

/** The level (0 … SURPRISAL_LEVELS−1) of a token's surprisal; null for unscored tokens, which are not coloured. */
export function surprisalLevel(logprob: number | null | undefined): number | null {
  const bits = surprisalBits(logprob);
  if (bits === null) return null;
  return Math.min(SURPRISAL_LEVELS - 1, Math.floor(bits / BITS_PER_LEVEL));
}

/** Lower bound in bits of a level, for legends and tooltips. */
export function levelLowerBoundBits(level: number): number {
  return level * BITS_PER_LEVEL;
}

/** GLTR bucket index (0 = top-10 … 3 = rest) of a 1-based rank; null for unscored tokens. */
export function gltrBucket(rank: number | null | undefined): number | null {
  if (rank === null || rank === undefined || !Number.isFinite(rank) || rank < 1) return null;
  if (rank <= 10) return 0;
  if (rank <= 100) return 1;
  if (rank <= 1000) return 2;
  return 3;
}

/**
 * The part of [start, end) of `text` that is worth colouring: the token without its leading and trailing
 * whitespace (a GPT-2 token " the" is drawn over "the"). Null when nothing visible is left, so
 * whitespace-only tokens get no colour that would suggest the whitespace itself was surprising.
 */
export function visibleSpan(text: string, start: number, end: number): { start: number; end: number } | null {
  let s = Math.max(0, start);
  let e = Math.min(text.length, end);
  while (s < e && isWhitespaceCode(text.charCodeAt(s))) s++;
  while (e > s && isWhitespaceCode(text.charCodeAt(e - 1))) e--;
  return s < e ? { start: s, end: e } : null;
}

function isWhitespaceCode(code: number): boolean {
  // \t \n \v \f \r, space, NBSP, and the Unicode spaces that \s matches.
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
