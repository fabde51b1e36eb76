/**
 * Scaling-law fits of a loss L against a scale x: model size N (non-embedding parameters), data D (training tokens)
 * or compute C ≈ 6·N·D (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1: about 6 floating-point
 * operations per parameter per training token, forward and backward pass).
 *
 * - {@link fitPowerLaw}: L(x) = (x_c / x)^α, Kaplan et al.'s form (their eq. 1.1–1.3), fitted by ordinary least
 *   squares on ln L = α ln x_c − α ln x. Standard errors are the OLS ones with s² = SSR / (n − 2); x_c's comes from
 *   ln x_c = −a / b (a, b the intercept and slope) by the delta method.
 * - {@link fitPowerLawWithIrreducibleLoss}: L(x) = E + A / x^α, the one-variable form with an irreducible loss E
 *   (Henighan et al. 2020, Hoffmann et al. 2022 eq. 2), by nonlinear least squares on L with E ≥ 0, A > 0, α > 0:
 *   for fixed α the model is linear in (E, A), so the fit searches α alone (variable projection) and solves the
 *   constrained linear least squares for (E, A) at each α. Standard errors: Cov = s² (JᵀJ)⁻¹ with J the Jacobian of
 *   the model at the optimum and s² = SSR / (n − p).
 * - {@link predictLoss}, {@link perTokenScaling}: the fitted curve at a given scale, and each token's slope of loss
 *   against ln N across a family of models.
 *
 * A fit that cannot be made returns `problem`, one sentence, and no numbers; a number that cannot be computed (a
 * standard error from too few points) is null with the reason in `errorProblem`. Never NaN or Infinity.
 */

/** What the loss is a function of: parameters, training tokens or training compute. */
export type ScalingVariable = "N" | "D" | "C";

/** One measurement: the scale (N, D or C) and the loss there (nats per token). */
export interface ScalingPoint {
  x: number;
  loss: number;
}

interface FitBase {
  variable: ScalingVariable;
  /** The name of the fitted scale constant, as in Kaplan et al.: N_c, D_c or C_c. */
  scaleName: string;
  points: number;
  /** The smallest and largest x fitted; a prediction outside is an extrapolation. */
  range: { min: number; max: number };
  /** Why some standard error is null; null when all are there. */
  errorProblem: string | null;
  problem: null;
}

/** L(x) = (x_c / x)^α fitted on ln L. */
export interface PowerLawFit extends FitBase {
  form: "powerLaw";
  alpha: number;
  alphaError: number | null;
  /** x_c (N_c, D_c or C_c): the scale at which the fitted loss is 1 nat. */
  scale: number;
  /** Standard error of x_c: x_c · δ(ln x_c) (delta method). */
  scaleError: number | null;
  /** Standard error of ln x_c. */
  logScaleError: number | null;
  /** 1 − SSR/SST of ln L (the scale the fit minimises). */
  rSquared: number | null;
  /** s = √(SSR / (n − 2)) of ln L; null for two points. */
  residualStandardDeviation: number | null;
}

/** L(x) = E + A / x^α fitted on L. */
export interface IrreducibleLossFit extends FitBase {
  form: "irreducible";
  /** E, the loss the curve approaches as x → ∞. */
  irreducible: number;
  /** Null when E is at its bound 0 (the constraint is active, so the Jacobian's error does not apply to it). */
  irreducibleError: number | null;
  /** Whether the unconstrained fit wanted E < 0 and E was held at 0 (the data look like a pure power law). */
  irreducibleAtBound: boolean;
  /** A. */
  coefficient: number;
  coefficientError: number | null;
  alpha: number;
  alphaError: number | null;
  /** 1 − SSR/SST of L. */
  rSquared: number | null;
  /** s = √(SSR / (n − p)) of L, p = 3 (2 with E at its bound). */
  residualStandardDeviation: number | null;
}

/** A fit that could not be made, and why. */
export interface FailedScalingFit {
  form: "powerLaw" | "irreducible";
  variable: ScalingVariable;
  points: number;
  problem: string;
}

export type PowerLawResult = PowerLawFit | FailedScalingFit;
export type IrreducibleLossResult = IrreducibleLossFit | FailedScalingFit;

