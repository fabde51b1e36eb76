import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  fitPowerLaw,
  fitPowerLawWithIrreducibleLoss,
  perTokenScaling,
  predictLoss,
  scalingPoints,
  trainingCompute,
  type FailedScalingFit,
  type IrreducibleLossFit,
  type IrreducibleLossResult,
  type PowerLawFit,
  type PowerLawResult,
  type ScalingPoint,
} from "../../../../src/core/eval/scalingFit";
import { uniformRandom } from "../../../helpers/onnxBuilder";

const close = (actual: number | null | undefined, expected: number, tolerance: number, what = ""): void => {
  assert.ok(actual !== null && actual !== undefined, `${what}: expected ${expected}, got ${actual}`);
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual} (tolerance ${tolerance})`,
  );
};
const relativeClose = (actual: number | null | undefined, expected: number, tolerance: number, what = ""): void => {
  assert.ok(actual !== null && actual !== undefined, `${what}: expected ${expected}, got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.abs(expected), `${what}: expected ${expected}, got ${actual} (relative tolerance ${tolerance})`);
};

function gaussian(seed: number): () => number {
  const uniform = uniformRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** `count` values from `from` to `to` (both exactly), evenly spaced in ln. */
function logSpaced(from: number, to: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    i === 0 ? from : i === count - 1 ? to : Math.exp(Math.log(from) + (i / (count - 1)) * (Math.log(to) - Math.log(from))),
  );
}

function powerLawFit(result: PowerLawResult): PowerLawFit {
  assert.equal(result.problem, null, result.problem ?? "");
  return result as PowerLawFit;
}

function irreducibleFit(result: IrreducibleLossResult): IrreducibleLossFit {
  assert.equal(result.problem, null, result.problem ?? "");
  return result as IrreducibleLossFit;
}

/** A failed fit has its sentence and no numbers besides the point count. */
function assertFailed(result: PowerLawResult | IrreducibleLossResult, pattern: RegExp): void {
  assert.notEqual(result.problem, null, "expected a problem");
  const failed = result as FailedScalingFit;
  assert.deepEqual(Object.keys(failed).sort(), ["form", "points", "problem", "variable"]);
  assert.match(failed.problem, pattern);
  assert.match(failed.problem, /^[A-Z].*\.$/); // one sentence
}

/** Sample mean and sample standard deviation. */
function meanAndSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, sd: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) };
}

