/**
 * What one row of logits says about one token: log-probability, probability, rank, entropy and the top-k alternatives.
 *
 * The float64 reference (and the fallback of logitsStats.ts for rows with non-finite values):
 *   lse = m + ln Σ_k exp(x_k − m),  m = max_k x_k;   logprob(t) = x_t − lse;   p_k = exp(x_k − lse)
 *   entropy H = −Σ_k p_k ln p_k   (terms with p_k = 0 contribute 0)
 *   rank(t) = 1 + #{k : x_k > x_t}   (ties share the best rank).
 */

export interface PositionScore {
  logprob: number;
  prob: number;
  rank: number;
  entropy: number;
  top: { id: number; logprob: number }[];
}

/** IEEE 754 half → float, for float16 logits. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Copies a float16 row (Uint16Array) into a Float32Array. */
export function halfRowToFloat(source: Uint16Array, offset: number, length: number, into: Float32Array): Float32Array {
  for (let i = 0; i < length; i++) into[i] = halfToFloat(source[offset + i]!);
  return into;
}

/**
 * Scores `target` against logits[offset .. offset + vocab) in float64. `topK` alternatives, best first (ties: lower id
 * first). One exp per entry: S = Σ exp(x_k − m) and T = Σ exp(x_k − m)·(x_k − m) give lse = m + ln S and
 * H = ln S − T / S.
 */
export function scorePosition(logits: Float32Array, offset: number, vocab: number, target: number, topK: number): PositionScore {
  if (target < 0 || target >= vocab) throw new RangeError(`token id ${target} is outside the model's vocabulary of ${vocab}`);
  let max = -Infinity;
  for (let k = 0; k < vocab; k++) {
    const x = logits[offset + k]!;
    if (x > max) max = x;
  }
  if (!Number.isFinite(max)) throw new RangeError(`the model returned non-finite logits (maximum ${max})`);
  const xt = logits[offset + target]!;
  let sum = 0;
  let weighted = 0;
  let greater = 0;
  // Top-k kept sorted best first in small arrays; a candidate enters only when it beats the current k-th.
  const k = Math.max(0, Math.min(topK, vocab));
  const topIds = new Int32Array(k);
  const topVals = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  for (let i = 0; i < vocab; i++) {
    const x = logits[offset + i]!;
    const z = x - max;
    const e = Math.exp(z);
    sum += e;
    if (e > 0) weighted += e * z;
    if (x > xt) greater++;
    if (k > 0 && (filled < k || x > topVals[k - 1]!)) {
      let pos = Math.min(filled, k - 1);
      while (pos > 0 && topVals[pos - 1]! < x) {
        topVals[pos] = topVals[pos - 1]!;
        topIds[pos] = topIds[pos - 1]!;
        pos--;
      }
      topVals[pos] = x;
      topIds[pos] = i;
      if (filled < k) filled++;
    }
  }
  const logSum = Math.log(sum);
  const lse = max + logSum;
  const logprob = xt - lse;
  const top: { id: number; logprob: number }[] = [];
  for (let i = 0; i < filled; i++) top.push({ id: topIds[i]!, logprob: topVals[i]! - lse });
  return { logprob, prob: Math.exp(logprob), rank: greater + 1, entropy: Math.max(0, logSum - weighted / sum), top };
}