// ---------------------------------------------------------------------------------------------------- checks

const VARIABLE_WORDS: Record<ScalingVariable, string> = { N: "N (parameters)", D: "D (tokens)", C: "C (compute)" };

function scaleName(variable: ScalingVariable): string {
  return `${variable}_c`;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** The first reason the points cannot be fitted on log scales, or null. */
function pointsProblem(points: readonly ScalingPoint[], variable: ScalingVariable, fewest: number, fewestDistinct: number): string | null {
  if (points.length < fewest) return `This fit needs at least ${fewest} points; there ${points.length === 1 ? "is" : "are"} ${points.length}.`;
  for (let i = 0; i < points.length; i++) {
    const { x, loss } = points[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(loss)) return `Point ${i} has a non-finite ${variable} or loss.`;
    if (x <= 0) return `Point ${i} has ${variable} = ${x}, but ${variable} must be positive (the fit works on ln ${variable}).`;
    if (loss <= 0) return `Point ${i} has loss ${loss}, but losses must be positive (a power law never reaches 0).`;
  }
  const distinct = new Set(points.map((p) => p.x)).size;
  if (distinct === 1) return `All points have the same ${VARIABLE_WORDS[variable]}, so no exponent can be fitted.`;
  if (distinct < fewestDistinct) return `This fit needs at least ${fewestDistinct} different values of ${variable}; there are ${distinct}.`;
  return null;
}

function failed(form: FailedScalingFit["form"], variable: ScalingVariable, points: number, problem: string): FailedScalingFit {
  return { form, variable, points, problem };
}

function rangeOf(points: readonly ScalingPoint[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const { x } of points) {
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  return { min, max };
}

function risingSentence(variable: ScalingVariable, alpha: number): string {
  return `The loss does not fall as ${VARIABLE_WORDS[variable]} grows (the fitted exponent α would be ${alpha.toPrecision(3)}), so no decreasing power law fits.`;
}

function notFallingSentence(variable: ScalingVariable, slope: number): string {
  return `The loss does not fall as ${VARIABLE_WORDS[variable]} grows (its least-squares slope against ln ${variable} is ${slope.toPrecision(3)}), so E + A / ${variable}^α with A > 0 and α > 0 does not fit.`;
}

// ---------------------------------------------------------------------------------------------------- L = (x_c / x)^α

/** Ordinary least squares y = a + b t with its residual sum of squares and the centred sums. */
function ordinaryLeastSquares(
  t: readonly number[],
  y: readonly number[],
): { a: number; b: number; tMean: number; yMean: number; stt: number; ssr: number; sst: number } {
  const n = t.length;
  let tMean = 0;
  let yMean = 0;
  for (let i = 0; i < n; i++) {
    tMean += t[i]!;
    yMean += y[i]!;
  }
  tMean /= n;
  yMean /= n;
  let stt = 0;
  let sty = 0;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    const dt = t[i]! - tMean;
    const dy = y[i]! - yMean;
    stt += dt * dt;
    sty += dt * dy;
    sst += dy * dy;
  }
  const b = sty / stt;
  const a = yMean - b * tMean;
  let ssr = 0;
  for (let i = 0; i < n; i++) ssr += (y[i]! - a - b * t[i]!) ** 2;
  return { a, b, tMean, yMean, stt, ssr, sst };
}

/**
 * L(x) = (x_c / x)^α by least squares on ln L = a + b ln x (b = −α, a = α ln x_c). With s² = SSR / (n − 2):
 * δα = s / √Sxx; Var(a) = s² (1/n + x̄² / Sxx), Cov(a, b) = −x̄ s² / Sxx (Sxx = Σ(ln x − x̄)², x̄ the mean ln x);
 * ln x_c = −a / b, Var(ln x_c) = g Σ gᵀ with g = (−1/b, a/b²) (delta method), δx_c = x_c · δ(ln x_c).
 */
export function fitPowerLaw(points: readonly ScalingPoint[], variable: ScalingVariable = "N"): PowerLawResult {
  const problem = pointsProblem(points, variable, 2, 2);
  if (problem !== null) return failed("powerLaw", variable, points.length, problem);
  const n = points.length;
  const fit = ordinaryLeastSquares(
    points.map((p) => Math.log(p.x)),
    points.map((p) => Math.log(p.loss)),
  );
  const alpha = -fit.b;
  if (!(alpha > 0)) return failed("powerLaw", variable, n, risingSentence(variable, alpha));
  const logScale = -fit.a / fit.b;
  const scale = Math.exp(logScale);
  if (!Number.isFinite(scale))
    return failed("powerLaw", variable, n, `The fitted ${scaleName(variable)} = e^${logScale.toPrecision(4)} is beyond floating-point range.`);

  let alphaError: number | null = null;
  let logScaleError: number | null = null;
  let residualStandardDeviation: number | null = null;
  let errorProblem: string | null = null;
  if (n > 2) {
    const s2 = fit.ssr / (n - 2);
    residualStandardDeviation = Math.sqrt(s2);
    const varB = s2 / fit.stt;
    const varA = s2 * (1 / n + (fit.tMean * fit.tMean) / fit.stt);
    const covAB = (-fit.tMean * s2) / fit.stt;
    const gA = -1 / fit.b;
    const gB = fit.a / (fit.b * fit.b);
    alphaError = finiteOrNull(Math.sqrt(varB));
    logScaleError = finiteOrNull(Math.sqrt(Math.max(0, gA * gA * varA + gB * gB * varB + 2 * gA * gB * covAB)));
  } else {
    errorProblem = "Two points fit a power law exactly, so there is no residual to estimate standard errors from (three or more are needed).";
  }
  return {
    form: "powerLaw",
    variable,
    scaleName: scaleName(variable),
    points: n,
    range: rangeOf(points),
    errorProblem,
    problem: null,
    alpha,
    alphaError,
    scale,
    scaleError: logScaleError === null ? null : finiteOrNull(scale * logScaleError),
    logScaleError,
    rSquared: fit.sst > 0 ? 1 - fit.ssr / fit.sst : null,
    residualStandardDeviation,
  };
}

// ---------------------------------------------------------------------------------------------------- L = E + A / x^α

/** The exponents searched for the irreducible form: α in [ALPHA_MIN, ALPHA_MAX], on a grid in ln α, then refined. */
export const ALPHA_MIN = 1e-3;
export const ALPHA_MAX = 10;
const ALPHA_GRID = 400;

interface LinearPart {
  e: number;
  b: number;
  ssr: number;
  atBound: boolean;
}

/**
 * For a fixed exponent, the least squares L ≈ E + B z (z = (x / x_ref)^−α) with E ≥ 0, B ≥ 0: the unconstrained
 * solution when it is feasible, else the better of the two edges (E = 0, B = Σ zL / Σ z²; B = 0, E = mean L).
 */
function linearPart(z: Float64Array, loss: readonly number[]): LinearPart {
  const n = z.length;
  let zMean = 0;
  let lMean = 0;
  for (let i = 0; i < n; i++) {
    zMean += z[i]!;
    lMean += loss[i]!;
  }
  zMean /= n;
  lMean /= n;
  let szz = 0;
  let szl = 0;
  for (let i = 0; i < n; i++) {
    szz += (z[i]! - zMean) ** 2;
    szl += (z[i]! - zMean) * (loss[i]! - lMean);
  }
  const ssrOf = (e: number, b: number): number => {
    let ssr = 0;
    for (let i = 0; i < n; i++) ssr += (loss[i]! - e - b * z[i]!) ** 2;
    return ssr;
  };
  const b = szz > 0 ? szl / szz : 0;
  const e = lMean - b * zMean;
  if (b >= 0 && e >= 0) return { e, b, ssr: ssrOf(e, b), atBound: false };
  let zz = 0;
  let zl = 0;
  for (let i = 0; i < n; i++) {
    zz += z[i]! * z[i]!;
    zl += z[i]! * loss[i]!;
  }
  const onE0: LinearPart = { e: 0, b: Math.max(0, zl / zz), ssr: 0, atBound: true };
  onE0.ssr = ssrOf(0, onE0.b);
  const onB0: LinearPart = { e: lMean, b: 0, ssr: ssrOf(lMean, 0), atBound: false };
  return onE0.ssr <= onB0.ssr ? onE0 : onB0;
}

/** The inverse of a small symmetric matrix (Gauss–Jordan elimination, partial pivoting); null when it is singular. */
function invertSmall(matrix: number[][]): number[][] | null {
  const k = matrix.length;
  const a = matrix.map((row, i) => [...row, ...Array.from({ length: k }, (_, j) => (i === j ? 1 : 0))]);
  let scale = 0;
  for (const row of matrix) for (const v of row) scale = Math.max(scale, Math.abs(v));
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    if (!(Math.abs(a[pivot]![col]!) > scale * 1e-14)) return null;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    for (let j = 0; j < 2 * k; j++) a[col]![j]! /= p;
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r]![col]!;
      if (f === 0) continue;
      for (let j = 0; j < 2 * k; j++) a[r]![j]! -= f * a[col]![j]!;
    }
  }
  return a.map((row) => row.slice(k));
}