describe("fitPowerLaw: L(x) = (x_c / x)^α on ln L", () => {
  test("exact recovery without noise: Kaplan et al.'s L(N) and L(D) constants, and L(C) from runs with C = 6ND", () => {
    // Kaplan et al. 2020 Table 5: α_N = 0.076, N_c = 8.8e13; α_D = 0.095, D_c = 5.4e13.
    for (const [variable, alpha, scale] of [
      ["N", 0.076, 8.8e13],
      ["D", 0.095, 5.4e13],
    ] as const) {
      const points = logSpaced(1e6, 1e9, 7).map((x) => ({ x, loss: (scale / x) ** alpha }));
      const fit = powerLawFit(fitPowerLaw(points, variable));
      assert.equal(fit.variable, variable);
      assert.equal(fit.scaleName, `${variable}_c`);
      relativeClose(fit.alpha, alpha, 1e-9, "α");
      relativeClose(fit.scale, scale, 1e-9, "x_c");
      close(fit.rSquared, 1, 1e-12, "R²");
      assert.ok(fit.residualStandardDeviation! < 1e-12);
      assert.equal(fit.errorProblem, null);
      assert.deepEqual(fit.range, { min: points[0]!.x, max: points[6]!.x });
    }
    // L(C): runs with D = 20 N, C = 6 N D; α_C = 0.05, C_c = 2.7e28 FLOP (Kaplan's 3.1e8 PF-days).
    const runs = logSpaced(1e6, 1e9, 6).map((parameters) => {
      const tokens = 20 * parameters;
      return { parameters, tokens, loss: (2.7e28 / (6 * parameters * tokens)) ** 0.05 };
    });
    assert.equal(trainingCompute(1e6, 2e7), 1.2e14);
    const points = scalingPoints(runs, "C");
    assert.equal(points[0]!.x, 6 * 1e6 * 2e7);
    const fit = powerLawFit(fitPowerLaw(points, "C"));
    assert.equal(fit.scaleName, "C_c");
    relativeClose(fit.alpha, 0.05, 1e-9, "α_C");
    relativeClose(fit.scale, 2.7e28, 1e-9, "C_c");
    assert.deepEqual(
      scalingPoints(runs, "N").map((p) => p.x),
      runs.map((r) => r.parameters),
    );
    assert.deepEqual(
      scalingPoints(runs, "D").map((p) => p.x),
      runs.map((r) => r.tokens),
    );
  });

  test("standard errors against the closed form on a hand example (ln N = 0, 1, 2; ln L = 3, 2, 1.5)", () => {
    // Slope b = Σ(t − 1) y / Σ(t − 1)² = (−3 + 1.5) / 2 = −3/4, so α = 3/4; intercept a = 13/6 + 3/4 = 35/12.
    // Residuals 1/12, −2/12, 1/12: SSR = 1/24, s² = SSR / (3 − 2) = 1/24; δα = √(s² / Sxx) = √(1/48).
    // ln N_c = −a/b = 35/9. Written as x̄ − ȳ/b (ȳ and b uncorrelated in OLS): Var = s²/(n b²) + ȳ² s² / (Sxx b⁴).
    // R² = 1 − SSR / SST, SST = (5/6)² + (1/6)² + (4/6)² = 7/6: R² = 27/28.
    const points: ScalingPoint[] = [0, 1, 2].map((t, i) => ({ x: Math.exp(t), loss: Math.exp([3, 2, 1.5][i]!) }));
    const fit = powerLawFit(fitPowerLaw(points));
    close(fit.alpha, 0.75, 1e-14, "α");
    close(Math.log(fit.scale), 35 / 9, 1e-14, "ln N_c");
    close(fit.alphaError, Math.sqrt(1 / 48), 1e-14, "δα");
    const s2 = 1 / 24;
    const yMean = 13 / 6;
    const b = -0.75;
    const logScaleVariance = s2 / (3 * b * b) + (yMean * yMean * s2) / (2 * b ** 4);
    close(fit.logScaleError, Math.sqrt(logScaleVariance), 1e-13, "δ ln N_c");
    close(fit.scaleError, fit.scale * Math.sqrt(logScaleVariance), 1e-13, "δN_c");
    close(fit.rSquared, 27 / 28, 1e-14, "R²");
    close(fit.residualStandardDeviation, Math.sqrt(s2), 1e-14, "s");
  });

  test("two points fit exactly: no standard errors, and a sentence saying why", () => {
    const fit = powerLawFit(
      fitPowerLaw([
        { x: 1e6, loss: 4 },
        { x: 1e8, loss: 2 },
      ]),
    );
    close(fit.alpha, Math.log(2) / Math.log(100), 1e-14);
    assert.equal(fit.alphaError, null);
    assert.equal(fit.scaleError, null);
    assert.equal(fit.residualStandardDeviation, null);
    assert.match(fit.errorProblem ?? "", /^Two points fit a power law exactly/);
  });

  test("seeded 1 % noise: α and N_c within 4 standard deviations of the truth; Monte-Carlo spread matches the reported errors", () => {
    // ln L = α ln N_c − α ln N + ε, ε ~ N(0, σ²), σ = 0.01, 8 points from 1e6 to 1e9. For this design the OLS
    // estimates are normal with sd(α̂) = σ/√Sxx and sd(ln N̂_c) = √(σ²/(n α²) + ȳ² σ²/(Sxx α⁴)); 4 sd bounds a
    // single fit (two-sided normal tail 6e-5; the seed makes it deterministic).
    const alpha = 0.076;
    const scale = 8.8e13;
    const sigma = 0.01;
    const xs = logSpaced(1e6, 1e9, 8);
    const t = xs.map(Math.log);
    const tMean = t.reduce((a, b) => a + b, 0) / t.length;
    const stt = t.reduce((a, v) => a + (v - tMean) ** 2, 0);
    const yMean = alpha * Math.log(scale) - alpha * tMean;
    const sdAlpha = sigma / Math.sqrt(stt);
    const sdLogScale = Math.sqrt((sigma * sigma) / (8 * alpha * alpha) + (yMean * yMean * sigma * sigma) / (stt * alpha ** 4));
    const noise = gaussian(42);
    const alphas: number[] = [];
    const logScales: number[] = [];
    const alphaErrors2: number[] = [];
    const logScaleErrors2: number[] = [];
    for (let trial = 0; trial < 500; trial++) {
      const points = xs.map((x) => ({ x, loss: (scale / x) ** alpha * Math.exp(sigma * noise()) }));
      const fit = powerLawFit(fitPowerLaw(points));
      if (trial === 0) {
        assert.ok(Math.abs(fit.alpha - alpha) <= 4 * sdAlpha, `α = ${fit.alpha}`);
        assert.ok(Math.abs(Math.log(fit.scale) - Math.log(scale)) <= 4 * sdLogScale, `N_c = ${fit.scale}`);
      }
      alphas.push(fit.alpha);
      logScales.push(Math.log(fit.scale));
      alphaErrors2.push(fit.alphaError! ** 2);
      logScaleErrors2.push(fit.logScaleError! ** 2);
    }
    // 500 fits: the sample sd has relative standard error 1/√(2·500) ≈ 3 %, the root-mean-square of the reported
    // errors (each from s² with 6 degrees of freedom) ≈ 3 % too; 15 % is over 3.5 combined standard errors.
    // ln N_c is nonlinear in (a, b), so its delta-method error is first order; at σ = 1 % the bias is well under 15 %.
    const rms = (v: number[]): number => Math.sqrt(v.reduce((a, b) => a + b, 0) / v.length);
    relativeClose(meanAndSd(alphas).sd, sdAlpha, 0.15, "Monte-Carlo sd(α) vs σ/√Sxx");
    relativeClose(rms(alphaErrors2), sdAlpha, 0.15, "reported δα vs σ/√Sxx");
    relativeClose(meanAndSd(logScales).sd, sdLogScale, 0.15, "Monte-Carlo sd(ln N_c) vs delta method");
    relativeClose(rms(logScaleErrors2), sdLogScale, 0.15, "reported δ ln N_c vs delta method");
  });

  test("degenerate inputs each give their sentence, never NaN", () => {
    assertFailed(fitPowerLaw([]), /^This fit needs at least 2 points; there are 0\.$/);
    assertFailed(fitPowerLaw([{ x: 1e6, loss: 3 }]), /^This fit needs at least 2 points; there is 1\.$/);
    assertFailed(
      fitPowerLaw([
        { x: 1e6, loss: 3 },
        { x: 1e6, loss: 2.9 },
      ]),
      /^All points have the same N \(parameters\), so no exponent can be fitted\.$/,
    );
    assertFailed(
      fitPowerLaw([
        { x: 1e6, loss: 3 },
        { x: 0, loss: 2.9 },
      ]),
      /^Point 1 has N = 0, but N must be positive/,
    );
    assertFailed(
      fitPowerLaw(
        [
          { x: -5, loss: 3 },
          { x: 1e7, loss: 2.9 },
        ],
        "D",
      ),
      /^Point 0 has D = -5, but D must be positive/,
    );
    assertFailed(
      fitPowerLaw([
        { x: 1e6, loss: 3 },
        { x: 1e7, loss: 0 },
      ]),
      /^Point 1 has loss 0, but losses must be positive/,
    );
    assertFailed(
      fitPowerLaw([
        { x: 1e6, loss: NaN },
        { x: 1e7, loss: 2 },
      ]),
      /^Point 0 has a non-finite N or loss\.$/,
    );
    assertFailed(
      fitPowerLaw([
        { x: Infinity, loss: 1 },
        { x: 1e7, loss: 2 },
      ]),
      /^Point 0 has a non-finite N or loss\.$/,
    );
    // Rising: L = N^0.1 has α = −0.1.
    assertFailed(
      fitPowerLaw(logSpaced(1e6, 1e9, 5).map((x) => ({ x, loss: x ** 0.1 }))),
      /^The loss does not fall as N \(parameters\) grows \(the fitted exponent α would be -0\.100\), so no decreasing power law fits\.$/,
    );
    // Flat: α = 0.
    assertFailed(fitPowerLaw(logSpaced(1e6, 1e9, 5).map((x) => ({ x, loss: 3 }))), /would be 0\.00\)/);
    assertFailed(
      fitPowerLaw(
        [
          { x: 1e6, loss: 3 },
          { x: 1e7, loss: 3.5 },
        ],
        "C",
      ),
      /^The loss does not fall as C \(compute\) grows/,
    );
  });
});

