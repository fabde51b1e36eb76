import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  alignLossesOnCommonSpans,
  covarianceOfMeans,
  diffPositionFromRows,
  klDivergence,
  meanAndUncertainty,
  medianOfSorted,
  percentileOfSorted,
  spreadLossOverBytes,
  SpanAlignmentError,
  summarizeDiff,
  topIndex,
  type ByteSpanLoss,
  type DiffPosition,
  type MeanWithError,
} from "../../../../src/core/eval/diffStatistics";
import { uniformRandom } from "../../../helpers/onnxBuilder";

const close = (actual: number | null | undefined, expected: number, tolerance = 1e-12, what = ""): void => {
  assert.ok(actual !== null && actual !== undefined, `${what}: expected ${expected}, got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: expected ${expected}, got ${actual}`);
};

/** Standard normal deviates from a seeded uniform generator (Box–Muller). */
function gaussian(seed: number): () => number {
  const uniform = uniformRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Every number in a (nested) result is finite: no NaN or Infinity slips through. */
function assertNoNonFinite(value: unknown, path = "result"): void {
  if (typeof value === "number") assert.ok(Number.isFinite(value), `${path} = ${value}`);
  else if (value !== null && typeof value === "object") for (const [key, inner] of Object.entries(value)) assertNoNonFinite(inner, `${path}.${key}`);
}

describe("llama.cpp's percentile and median (linear interpolation at h = f · (n − 1))", () => {
  test("hand examples on small lists", () => {
    const four = [1, 2, 3, 4];
    close(percentileOfSorted(four, 0.9), 3.7); // h = 2.7: 0.3 · 3 + 0.7 · 4
    close(percentileOfSorted(four, 0.25), 1.75); // h = 0.75: 0.25 · 1 + 0.75 · 2
    close(percentileOfSorted(four, 0.999), 3.997); // h = 2.997
    close(percentileOfSorted(four, 0.001), 1.003); // h = 0.003
    assert.equal(percentileOfSorted(four, 0), 1);
    assert.equal(percentileOfSorted(four, -1), 1);
    assert.equal(percentileOfSorted(four, 1), 4);
    assert.equal(medianOfSorted(four), 2.5); // even: mean of the two middle values
    assert.equal(medianOfSorted([1, 3, 5]), 3); // odd: the middle value
    const five = [0, 10, 20, 30, 40];
    close(percentileOfSorted(five, 0.1), 4); // h = 0.4
    close(percentileOfSorted(five, 0.95), 38); // h = 3.8
    close(percentileOfSorted(five, 0.999), 39.96); // h = 3.996
    assert.equal(medianOfSorted(five), 20);
    for (const f of [0, 0.3, 0.5, 0.999, 1]) assert.equal(percentileOfSorted([7], f), 7);
    assert.equal(medianOfSorted([7]), 7);
    // 0, 1, …, 100: the f-percentile is 100 f.
    const hundred = Array.from({ length: 101 }, (_, i) => i);
    for (const f of [0.001, 0.01, 0.05, 0.1, 0.25, 0.75, 0.9, 0.95, 0.99, 0.999]) close(percentileOfSorted(hundred, f), 100 * f, 1e-12, `${f}`);
    assert.throws(() => percentileOfSorted([], 0.5), RangeError);
    assert.throws(() => medianOfSorted([]), RangeError);
  });
});

describe("llama.cpp's mean_and_uncertainty and covariance", () => {
  test("1, 2, …, 11: mean 6, population variance (n² − 1)/12 = 10, uncertainty √(10/10) = 1", () => {
    const values = Array.from({ length: 11 }, (_, i) => i + 1);
    const sum = values.reduce((a, b) => a + b, 0);
    const sum2 = values.reduce((a, b) => a + b * b, 0);
    assert.deepEqual(meanAndUncertainty(sum, sum2, 11), { value: 6, error: 1 });
    // Covariance of the means of x and 2x: population covariance 20, over n − 1 = 10.
    close(covarianceOfMeans(sum, 2 * sum, 2 * sum2, 11), 2);
  });

  test("10 values or fewer: no uncertainty (llama.cpp prints 0); fewer than 10: no covariance; none at all: null", () => {
    assert.deepEqual(meanAndUncertainty(55, 385, 10), { value: 5.5, error: null });
    assert.equal(meanAndUncertainty(0, 0, 0), null);
    assert.equal(covarianceOfMeans(1, 1, 1, 9), null);
    assert.notEqual(covarianceOfMeans(45, 45, 285, 10), null);
    // Equal values: variance 0, uncertainty 0 (not null, not NaN).
    assert.deepEqual(meanAndUncertainty(12 * 3, 12 * 9, 12), { value: 3, error: 0 });
  });
});

describe("klDivergence of one position", () => {
  test("P = (1/2, 1/2), Q = (1/4, 3/4): KL = ½ ln 2 + ½ ln(2/3) = ½ ln(4/3)", () => {
    const p = [Math.log(0.5), Math.log(0.5)];
    const q = [Math.log(0.25), Math.log(0.75)];
    const expected = 0.5 * Math.log(4 / 3); // 0.14384103622589045
    close(klDivergence(p, q).value, expected, 1e-15);
    close(klDivergence(p, q).value, 0.14384103622589045, 1e-15);
    // Logits (unnormalised, shifted) give the same divergence.
    close(
      klDivergence(
        p.map((x) => x + 7),
        q.map((x) => x - 3),
      ).value,
      expected,
      1e-14,
    );
  });

  test("−Infinity entries: zero baseline probability contributes 0; zero candidate probability where the baseline has some makes it infinite", () => {
    close(klDivergence([0, -Infinity], [Math.log(0.5), Math.log(0.5)]).value, Math.LN2, 1e-15); // P = (1, 0): KL = 1 · ln(1 / ½)
    close(klDivergence([0, -Infinity, -Infinity], [0, -Infinity, Math.log(1e-300)]).value, 0, 0); // q has mass 1e-300 elsewhere: KL = −ln(1 − 1e-300) = 0 in float64
    const infinite = klDivergence([Math.log(0.5), Math.log(0.5)], [0, -Infinity]);
    assert.equal(infinite.value, null);
    assert.match(infinite.problem ?? "", /^The candidate gives token 1 probability 0 where the baseline does not, so the divergence is infinite\.$/);
  });

  test("bad rows give a sentence, never NaN", () => {
    for (const [p, q, pattern] of [
      [[0, 0], [0], /different lengths/],
      [[], [], /empty/],
      [[0, NaN], [0, 0], /baseline row has a NaN entry at index 1/],
      [[0, 0], [Infinity, 0], /candidate row has a \+Infinity entry at index 0/],
      [[-Infinity, -Infinity], [0, 0], /baseline row has no finite entry/],
    ] as const) {
      const result = klDivergence(p, q);
      assert.equal(result.value, null);
      assert.match(result.problem ?? "", pattern);
      assert.match(result.problem ?? "", /\.$/);
    }
  });

  test("random rows of 2000 logits against Σ p ln(p/q) computed from softmax probabilities", () => {
    const random = gaussian(11);
    for (let trial = 0; trial < 5; trial++) {
      const x = Array.from({ length: 2000 }, () => 3 * random());
      const y = x.map((v) => v + 0.5 * random());
      // Reference: probabilities first (a different code path from the log-space sum), then Σ p (ln p − ln q).
      const softmax = (row: number[]): number[] => {
        const m = Math.max(...row);
        const e = row.map((v) => Math.exp(v - m));
        const s = e.reduce((a, b) => a + b, 0);
        return e.map((v) => v / s);
      };
      const p = softmax(x);
      const q = softmax(y);
      let reference = 0;
      for (let k = 0; k < p.length; k++) reference += p[k]! * Math.log(p[k]! / q[k]!);
      // Tolerance: both sums are float64 over 2000 terms of size ≤ 1e-2 (≈ 2000 · 1e-16 absolute error each path).
      close(klDivergence(x, y).value, reference, 1e-12, `trial ${trial}`);
      assert.ok(reference > 0);
    }
  });

  test("a row compared with itself: exactly 0, also for float32 rows and rows with −Infinity", () => {
    const random = gaussian(5);
    const row = Float32Array.from({ length: 500 }, () => 4 * random());
    row[3] = -Infinity;
    assert.equal(klDivergence(row, row).value, 0);
    assert.equal(klDivergence(row, Float32Array.from(row)).value, 0);
  });

  test("diffPositionFromRows: normalised log-probabilities of the token, KL and top-token agreement (first of equal maxima)", () => {
    const base = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const cand = [Math.log(0.2), Math.log(0.6), Math.log(0.2)].map((v) => v + 1); // logits
    const position = diffPositionFromRows(base, cand, 1);
    close(position.baselineLogprob, Math.log(0.3), 1e-15);
    close(position.candidateLogprob, Math.log(0.6), 1e-15);
    close(position.klDivergence, 0.5 * Math.log(0.5 / 0.2) + 0.3 * Math.log(0.3 / 0.6) + 0.2 * Math.log(1), 1e-15);
    assert.equal(position.sameTop, false);
    assert.equal(diffPositionFromRows(base, base, 0).sameTop, true);
    assert.equal(diffPositionFromRows(base, base, 0).klDivergence, 0);
    assert.equal(topIndex([1, 3, 3, 2]), 1);
    assert.equal(topIndex([]), -1);
    assert.throws(() => diffPositionFromRows(base, cand, 3), RangeError);
  });
});

/** Random positions: baseline log-probabilities in (ln 0.001, 0], a noisy candidate, KLs and top-token agreement. */
function randomPositions(seed: number, n: number): DiffPosition[] {
  const uniform = uniformRandom(seed);
  const normal = gaussian(seed + 1);
  return Array.from({ length: n }, () => {
    const base = Math.log(0.001 + 0.999 * uniform());
    const cand = Math.min(0, base + 0.3 * normal());
    return { baselineLogprob: base, candidateLogprob: cand, klDivergence: 0.05 * Math.abs(normal()) ** 2, sameTop: uniform() < 0.8 };
  });
}

/** An independent float64 reference of the summary, from the published definitions, with two-pass moments. */
function referenceSummary(positions: DiffPosition[]) {
  const n = positions.length;
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  /** Standard error of the mean: sample standard deviation / √n, from deviations about the mean. */
  const standardError = (v: number[]): number => {
    const m = mean(v);
    return Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1) / v.length);
  };
  const nll = positions.map((p) => -p.candidateLogprob!);
  const nllBase = positions.map((p) => -p.baselineLogprob!);
  const pplQ = Math.exp(mean(nll));
  const pplBase = Math.exp(mean(nllBase));
  const dq = nll.map((x) => x - mean(nll));
  const db = nllBase.map((x) => x - mean(nllBase));
  const pearson = dq.reduce((a, x, i) => a + x * db[i]!, 0) / Math.sqrt(dq.reduce((a, x) => a + x * x, 0) * db.reduce((a, x) => a + x * x, 0));
  // The error of a difference of two means over the same tokens is the standard error of the per-token difference.
  const logRatioError = standardError(nll.map((x, i) => x - nllBase[i]!));
  const differenceError = standardError(nll.map((x, i) => pplQ * x - pplBase * nllBase[i]!));
  const kl = positions.map((p) => p.klDivergence!);
  const dp = positions.map((p) => Math.exp(p.candidateLogprob!) - Math.exp(p.baselineLogprob!));
  const dp2 = dp.map((x) => x * x);
  const rms = Math.sqrt(mean(dp2));
  const same = positions.filter((p) => p.sameTop).length / n;
  /** Hyndman & Fan's definition 7 (R's default), 1-based: Q(f) = x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋), h = (n − 1) f + 1. */
  const quantile7 = (values: number[], f: number): number => {
    const x = [...values].sort((a, b) => a - b);
    const h = (x.length - 1) * f + 1;
    const lo = Math.floor(h);
    const at = (oneBased: number): number => x[Math.min(oneBased, x.length) - 1]!;
    return at(lo) + (h - lo) * (at(lo + 1) - at(lo));
  };
  return {
    pplQ: { value: pplQ, error: pplQ * standardError(nll) },
    pplBase: { value: pplBase, error: pplBase * standardError(nllBase) },
    correlation: pearson,
    logRatio: { value: mean(nll) - mean(nllBase), error: logRatioError },
    ratio: { value: pplQ / pplBase, error: (pplQ / pplBase) * logRatioError },
    difference: { value: pplQ - pplBase, error: differenceError },
    kl: { value: mean(kl), error: standardError(kl) },
    quantile7,
    klValues: kl,
    dpValues: dp,
    dp: { value: mean(dp), error: standardError(dp) },
    rms: { value: rms, error: standardError(dp2) / (2 * rms) },
    maxAbsDp: Math.max(...dp.map(Math.abs)),
    same: { value: same, error: Math.sqrt((same * (1 - same)) / (n - 1)) },
  };
}