/**
 * L(x) = E + A / x^α by least squares on L, E ≥ 0, A > 0, α > 0; at least four points (three parameters and a degree
 * of freedom for the errors) at three or more different x. Internally A / x^α = B (x / x_ref)^−α with x_ref the
 * geometric mean of the x (A = B x_ref^α), which keeps the columns of the Jacobian of similar size.
 * The search: SSR(α) = min over (E, B) at 400 values of ln α from ln 0.001 to ln 10, then golden-section search
 * between the neighbours of the best; a best α at either end of that range is a problem (the data do not pin it down).
 * Errors: J_i = (1, z_i, −B z_i ln(x_i / x_ref)) for (E, B, α) (without the first column when E is held at 0),
 * Cov = s² (JᵀJ)⁻¹, s² = SSR / (n − p); δA from Cov by the delta method with ∂A/∂B = x_ref^α, ∂A/∂α = A ln x_ref.
 */
export function fitPowerLawWithIrreducibleLoss(points: readonly ScalingPoint[], variable: ScalingVariable = "N"): IrreducibleLossResult {
  const problem = pointsProblem(points, variable, 4, 3);
  if (problem !== null) return failed("irreducible", variable, points.length, problem);
  const n = points.length;
  const lnX = points.map((p) => Math.log(p.x));
  const loss = points.map((p) => p.loss);
  // A loss that does not fall on average (slope of L against ln x ≥ 0) cannot be E + A / x^α with A, α > 0.
  const trend = ordinaryLeastSquares(lnX, loss);
  if (!(trend.b < 0)) return failed("irreducible", variable, n, notFallingSentence(variable, trend.b));
  const logRef = trend.tMean;
  const u = lnX.map((v) => v - logRef);
  const z = new Float64Array(n);
  const profile = (logAlpha: number): LinearPart => {
    const alpha = Math.exp(logAlpha);
    for (let i = 0; i < n; i++) z[i] = Math.exp(-alpha * u[i]!);
    return linearPart(z, loss);
  };

  const lo = Math.log(ALPHA_MIN);
  const hi = Math.log(ALPHA_MAX);
  const step = (hi - lo) / (ALPHA_GRID - 1);
  let best = 0;
  let bestSsr = Infinity;
  for (let g = 0; g < ALPHA_GRID; g++) {
    const ssr = profile(lo + g * step).ssr;
    if (ssr < bestSsr) {
      bestSsr = ssr;
      best = g;
    }
  }
  if (best === 0 || best === ALPHA_GRID - 1) {
    const edge = best === 0 ? `the smallest searched, ${ALPHA_MIN}` : `the largest searched, ${ALPHA_MAX}`;
    return failed("irreducible", variable, n, `The best exponent α is ${edge}, so these points do not determine E + A / ${variable}^α.`);
  }
  // Golden-section search for the minimum of SSR(ln α) between the best grid point's neighbours.
  const ratio = (Math.sqrt(5) - 1) / 2;
  let left = lo + (best - 1) * step;
  let right = lo + (best + 1) * step;
  let c = right - ratio * (right - left);
  let d = left + ratio * (right - left);
  let fc = profile(c).ssr;
  let fd = profile(d).ssr;
  for (let iteration = 0; iteration < 200 && right - left > 1e-15 * Math.max(1, Math.abs(left)); iteration++) {
    if (fc <= fd) {
      right = d;
      d = c;
      fd = fc;
      c = right - ratio * (right - left);
      fc = profile(c).ssr;
    } else {
      left = c;
      c = d;
      fc = fd;
      d = left + ratio * (right - left);
      fd = profile(d).ssr;
    }
  }
  const logAlpha = fc <= fd ? c : d;
  const alpha = Math.exp(logAlpha);
  const part = profile(logAlpha);
  if (!(part.b > 0)) return failed("irreducible", variable, n, notFallingSentence(variable, trend.b));
  const coefficient = part.b * Math.exp(alpha * logRef);
  if (!Number.isFinite(coefficient))
    return failed("irreducible", variable, n, `The fitted coefficient A = B · ${variable}_ref^α is beyond floating-point range.`);

  // Standard errors from the Jacobian at the optimum.
  const columns: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = [z[i]!, -part.b * z[i]! * u[i]!];
    columns.push(part.atBound ? row : [1, ...row]);
  }
  const p = part.atBound ? 2 : 3;
  const jtj = Array.from({ length: p }, (_, r) => Array.from({ length: p }, (_, s) => columns.reduce((sum, row) => sum + row[r]! * row[s]!, 0)));
  const inverse = invertSmall(jtj);
  const s2 = part.ssr / (n - p);
  let errorProblem: string | null = part.atBound ? "E is held at its bound 0, so it has no standard error." : null;
  let irreducibleError: number | null = null;
  let coefficientError: number | null = null;
  let alphaError: number | null = null;
  if (inverse === null) {
    errorProblem = "The Jacobian at the optimum is singular, so the parameters' standard errors are not determined.";
  } else {
    const cov = (r: number, s: number): number => s2 * inverse[r]![s]!;
    const ib = part.atBound ? 0 : 1;
    const ia = ib + 1;
    if (!part.atBound) irreducibleError = finiteOrNull(Math.sqrt(Math.max(0, cov(0, 0))));
    alphaError = finiteOrNull(Math.sqrt(Math.max(0, cov(ia, ia))));
    const gB = Math.exp(alpha * logRef);
    const gAlpha = coefficient * logRef;
    coefficientError = finiteOrNull(Math.sqrt(Math.max(0, gB * gB * cov(ib, ib) + gAlpha * gAlpha * cov(ia, ia) + 2 * gB * gAlpha * cov(ib, ia))));
  }
  let sst = 0;
  const lMean = loss.reduce((a, b) => a + b, 0) / n;
  for (const l of loss) sst += (l - lMean) ** 2;
  return {
    form: "irreducible",
    variable,
    scaleName: scaleName(variable),
    points: n,
    range: rangeOf(points),
    errorProblem,
    problem: null,
    irreducible: part.e,
    irreducibleError,
    irreducibleAtBound: part.atBound,
    coefficient,
    coefficientError,
    alpha,
    alphaError,
    rSquared: sst > 0 ? 1 - part.ssr / sst : null,
    residualStandardDeviation: Math.sqrt(s2),
  };
}