/**
 * Reference covariance of (E, A, α) for L = E + A x^−α, in the raw parameters, by Cramer's rule on JᵀJ
 * (a different parametrisation and inversion from the implementation's; the two agree exactly in exact arithmetic,
 * since J_raw = J_scaled · G⁻¹ for the reparametrisation's Jacobian G).
 */
function referenceCovariance(xs: number[], losses: number[], e: number, a: number, alpha: number): { e: number; a: number; alpha: number } {
  const rows = xs.map((x) => [1, x ** -alpha, -a * x ** -alpha * Math.log(x)]);
  const m = [0, 1, 2].map((r) => [0, 1, 2].map((c) => rows.reduce((s, row) => s + row[r]! * row[c]!, 0)));
  const det3 = (q: number[][]): number =>
    q[0]![0]! * (q[1]![1]! * q[2]![2]! - q[1]![2]! * q[2]![1]!) -
    q[0]![1]! * (q[1]![0]! * q[2]![2]! - q[1]![2]! * q[2]![0]!) +
    q[0]![2]! * (q[1]![0]! * q[2]![1]! - q[1]![1]! * q[2]![0]!);
  const det = det3(m);
  const minor = (skip: number): number => {
    const keep = [0, 1, 2].filter((i) => i !== skip);
    return m[keep[0]!]![keep[0]!]! * m[keep[1]!]![keep[1]!]! - m[keep[0]!]![keep[1]!]! * m[keep[1]!]![keep[0]!]!;
  };
  let ssr = 0;
  xs.forEach((x, i) => (ssr += (losses[i]! - e - a * x ** -alpha) ** 2));
  const s2 = ssr / (xs.length - 3);
  // Diagonal of the inverse: cofactor / determinant.
  return { e: Math.sqrt((s2 * minor(0)) / det), a: Math.sqrt((s2 * minor(1)) / det), alpha: Math.sqrt((s2 * minor(2)) / det) };
}