describe("summarizeDiff: llama-perplexity --kl-divergence's summary", () => {
  test("random data: every figure against an independent two-pass float64 reference", () => {
    for (const [seed, n] of [
      [1, 1000],
      [2, 137],
      [3, 11],
    ] as const) {
      const positions = randomPositions(seed, n);
      const summary = summarizeDiff(positions);
      const reference = referenceSummary(positions);
      assertNoNonFinite(summary);
      assert.equal(summary.positions, n);
      assert.equal(summary.problem, null);
      // Tolerance 1e-10 relative: llama.cpp's one-pass Σx²/n − mean² loses about log10((mean² + var)/var) digits
      // (the NLLs here have mean ≈ 1, variance ≈ 1, so ~1 digit of 16) against the reference's two-pass deviations.
      const same = (actual: MeanWithError | null | undefined, expected: { value: number; error: number }, what: string): void => {
        assert.ok(actual !== null && actual !== undefined, what);
        close(actual.value, expected.value, 1e-10, `${what} value (n = ${n})`);
        close(actual.error, expected.error, 1e-10, `${what} error (n = ${n})`);
      };
      const perplexity = summary.perplexity!;
      same(perplexity.candidate, reference.pplQ, "PPL(Q)");
      same(perplexity.baseline, reference.pplBase, "PPL(base)");
      close(perplexity.correlation, reference.correlation, 1e-10, "correlation");
      same(perplexity.logRatio, reference.logRatio, "ln ratio");
      same(perplexity.ratio, reference.ratio, "ratio");
      same(perplexity.difference, reference.difference, "difference");
      same(summary.klDivergence!.mean, reference.kl, "KLD");
      same(summary.tokenProbability!.mean, reference.dp, "Δp");
      same(summary.tokenProbability!.rms, reference.rms, "RMS Δp");
      close(summary.tokenProbability!.maximumAbsolute, reference.maxAbsDp, 0, "max |Δp|");
      same(summary.sameTop!.rate, reference.same, "same top");
      const kl = summary.klDivergence!.percentiles;
      const fractions = { p99_9: 0.999, p99: 0.99, p95: 0.95, p90: 0.9, median: 0.5, p10: 0.1, p5: 0.05, p1: 0.01, p0_1: 0.001 } as const;
      for (const [key, f] of Object.entries(fractions))
        close(kl[key as keyof typeof fractions], reference.quantile7(reference.klValues, f), 1e-12, `KLD ${key}`);
      assert.equal(kl.maximum, Math.max(...reference.klValues));
      assert.equal(kl.minimum, Math.min(...reference.klValues));
      const dp = summary.tokenProbability!.percentiles;
      for (const [key, f] of Object.entries({ ...fractions, p75: 0.75, p25: 0.25 }))
        close(dp[key as keyof typeof dp], reference.quantile7(reference.dpValues, f), 1e-12, `Δp ${key}`);
      assert.equal(dp.maximum, Math.max(...reference.dpValues));
      assert.equal(dp.minimum, Math.min(...reference.dpValues));
    }
  });

  test("a configuration compared with itself: KL 0, Δp 0, same top 100 %, ratio exactly 1, correlation 1", () => {
    const positions = randomPositions(7, 400).map((p): DiffPosition => ({
      baselineLogprob: p.baselineLogprob,
      candidateLogprob: p.baselineLogprob,
      klDivergence: 0,
      sameTop: true,
    }));
    const summary = summarizeDiff(positions);
    assertNoNonFinite(summary);
    const perplexity = summary.perplexity!;
    assert.equal(perplexity.ratio!.value, 1);
    assert.equal(perplexity.ratio!.error, 0);
    assert.deepEqual(perplexity.logRatio, { value: 0, error: 0 });
    assert.deepEqual(perplexity.difference, { value: 0, error: 0 });
    assert.equal(perplexity.candidate!.value, perplexity.baseline!.value);
    close(perplexity.correlation, 1, 1e-12);
    assert.deepEqual(summary.klDivergence!.mean, { value: 0, error: 0 });
    assert.ok(Object.values(summary.klDivergence!.percentiles).every((v) => v === 0));
    assert.deepEqual(summary.tokenProbability!.mean, { value: 0, error: 0 });
    assert.deepEqual(summary.tokenProbability!.rms, { value: 0, error: 0 });
    assert.ok(Object.values(summary.tokenProbability!.percentiles).every((v) => v === 0));
    assert.equal(summary.tokenProbability!.maximumAbsolute, 0);
    assert.deepEqual(summary.sameTop, { positions: 400, rate: { value: 1, error: 0 } });
    assert.equal(summary.caution, null);

    // The same from full rows through diffPositionFromRows.
    const normal = gaussian(9);
    const rows = Array.from({ length: 120 }, () => Float32Array.from({ length: 64 }, () => 2 * normal()));
    const fromRows = summarizeDiff(rows.map((row, i) => diffPositionFromRows(row, row, i % 64)));
    assert.equal(fromRows.perplexity!.ratio!.value, 1);
    assert.deepEqual(fromRows.klDivergence!.mean, { value: 0, error: 0 });
    assert.deepEqual(fromRows.sameTop!.rate, { value: 1, error: 0 });
    assert.deepEqual(fromRows.tokenProbability!.rms, { value: 0, error: 0 });
  });

  test("hand example: 12 positions, Δp and same-top by hand", () => {
    // Baseline p = 1/2 everywhere; candidate q = 1/2 on 6 positions and 1/4 on 6: Δp = 0 (×6), −1/4 (×6).
    // Mean Δp = −1/8; population variance 1/64; error √((1/64)/11) = 1/(8√11). Δp² = 0 or 1/16: mean 1/32, RMS = 1/√32;
    // mean-square population variance (1/16)²/4 = 1/1024, error √((1/1024)/11) = 1/(32√11); RMS error = that / (2 RMS).
    // Same top on 9 of 12: rate 3/4, error √(3/4 · 1/4 / 11) = √(3/176).
    const positions: DiffPosition[] = Array.from({ length: 12 }, (_, i) => ({
      baselineLogprob: Math.log(0.5),
      candidateLogprob: Math.log(i < 6 ? 0.5 : 0.25),
      sameTop: i % 4 !== 0,
    }));
    const summary = summarizeDiff(positions);
    close(summary.tokenProbability!.mean.value, -1 / 8, 1e-15);
    close(summary.tokenProbability!.mean.error, 1 / (8 * Math.sqrt(11)), 1e-14);
    close(summary.tokenProbability!.rms.value, 1 / Math.sqrt(32), 1e-15);
    close(summary.tokenProbability!.rms.error, 1 / (32 * Math.sqrt(11)) / (2 / Math.sqrt(32)), 1e-14);
    close(summary.tokenProbability!.percentiles.median, -0.125, 1e-15); // sorted: six −1/4 then six 0: mean of the middle two
    close(summary.tokenProbability!.percentiles.p25, -0.25, 1e-15);
    close(summary.tokenProbability!.percentiles.p75, 0, 1e-15);
    assert.deepEqual(summary.sameTop, { positions: 12, rate: { value: 0.75, error: Math.sqrt(3 / 176) } });
    // ln PPL(Q) − ln PPL(base) = mean nll − mean nllBase = (6 ln 4 + 6 ln 2)/12 − ln 2 = ½ ln 2.
    close(summary.perplexity!.logRatio.value, 0.5 * Math.LN2, 1e-15);
    close(summary.perplexity!.ratio!.value, Math.SQRT2, 1e-15);
    // The baseline NLL is constant: its uncertainty is 0, so the correlation does not exist.
    assert.equal(summary.perplexity!.baseline!.error, 0);
    assert.equal(summary.perplexity!.correlation, null);
    assert.equal(summary.klDivergence, null); // no KL given
    assert.match(summary.caution ?? "", /^Only 12 positions: llama\.cpp prints no summary below 100/);
  });

  test("given probabilities are used for Δp instead of exp(logprob)", () => {
    const summary = summarizeDiff([{ baselineLogprob: Math.log(0.5), candidateLogprob: Math.log(0.25), baselineProb: 0.6, candidateProb: 0.2 }]);
    close(summary.tokenProbability!.mean.value, -0.4, 1e-15);
  });

  test("few or unusable positions: nulls and sentences, never NaN", () => {
    const empty = summarizeDiff([]);
    assert.equal(empty.problem, "There are no positions to compare.");
    assert.equal(empty.perplexity, null);
    const unusable = summarizeDiff([
      { baselineLogprob: null, candidateLogprob: -1 },
      { baselineLogprob: -1, candidateLogprob: -Infinity },
    ]);
    assert.equal(unusable.problem, "No position has a finite log-probability on both sides.");
    assert.equal(unusable.skippedPositions, 2);

    const one = summarizeDiff([
      { baselineLogprob: -1, candidateLogprob: -2, klDivergence: 0.3, sameTop: true },
      { baselineLogprob: null, candidateLogprob: -1 },
    ]);
    assertNoNonFinite(one);
    assert.equal(one.positions, 1);
    assert.equal(one.skippedPositions, 1);
    assert.equal(one.problem, null);
    assert.match(one.caution ?? "", /^Only 1 position: uncertainties need at least 11/);
    close(one.perplexity!.candidate!.value, Math.exp(2), 1e-15);
    assert.equal(one.perplexity!.candidate!.error, null);
    assert.equal(one.perplexity!.logRatio.error, null);
    assert.equal(one.perplexity!.correlation, null);
    assert.equal(one.sameTop!.rate.error, null);
    assert.equal(one.klDivergence!.percentiles.median, 0.3);
    assert.equal(one.klDivergence!.mean.error, null);
    assert.equal(one.tokenProbability!.rms.error, null);

    // A perplexity that overflows float64 is null, not Infinity (and the ratio e^−799 rounds to 0).
    const huge = summarizeDiff([{ baselineLogprob: -800, candidateLogprob: -1 }]);
    assert.equal(huge.perplexity!.baseline, null);
    assert.equal(huge.perplexity!.ratio!.value, 0);
    assert.equal(huge.perplexity!.difference, null);
    assertNoNonFinite(huge);

    // KL and same-top over the positions that have them.
    const partial = summarizeDiff(randomPositions(4, 50).map((p, i) => (i % 2 === 0 ? p : { ...p, klDivergence: null, sameTop: undefined })));
    assert.equal(partial.klDivergence!.positions, 25);
    assert.equal(partial.sameTop!.positions, 25);
    assert.equal(partial.positions, 50);
  });
});