// ---------------------------------------------------------------------------------------------------- using the fits

export interface LossPrediction {
  /** The fitted curve's loss at x; null with `problem` when there is none. */
  loss: number | null;
  /** Whether x lies outside the fitted range (the curve is extrapolated). */
  extrapolated: boolean;
  problem: string | null;
}

/** The fitted loss at `x`: (x_c / x)^α, or E + A / x^α (computed as E + exp(ln A − α ln x)). */
export function predictLoss(fit: PowerLawResult | IrreducibleLossResult, x: number): LossPrediction {
  if (fit.problem !== null) return { loss: null, extrapolated: false, problem: fit.problem };
  if (!Number.isFinite(x) || x <= 0) return { loss: null, extrapolated: false, problem: `${fit.variable} = ${x} is not a positive number.` };
  const extrapolated = x < fit.range.min || x > fit.range.max;
  const loss =
    fit.form === "powerLaw"
      ? Math.exp(fit.alpha * (Math.log(fit.scale) - Math.log(x)))
      : fit.irreducible + Math.exp(Math.log(fit.coefficient) - fit.alpha * Math.log(x));
  if (!Number.isFinite(loss)) return { loss: null, extrapolated, problem: `The fitted loss at ${fit.variable} = ${x} is beyond floating-point range.` };
  return { loss, extrapolated, problem: null };
}