describe("fitPowerLawWithIrreducibleLoss: L(x) = E + A / x^α on L", () => {
  // Hoffmann et al. 2022 (Chinchilla) eq. 10: E = 1.69, A = 406.4, α = 0.34.
  const E = 1.69;
  const A = 406.4;
  const ALPHA = 0.34;
  const chinchilla = (x: number): number => E + A / x ** ALPHA;

  test("exact recovery without noise (1e-9), and E = 0 found for a pure power law", () => {
    const points = logSpaced(1e6, 1e10, 9).map((x) => ({ x, loss: chinchilla(x) }));
    const fit = irreducibleFit(fitPowerLawWithIrreducibleLoss(points));
    relativeClose(fit.irreducible, E, 1e-9, "E");
    relativeClose(fit.coefficient, A, 1e-9, "A");
    relativeClose(fit.alpha, ALPHA, 1e-9, "α");
    assert.equal(fit.irreducibleAtBound, false);
    close(fit.rSquared, 1, 1e-12, "R²");
    assert.equal(fit.scaleName, "N_c");

    // A pure power law (E = 0): E comes out 0 (held at the bound or a rounding residue), α and A as generated.
    const pure = logSpaced(1e6, 1e9, 8).map((x) => ({ x, loss: (8.8e13 / x) ** 0.076 }));
    const fitPure = irreducibleFit(fitPowerLawWithIrreducibleLoss(pure));
    assert.ok(fitPure.irreducible >= 0 && fitPure.irreducible < 1e-9, `E = ${fitPure.irreducible}`);
    relativeClose(fitPure.alpha, 0.076, 1e-8, "α");
    relativeClose(fitPure.coefficient, 8.8e13 ** 0.076, 1e-8, "A");
    if (fitPure.irreducibleAtBound) {
      assert.equal(fitPure.irreducibleError, null);
      assert.match(fitPure.errorProblem ?? "", /^E is held at its bound 0/);
    }
  });

  test("a loss that wants E < 0 is held at E = 0 with errors for A and α only", () => {
    // L = 30 N^−0.3 − 0.05 would need E = −0.05.
    const points = logSpaced(1e3, 1e7, 8).map((x) => ({ x, loss: 30 * x ** -0.3 - 0.05 }));
    const fit = irreducibleFit(fitPowerLawWithIrreducibleLoss(points));
    assert.equal(fit.irreducible, 0);
    assert.equal(fit.irreducibleAtBound, true);
    assert.equal(fit.irreducibleError, null);
    assert.ok(fit.alphaError !== null && fit.alphaError > 0);
    assert.ok(fit.coefficientError !== null && fit.coefficientError > 0);
    assert.match(fit.errorProblem ?? "", /^E is held at its bound 0, so it has no standard error\.$/);
  });

  test("seeded noise: parameters within 4 standard errors, errors equal the raw-parameter Jacobian's, Monte-Carlo spread matches", () => {
    const sigma = 0.005;
    const xs = logSpaced(1e6, 1e10, 10);
    const noise = gaussian(7);
    const es: number[] = [];
    const as: number[] = [];
    const alphas: number[] = [];
    const errors2 = { e: [] as number[], a: [] as number[], alpha: [] as number[] };
    for (let trial = 0; trial < 300; trial++) {
      const losses = xs.map((x) => chinchilla(x) + sigma * noise());
      const fit = irreducibleFit(fitPowerLawWithIrreducibleLoss(xs.map((x, i) => ({ x, loss: losses[i]! }))));
      assert.equal(fit.irreducibleAtBound, false);
      if (trial < 3) {
        // The reported errors are s² (JᵀJ)⁻¹ at the optimum; the reference builds J in (E, A, α) directly and inverts
        // by cofactors. 1e-6: JᵀJ in raw parameters has a condition number near 1e8, so ~1e-8 of float64 is lost.
        const reference = referenceCovariance(xs, losses, fit.irreducible, fit.coefficient, fit.alpha);
        relativeClose(fit.irreducibleError, reference.e, 1e-6, "δE");
        relativeClose(fit.coefficientError, reference.a, 1e-6, "δA");
        relativeClose(fit.alphaError, reference.alpha, 1e-6, "δα");
        // One fit lies within 4 of its standard errors of the truth (normal tail 6e-5; seeded).
        assert.ok(Math.abs(fit.irreducible - E) <= 4 * fit.irreducibleError!, `E = ${fit.irreducible} ± ${fit.irreducibleError}`);
        assert.ok(Math.abs(fit.coefficient - A) <= 4 * fit.coefficientError!, `A = ${fit.coefficient} ± ${fit.coefficientError}`);
        assert.ok(Math.abs(fit.alpha - ALPHA) <= 4 * fit.alphaError!, `α = ${fit.alpha} ± ${fit.alphaError}`);
      }
      es.push(fit.irreducible);
      as.push(Math.log(fit.coefficient));
      alphas.push(fit.alpha);
      errors2.e.push(fit.irreducibleError! ** 2);
      errors2.a.push((fit.coefficientError! / fit.coefficient) ** 2);
      errors2.alpha.push(fit.alphaError! ** 2);
    }
    // 300 fits: the Monte-Carlo sd has relative standard error 1/√600 ≈ 4 %; the root-mean-square of the reported
    // errors (s² with 7 degrees of freedom) ≈ 2 %; the linearisation's bias at σ = 0.005 is a few %. 20 % is more
    // than 4 combined standard errors. A is compared on ln A (δ ln A = δA / A), which is closer to normal.
    const rms = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x, 0) / v.length);
    relativeClose(meanAndSd(es).sd, rms(errors2.e), 0.2, "E");
    relativeClose(meanAndSd(as).sd, rms(errors2.a), 0.2, "ln A");
    relativeClose(meanAndSd(alphas).sd, rms(errors2.alpha), 0.2, "α");
    // The estimates are centred on the truth: |mean − truth| within 4 sd / √300.
    assert.ok(Math.abs(meanAndSd(alphas).mean - ALPHA) <= (4 * meanAndSd(alphas).sd) / Math.sqrt(300));
    assert.ok(Math.abs(meanAndSd(es).mean - E) <= (4 * meanAndSd(es).sd) / Math.sqrt(300));
  });

  test("degenerate inputs each give their sentence", () => {
    const three = logSpaced(1e6, 1e8, 3).map((x) => ({ x, loss: chinchilla(x) }));
    assertFailed(fitPowerLawWithIrreducibleLoss(three), /^This fit needs at least 4 points; there are 3\.$/);
    const twoDistinct = [1e6, 1e6, 1e8, 1e8].map((x, i) => ({ x, loss: chinchilla(x) + i * 1e-3 }));
    assertFailed(fitPowerLawWithIrreducibleLoss(twoDistinct), /^This fit needs at least 3 different values of N; there are 2\.$/);
    assertFailed(fitPowerLawWithIrreducibleLoss([1, 2, 3, 4].map(() => ({ x: 1e6, loss: 3 }))), /^All points have the same N/);
    assertFailed(
      fitPowerLawWithIrreducibleLoss(logSpaced(1e6, 1e9, 5).map((x) => ({ x, loss: 2 + 1e-3 * Math.log(x) }))),
      /^The loss does not fall as N \(parameters\) grows \(its least-squares slope against ln N is 0\.00100\), so E \+ A \/ N\^α with A > 0 and α > 0 does not fit\.$/,
    );
    assertFailed(fitPowerLawWithIrreducibleLoss(logSpaced(1e6, 1e9, 5).map((x) => ({ x, loss: -1 }))), /^Point 0 has loss -1/);
    // A step (5 at the smallest N, 2 everywhere else) is fitted better and better as α grows: the range's upper end.
    assertFailed(
      fitPowerLawWithIrreducibleLoss(logSpaced(1e6, 1e9, 5).map((x, i) => ({ x, loss: i === 0 ? 5 : 2 }))),
      /^The best exponent α is the largest searched, 10, so these points do not determine E \+ A \/ N\^α\.$/,
    );
    // A loss falling faster and faster in ln N (concave) would want E → −∞ as α → 0; with E ≥ 0 it gets E = 0.
    const concave = irreducibleFit(fitPowerLawWithIrreducibleLoss(logSpaced(1e6, 1e9, 6).map((x) => ({ x, loss: 10 - 0.01 * Math.log(x) ** 2 }))));
    assert.equal(concave.irreducibleAtBound, true);
  });
});

