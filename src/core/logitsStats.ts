/**
 * Per-position statistics of a chunk of logits, computed by a small ONNX graph that the engine builds itself and runs
 * in onnxruntime's vectorised kernels. A JavaScript loop over the vocabulary (tokenDistribution.ts, float64) costs as
 * much as the model's own forward pass for a 4k vocabulary (Math.exp alone is several ns per entry) and grows with the
 * vocabulary; the graph costs a fraction of it (figures in BENCHMARKS.md).
 *
 * For each row x (one position) and its target token t:
 *   ls = LogSoftmax(x) = x − (m + ln Σ_k exp(x_k − m)), m = max_k x_k   (onnxruntime's stable kernel, float32)
 *   logprob(t) = ls_t;   entropy H = −Σ_k exp(ls_k) · ls_k;   rank(t) = 1 + #{k : x_k > x_t} (ties share the best rank)
 *   top-k: TopK(ls) (largest, sorted; equal values: lower index first).
 * The results are float32-accurate (|error| ≲ 1e-6 nats against a float64 computation, checked in the unit tests);
 * a row whose results are not finite (e.g. −inf logits) is recomputed in float64 by tokenDistribution.scorePosition.
 */
import * as ort from "onnxruntime-node";
import { encodeModel, FLOAT, INT64, FLOAT16, type NodeSpec } from "./onnxEncoder";
import { halfRowToFloat, scorePosition, type PositionScore } from "./tokenDistribution";

/** The statistics graph for logits of the given element type ("float32" or "float16"). */
export function logitsStatsModel(logitsType: "float32" | "float16"): Uint8Array {
  const source = logitsType === "float16" ? "logitsHalf" : "logits";
  const nodes: NodeSpec[] = [
    ...(logitsType === "float16" ? [{ op: "Cast", inputs: ["logitsHalf"], outputs: ["logits"], ints: { to: FLOAT } }] : []),
    { op: "LogSoftmax", inputs: ["logits"], outputs: ["logprobs"], ints: { axis: -1 } },
    { op: "GatherElements", inputs: ["logprobs", "targets"], outputs: ["targetLogprob"], ints: { axis: 2 } },
    { op: "Exp", inputs: ["logprobs"], outputs: ["probs"] },
    { op: "Mul", inputs: ["probs", "logprobs"], outputs: ["plogp"] },
    { op: "ReduceSum", inputs: ["plogp", "axis2"], outputs: ["negEntropy"], ints: { keepdims: 1 } },
    { op: "GatherElements", inputs: ["logits", "targets"], outputs: ["targetLogit"], ints: { axis: 2 } },
    { op: "Greater", inputs: ["logits", "targetLogit"], outputs: ["above"] },
    { op: "Cast", inputs: ["above"], outputs: ["aboveFloat"], ints: { to: FLOAT } },
    { op: "ReduceSum", inputs: ["aboveFloat", "axis2"], outputs: ["aboveCount"], ints: { keepdims: 1 } },
    { op: "TopK", inputs: ["logprobs", "k"], outputs: ["topLogprobs", "topIndices"], ints: { axis: -1, largest: 1, sorted: 1 } },
  ];
  return encodeModel({
    nodes,
    initializers: [{ name: "axis2", dataType: INT64, dims: [1], values: [2] }],
    inputs: [
      { name: source, elemType: logitsType === "float16" ? FLOAT16 : FLOAT, shape: [1, "rows", "vocab"] },
      { name: "targets", elemType: INT64, shape: [1, "rows", 1] },
      { name: "k", elemType: INT64, shape: [1] },
    ],
    outputs: [
      { name: "targetLogprob", elemType: FLOAT, shape: [1, "rows", 1] },
      { name: "negEntropy", elemType: FLOAT, shape: [1, "rows", 1] },
      { name: "aboveCount", elemType: FLOAT, shape: [1, "rows", 1] },
      { name: "topLogprobs", elemType: FLOAT, shape: [1, "rows", "k"] },
      { name: "topIndices", elemType: INT64, shape: [1, "rows", "k"] },
    ],
  });
}

export class LogitsStats {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly logitsType: "float32" | "float16",
  ) {}

  static async create(logitsType: "float32" | "float16", threads: number): Promise<LogitsStats> {
    const session = await ort.InferenceSession.create(logitsStatsModel(logitsType), {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, threads),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    });
    return new LogitsStats(session, logitsType);
  }

  /**
   * Scores rows [firstRow, firstRow + targets.length) of `logits` ([1, rows, rowLength]) against `targets`, using the
   * first `vocab` entries of each row.
   */
  async scoreRows(logits: ort.Tensor, firstRow: number, targets: readonly number[], vocab: number, topK: number): Promise<PositionScore[]> {
    const rowLength = logits.dims[2]!;
    const rows = targets.length;
    if (rows === 0) return [];
    for (const t of targets) if (t < 0 || t >= vocab) throw new RangeError(`token id ${t} is outside the model's vocabulary of ${vocab}`);
    const source = logits.data as Float32Array | Uint16Array;
    let view: Float32Array | Uint16Array;
    if (vocab === rowLength) view = source.subarray(firstRow * rowLength, (firstRow + rows) * rowLength);
    else {
      // A padded logits row: keep the vocabulary part only.
      view = new (source.constructor as Float32ArrayConstructor)(rows * vocab) as Float32Array | Uint16Array;
      for (let r = 0; r < rows; r++) view.set(source.subarray((firstRow + r) * rowLength, (firstRow + r) * rowLength + vocab), r * vocab);
    }
    const k = Math.max(1, Math.min(topK, vocab));
    const feeds: Record<string, ort.Tensor> = {
      [this.logitsType === "float16" ? "logitsHalf" : "logits"]: new ort.Tensor(this.logitsType, view as Float32Array, [1, rows, vocab]),
      targets: new ort.Tensor("int64", BigInt64Array.from(targets, (t) => BigInt(t)), [1, rows, 1]),
      k: new ort.Tensor("int64", BigInt64Array.from([BigInt(k)]), [1]),
    };
    const out = await this.session.run(feeds);
    const targetLogprob = out["targetLogprob"]!.data as Float32Array;
    const negEntropy = out["negEntropy"]!.data as Float32Array;
    const aboveCount = out["aboveCount"]!.data as Float32Array;
    const topLogprobs = out["topLogprobs"]!.data as Float32Array;
    const topIndices = out["topIndices"]!.data as BigInt64Array;
    const scores: PositionScore[] = [];
    let row: Float32Array | null = null;
    for (let r = 0; r < rows; r++) {
      const logprob = targetLogprob[r]!;
      const entropy = -negEntropy[r]!;
      if (!Number.isFinite(logprob) || !Number.isFinite(entropy)) {
        // −inf logits make 0 · −inf terms: recompute this row exactly in float64.
        if (this.logitsType === "float16") {
          row ??= new Float32Array(vocab);
          scores.push(scorePosition(halfRowToFloat(source as Uint16Array, (firstRow + r) * rowLength, vocab, row), 0, vocab, targets[r]!, topK));
        } else scores.push(scorePosition(source as Float32Array, (firstRow + r) * rowLength, vocab, targets[r]!, topK));
        continue;
      }
      const top: { id: number; logprob: number }[] = [];
      for (let i = 0; i < Math.min(topK, k); i++) top.push({ id: Number(topIndices[r * k + i]!), logprob: topLogprobs[r * k + i]! });
      scores.push({ logprob, prob: Math.exp(logprob), rank: aboveCount[r]! + 1, entropy: Math.max(0, entropy), top });
    }
    for (const t of Object.values(out)) t.dispose();
    return scores;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