/** Training compute C ≈ 6 · N · D floating-point operations (Kaplan et al. 2020, §2.1). */
export function trainingCompute(parameters: number, tokens: number): number {
  return 6 * parameters * tokens;
}

/** One training run: its parameters N, training tokens D and final loss. */
export interface TrainingRun {
  parameters: number;
  tokens: number;
  loss: number;
}

/** Points for L(N), L(D) or L(C) from training runs (C = trainingCompute(N, D)). */
export function scalingPoints(runs: readonly TrainingRun[], variable: ScalingVariable): ScalingPoint[] {
  return runs.map((run) => ({
    x: variable === "N" ? run.parameters : variable === "D" ? run.tokens : trainingCompute(run.parameters, run.tokens),
    loss: run.loss,
  }));
}

// ---------------------------------------------------------------------------------------------------- per token

/** One model of a size family, scored on the same tokens. */
export interface ScalingMember {
  /** N, the model's (non-embedding) parameters. */
  parameters: number;
  /** ln p(token) per position; null where the token was not scored. */
  logprobs: readonly (number | null)[];
  /** The scored token ids, to check every member saw the same tokens. */
  tokenIds?: readonly number[];
}

export interface PerTokenScaling {
  /**
   * Per position, the least-squares slope of the token's loss (−ln p) against ln N across the members, in nats per
   * e-fold of N: negative where the larger models predict the token better ("gain from scale"). Null where some
   * member has no finite log-probability.
   */
  slopes: (number | null)[];
  problem: string | null;
}