describe("predictLoss", () => {
  test("the curve at a given scale, flagged when extrapolated", () => {
    const points = logSpaced(1e6, 1e9, 5).map((x) => ({ x, loss: (8.8e13 / x) ** 0.076 }));
    const fit = fitPowerLaw(points);
    const inside = predictLoss(fit, 3e7);
    close(inside.loss, (8.8e13 / 3e7) ** 0.076, 1e-12);
    assert.equal(inside.extrapolated, false);
    assert.equal(predictLoss(fit, 1e6).extrapolated, false); // the ends belong to the range
    assert.equal(predictLoss(fit, 1e9).extrapolated, false);
    const beyond = predictLoss(fit, 1e12);
    close(beyond.loss, (8.8e13 / 1e12) ** 0.076, 1e-12);
    assert.equal(beyond.extrapolated, true);
    assert.equal(predictLoss(fit, 1e5).extrapolated, true);
    assert.deepEqual(predictLoss(fit, 0), { loss: null, extrapolated: false, problem: "N = 0 is not a positive number." });

    const irreducible = fitPowerLawWithIrreducibleLoss(logSpaced(1e6, 1e10, 9).map((x) => ({ x, loss: 1.69 + 406.4 / x ** 0.34 })));
    const far = predictLoss(irreducible, 1e15);
    close(far.loss, 1.69 + 406.4 / 1e15 ** 0.34, 1e-9);
    assert.equal(far.extrapolated, true);

    const failedFit = fitPowerLaw([]);
    assert.deepEqual(predictLoss(failedFit, 1e6), { loss: null, extrapolated: false, problem: failedFit.problem });
  });
});