describe("alignLossesOnCommonSpans: two tokenizers on per-character spans", () => {
  const bytesOf = (text: string): number => new TextEncoder().encode(text).length;

  test('"héllo": byte-level tokens on one side, word pieces on the other', () => {
    // Bytes: h | é (C3 A9) | l | l | o = 6. Baseline: "h" 1, é's two bytes 2 and 3, "llo" 4. Candidate: "hé" 5, "l" 1, "lo" 2.
    // Character boundaries 0 1 3 4 5 6; inside baseline tokens: 2, 4, 5; inside candidate tokens: 1, 2, 5.
    // Common cuts: 0, 3, 6 → "hé" (baseline 1 + 2 + 3 = 6, candidate 5) and "llo" (baseline 4, candidate 1 + 2 = 3).
    const text = "héllo";
    const baseline: ByteSpanLoss[] = [
      { nll: 1, byteStart: 0, byteEnd: 1 },
      { nll: 2, byteStart: 1, byteEnd: 2 },
      { nll: 3, byteStart: 2, byteEnd: 3 },
      { nll: 4, byteStart: 3, byteEnd: 6 },
    ];
    const candidate: ByteSpanLoss[] = [
      { nll: 5, byteStart: 0, byteEnd: 3 },
      { nll: 1, byteStart: 3, byteEnd: 4 },
      { nll: 2, byteStart: 4, byteEnd: 6 },
    ];
    const alignment = alignLossesOnCommonSpans(text, baseline, candidate);
    assert.deepEqual(alignment, {
      bytes: 6,
      spans: [
        { byteStart: 0, byteEnd: 3, start: 0, end: 2, baselineNll: 6, candidateNll: 5 },
        { byteStart: 3, byteEnd: 6, start: 2, end: 5, baselineNll: 4, candidateNll: 3 },
      ],
      baselineNll: 10,
      candidateNll: 8,
    });
    assert.equal(text.slice(0, 2), "hé");
    // Per byte: "llo" spreads 4 over 3 bytes, é's tokens stay on their own bytes.
    const perByte = spreadLossOverBytes(baseline, 6);
    assert.deepEqual(Array.from(perByte), [1, 2, 3, 4 / 3, 4 / 3, 4 / 3]);
  });

  test('"a😀b" (a 4-byte, 2-code-unit character) and identical tokenizations cut at every token', () => {
    // Bytes a | F0 9F 98 80 | b = 6, UTF-16 units a | D83D DE00 | b = 4.
    const text = "a😀b";
    assert.equal(bytesOf(text), 6);
    const baseline: ByteSpanLoss[] = [
      { nll: 0.5, byteStart: 0, byteEnd: 1 },
      ...[1, 2, 3, 4].map((b) => ({ nll: 1, byteStart: b, byteEnd: b + 1 })),
      { nll: 0.25, byteStart: 5, byteEnd: 6 },
    ];
    const candidate: ByteSpanLoss[] = [
      { nll: 3, byteStart: 0, byteEnd: 5 },
      { nll: 1, byteStart: 5, byteEnd: 6 },
    ];
    const alignment = alignLossesOnCommonSpans(text, baseline, candidate);
    assert.deepEqual(alignment.spans, [
      { byteStart: 0, byteEnd: 5, start: 0, end: 3, baselineNll: 4.5, candidateNll: 3 },
      { byteStart: 5, byteEnd: 6, start: 3, end: 4, baselineNll: 0.25, candidateNll: 1 },
    ]);
    // Against itself: one span per character (the byte tokens inside 😀 are not character boundaries).
    const self = alignLossesOnCommonSpans(text, baseline, baseline);
    assert.deepEqual(
      self.spans.map((s) => [text.slice(s.start, s.end), s.baselineNll, s.candidateNll]),
      [
        ["a", 0.5, 0.5],
        ["😀", 4, 4],
        ["b", 0.25, 0.25],
      ],
    );
  });

  test("an empty continuation token, overlapping byte-fallback tokens and bytes no token covers", () => {
    // " né": bytes space | n | é (2) = 4. Baseline leaves the space out (unscored), has "n" 1, "é" 2 and an empty
    // continuation at byte 4 (the end of é) with 0.5, which belongs to é. Candidate: byte-fallback tokens that both
    // carry é's whole span (1.5 and 2.5), and " n" 3.
    const text = " né";
    const baseline: ByteSpanLoss[] = [
      { nll: 1, byteStart: 1, byteEnd: 2 },
      { nll: 2, byteStart: 2, byteEnd: 4 },
      { nll: 0.5, byteStart: 4, byteEnd: 4 },
    ];
    const candidate: ByteSpanLoss[] = [
      { nll: 3, byteStart: 0, byteEnd: 2 },
      { nll: 1.5, byteStart: 2, byteEnd: 4 },
      { nll: 2.5, byteStart: 2, byteEnd: 4 },
    ];
    const alignment = alignLossesOnCommonSpans(text, baseline, candidate);
    assert.deepEqual(
      alignment.spans.map((s) => [text.slice(s.start, s.end), s.byteStart, s.byteEnd, s.baselineNll, s.candidateNll]),
      [
        [" n", 0, 2, 1, 3],
        ["é", 2, 4, 2.5, 4],
      ],
    );
    assert.equal(alignment.baselineNll, 3.5);
    assert.equal(alignment.candidateNll, 7);
    assert.deepEqual(Array.from(spreadLossOverBytes(baseline, 4)), [0, 1, 1, 1.5]);
    // An empty token at the start of the text gives its loss to byte 0.
    assert.deepEqual(Array.from(spreadLossOverBytes([{ nll: 2, byteStart: 0, byteEnd: 0 }], 3)), [2, 0, 0]);
  });

  test("random texts and tokenizations: spans tile the bytes at character boundaries, sums hold, spans equal their spread bytes", () => {
    const uniform = uniformRandom(2024);
    const alphabet = ["a", "b", " ", "é", "ß", "€", "中", "😀", "\n", "🇫🇷"];
    /** A random tokenization: cuts at random byte offsets (inside characters too), some tokens left out, some empty. */
    const tokenize = (bytes: number): ByteSpanLoss[] => {
      const tokens: ByteSpanLoss[] = [];
      let at = 0;
      while (at < bytes) {
        const length = 1 + Math.floor(uniform() * 5);
        const end = Math.min(bytes, at + length);
        if (uniform() > 0.1) tokens.push({ nll: 5 * uniform(), byteStart: at, byteEnd: end });
        if (uniform() < 0.1) tokens.push({ nll: uniform(), byteStart: end, byteEnd: end });
        at = end;
      }
      return tokens;
    };
    for (let trial = 0; trial < 200; trial++) {
      let text = "";
      const characters = 1 + Math.floor(uniform() * 30);
      for (let i = 0; i < characters; i++) text += alphabet[Math.floor(uniform() * alphabet.length)]!;
      const encoded = new TextEncoder().encode(text);
      const bytes = encoded.length;
      const baseline = tokenize(bytes);
      const candidate = tokenize(bytes);
      const alignment = alignLossesOnCommonSpans(text, baseline, candidate);
      assert.equal(alignment.bytes, bytes);
      // Tiling: contiguous from 0 to the last byte, each span non-empty, its UTF-16 range decoding to its bytes.
      let expectedStart = 0;
      let utf16 = 0;
      for (const span of alignment.spans) {
        assert.equal(span.byteStart, expectedStart);
        assert.ok(span.byteEnd > span.byteStart);
        assert.equal(span.start, utf16);
        assert.equal(new TextDecoder().decode(encoded.subarray(span.byteStart, span.byteEnd)), text.slice(span.start, span.end));
        expectedStart = span.byteEnd;
        utf16 = span.end;
      }
      assert.equal(expectedStart, bytes);
      assert.equal(utf16, text.length);
      // No token of either side crosses a cut.
      const cuts = new Set(alignment.spans.map((s) => s.byteStart));
      for (const token of [...baseline, ...candidate]) for (let b = token.byteStart + 1; b < token.byteEnd; b++) assert.ok(!cuts.has(b), `token crosses ${b}`);
      // Sums: each side's spans add up to its total NLL, and each span equals the sum of its bytes' spread losses.
      const sum = (tokens: ByteSpanLoss[]): number => tokens.reduce((a, t) => a + t.nll, 0);
      close(
        alignment.spans.reduce((a, s) => a + s.baselineNll, 0),
        sum(baseline),
        1e-12,
      );
      close(
        alignment.spans.reduce((a, s) => a + s.candidateNll, 0),
        sum(candidate),
        1e-12,
      );
      close(alignment.baselineNll, sum(baseline), 1e-12);
      const perByteBase = spreadLossOverBytes(baseline, bytes);
      const perByteCand = spreadLossOverBytes(candidate, bytes);
      for (const span of alignment.spans) {
        let base = 0;
        let cand = 0;
        for (let b = span.byteStart; b < span.byteEnd; b++) {
          base += perByteBase[b]!;
          cand += perByteCand[b]!;
        }
        // 1e-12: a span's byte shares are nll/len added len times (a few ulps) against whole-token sums.
        close(span.baselineNll, base, 1e-12);
        close(span.candidateNll, cand, 1e-12);
      }
    }
  });

  test("invalid tokens are refused with a sentence", () => {
    assert.throws(
      () => alignLossesOnCommonSpans("ab", [{ nll: 1, byteStart: 0, byteEnd: 3 }], []),
      (e: unknown) => e instanceof SpanAlignmentError && e.message === "Token 0 of the baseline has bytes [0, 3), which is not a span of the text's 2 bytes.",
    );
    assert.throws(() => alignLossesOnCommonSpans("ab", [], [{ nll: 1, byteStart: 2, byteEnd: 1 }]), SpanAlignmentError);
    assert.throws(() => alignLossesOnCommonSpans("ab", [], [{ nll: 0.5, byteStart: 0.5, byteEnd: 1 }]), SpanAlignmentError);
    assert.throws(
      () => alignLossesOnCommonSpans("ab", [{ nll: NaN, byteStart: 0, byteEnd: 1 }], []),
      /Token 0 of the baseline has a loss of NaN; leave unscored tokens out\./,
    );
    assert.throws(() => alignLossesOnCommonSpans("", [{ nll: 1, byteStart: 0, byteEnd: 0 }], []), /The text is empty/);
    assert.deepEqual(alignLossesOnCommonSpans("", [], []), { bytes: 0, spans: [], baselineNll: 0, candidateNll: 0 });
  });
});