/** Slope_t = Σ_m (ln N_m − mean ln N)(ℓ_mt − mean ℓ_t) / Σ_m (ln N_m − mean ln N)², ℓ_mt = −ln p_m(token t). */
export function perTokenScaling(members: readonly ScalingMember[]): PerTokenScaling {
  const none = (problem: string): PerTokenScaling => ({ slopes: [], problem });
  if (members.length < 2) return none(`A slope needs at least two models; there ${members.length === 1 ? "is" : "are"} ${members.length}.`);
  const first = members[0]!;
  for (let m = 0; m < members.length; m++) {
    const member = members[m]!;
    if (!Number.isFinite(member.parameters) || member.parameters <= 0) return none(`Model ${m} has N = ${member.parameters}, but N must be positive.`);
    if (member.logprobs.length !== first.logprobs.length)
      return none(`Model ${m} has ${member.logprobs.length} tokens and model 0 has ${first.logprobs.length}; they must score the same tokens.`);
    if (member.tokenIds !== undefined && first.tokenIds !== undefined) {
      if (member.tokenIds.length !== first.tokenIds.length || member.tokenIds.some((id, i) => id !== first.tokenIds![i])) {
        return none(`Model ${m} scored different token ids from model 0; the models must share a tokenizer and a text.`);
      }
    }
  }
  const lnN = members.map((member) => Math.log(member.parameters));
  const mean = lnN.reduce((a, b) => a + b, 0) / lnN.length;
  const centred = lnN.map((v) => v - mean);
  const snn = centred.reduce((a, v) => a + v * v, 0);
  if (!(snn > 0)) return none("All models have the same N, so no slope against ln N exists.");
  const slopes: (number | null)[] = [];
  const losses = new Float64Array(members.length);
  for (let t = 0; t < first.logprobs.length; t++) {
    let ok = true;
    let lossMean = 0;
    for (let m = 0; m < members.length && ok; m++) {
      const logprob = members[m]!.logprobs[t];
      if (logprob === null || logprob === undefined || !Number.isFinite(logprob)) ok = false;
      else {
        losses[m] = -logprob;
        lossMean += -logprob;
      }
    }
    if (!ok) {
      slopes.push(null);
      continue;
    }
    lossMean /= members.length;
    let sum = 0;
    for (let m = 0; m < members.length; m++) sum += centred[m]! * (losses[m]! - lossMean);
    slopes.push(sum / snn);
  }
  return { slopes, problem: null };
}