describe("perTokenScaling: each token's slope of loss against ln N", () => {
  test("hand example and a random check against the textbook slope formula", () => {
    // ln N = 0, 1, 2. Token 0: losses 3, 2, 1.5 → slope −3/4 (gains from scale). Token 1: constant → 0.
    // Token 2: one model did not score it → null.
    const members = [
      { parameters: 1, logprobs: [-3, -1, -2], tokenIds: [5, 6, 7] },
      { parameters: Math.E, logprobs: [-2, -1, null], tokenIds: [5, 6, 7] },
      { parameters: Math.E ** 2, logprobs: [-1.5, -1, -1], tokenIds: [5, 6, 7] },
    ];
    const result = perTokenScaling(members);
    assert.equal(result.problem, null);
    close(result.slopes[0], -0.75, 1e-15);
    assert.equal(result.slopes[1], 0);
    assert.equal(result.slopes[2], null);

    // Random: b = (n Σxy − Σx Σy) / (n Σx² − (Σx)²), written independently.
    const uniform = uniformRandom(3);
    const sizes = [3e5, 1e6, 4e6, 2e7, 1e8];
    const tokens = 50;
    const family = sizes.map((parameters) => ({ parameters, logprobs: Array.from({ length: tokens }, () => -5 * uniform()) }));
    const slopes = perTokenScaling(family).slopes;
    for (let t = 0; t < tokens; t++) {
      const x = sizes.map(Math.log);
      const y = family.map((m) => -m.logprobs[t]!);
      const n = x.length;
      const sx = x.reduce((a, b) => a + b, 0);
      const sy = y.reduce((a, b) => a + b, 0);
      const sxy = x.reduce((a, v, i) => a + v * y[i]!, 0);
      const sxx = x.reduce((a, v) => a + v * v, 0);
      // 1e-11: the textbook form cancels n Σx² against (Σx)² with ln N ≈ 15, losing ~3 digits.
      close(slopes[t], (n * sxy - sx * sy) / (n * sxx - sx * sx), 1e-11, `token ${t}`);
    }
  });

  test("degenerate families each give their sentence", () => {
    const member = (parameters: number, logprobs: number[], tokenIds?: number[]) => ({ parameters, logprobs, ...(tokenIds ? { tokenIds } : {}) });
    assert.deepEqual(perTokenScaling([member(1e6, [-1])]), { slopes: [], problem: "A slope needs at least two models; there is 1." });
    assert.match(perTokenScaling([member(1e6, [-1]), member(1e6, [-2])]).problem ?? "", /^All models have the same N, so no slope against ln N exists\.$/);
    assert.match(perTokenScaling([member(1e6, [-1]), member(0, [-2])]).problem ?? "", /^Model 1 has N = 0, but N must be positive\.$/);
    assert.match(perTokenScaling([member(1e6, [-1]), member(1e7, [-2, -3])]).problem ?? "", /^Model 1 has 2 tokens and model 0 has 1/);
    assert.match(perTokenScaling([member(1e6, [-1], [4]), member(1e7, [-2], [5])]).problem ?? "", /^Model 1 scored different token ids from model 0/);
  });
});
