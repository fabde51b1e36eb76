/**
 * Per-position statistics of logits, computed by ONNX nodes that the engine adds itself and runs in onnxruntime's
 * vectorised kernels. A JavaScript loop over the vocabulary (tokenDistribution.ts, float64) costs as much as the
 * model's own forward pass for a 4k vocabulary (Math.exp alone is several ns per entry) and grows with the vocabulary.
 *
 * Two ways to run them, chosen by OnnxCausalLm at load time:
 * - fused: the nodes are appended to the model's own graph (onnxEncoder.appendToGraph), so the logits never leave
 *   onnxruntime: the model returns a few numbers per position instead of a vocabulary-sized row;
 * - separate: a small session of the same nodes, fed the logits (models with external data or an opset below 13).
 *
 * For each scored row x (one position) and its target token t (see statsGraphParts for how few full passes it takes):
 *   logprob(t) = x_t − lse, lse = m + ln Σ_k exp(x_k − m), m = max_k x_k;   entropy H = −Σ_k p_k · logprob_k;
 *   rank(t) = 1 + #{k : x_k > x_t} (ties share the best rank);   top-k: the k largest logits (sorted; equal values:
 *   lower index first); for a vocabulary of known size, in two stages (the blocks with the k largest maxima, then TopK
 *   within them), which gives the same result.
 * The results are float32-accurate (|error| ≲ 1e-6 nats against float64, checked in the unit tests); a row whose
 * results are not finite (e.g. −inf logits) is recomputed in float64 by tokenDistribution.scorePosition.
 */
import * as ort from "onnxruntime-node";
import { encodeModel, FLOAT, INT64, FLOAT16, UINT8, type GraphParts } from "./onnxEncoder";
import { halfRowToFloat, scorePosition, type PositionScore } from "../../tokenDistribution";

/** The most alternatives a scoring may ask for (the engine refuses more). */
export const MAX_TOP_K = 100;

/** Prefix of every name the statistics add to a model's graph. */
export const STATS_PREFIX = "perplexity_lens_stats/";

export interface StatsNames {
  targets: string;
  firstRow: string;
  k: string;
  /** [1, rows, 3 + 2k] float: logprob of the target, −entropy, #{logits above the target's}, k top logprobs, k top ids. */
  packed: string;
}

export function statsNames(prefix: string): StatsNames {
  return {
    targets: `${prefix}targets`,
    firstRow: `${prefix}first_row`,
    k: `${prefix}k`,
    packed: `${prefix}packed`,
  };
}

/**
 * The block size of the two-stage top-k for a vocabulary of `vocab` entries, and whether the rows must be padded to a
 * multiple of it: a divisor of `vocab` near its square root when there is one (no padding pass), else ⌊√vocab⌋; at
 * least 8, and at most vocab / MAX_TOP_K so that MAX_TOP_K blocks never cover more than the row. Null for a
 * vocabulary too small for two stages to pay.
 */
export function topKBlocks(vocab: number): { block: number; padded: number } | null {
  const root = Math.sqrt(vocab);
  const most = Math.floor(vocab / MAX_TOP_K);
  let best: number | null = null;
  for (let b = Math.max(8, Math.floor(root / 4)); b <= Math.min(most, root * 4); b++) {
    if (vocab % b === 0 && (best === null || Math.abs(Math.log(b / root)) < Math.abs(Math.log(best / root)))) best = b;
  }
  if (best !== null) return { block: best, padded: vocab };
  const block = Math.min(Math.floor(root), most);
  return block < 8 ? null : { block, padded: Math.ceil(vocab / block) * block };
}

/**
 * Positions per forward pass unless the engine is told otherwise: as many as keep one chunk's logits within 8 Mi
 * floats (32 MiB), between 16 and 256 (256 for a 4k vocabulary, 65 for 128k).
 */
export function defaultChunkRows(vocab: number): number {
  return Math.max(16, Math.min(256, Math.floor((8 * 1024 * 1024) / vocab)));
}

export interface StatsGraphOptions {
  /** `logitsName` holds rows [first_row, seq) already (the model projected only those: fuseStatistics). */
  rowsSliced?: boolean;
}

/**
 * The statistics nodes over `logitsName` ([1, seq, vocab]): rows [first_row, seq) are scored against `targets`
 * ([1, seq − first_row, 1]), into one output, `packed` (StatsNames.packed).
 *
 * Each full pass over the logits costs about as much as any other, so the nodes make as few as they can: Softmax, one
 * subtraction, one product and its sum (entropy), one comparison and its count (rank), one block maximum (top-k);
 * everything else works on a few numbers per row:
 *   m = max_k x_k (the first of the top-k), p = Softmax(x), L = −ln p_argmax = ln Σ_k exp(x_k − m)
 *   logprob(t) = (x_t − m) − L;   −H = Σ_k p_k (x_k − m) − L (shifted by m, so that logits far from 0, such as GPT-2's
 *   around −80, lose no precision);   rank(t) = 1 + #{k : x_k > x_t};   top-k over x, logprobs (x − m) − L.
 * (Taking the rows in cache-sized groups, each through its own copy of the nodes, was tried and measured: no faster
 * for a 4k vocabulary, slower for 128k.)
 */
export function statsGraphParts(
  logitsName: string,
  logitsType: "float32" | "float16",
  prefix: string,
  vocab: number | null = null,
  options: StatsGraphOptions = {},
): GraphParts {
  const n = statsNames(prefix);
  const p = (s: string): string => `${prefix}${s}`;
  const nodes: GraphParts["nodes"] = [];
  const initializers: GraphParts["initializers"] = [
    { name: p("axis0"), dataType: INT64, dims: [1], values: [0] },
    { name: p("axis1"), dataType: INT64, dims: [1], values: [1] },
    { name: p("axis2"), dataType: INT64, dims: [1], values: [2] },
    { name: p("zero"), dataType: INT64, dims: [1], values: [0] },
    { name: p("one"), dataType: INT64, dims: [1], values: [1] },
    { name: p("minus_one"), dataType: INT64, dims: [1], values: [-1] },
    { name: p("end"), dataType: INT64, dims: [1], values: [2 ** 53 - 1] },
    { name: p("one_byte"), dataType: UINT8, dims: [1, 1], values: [1] },
  ];
  let logits = logitsName;
  if (logitsType === "float16") {
    nodes.push({ op: "Cast", inputs: [logitsName], outputs: [p("logits_float")], ints: { to: FLOAT }, name: p("cast") });
    logits = p("logits_float");
  }
  const x = options.rowsSliced ? logits : p("rows");
  if (!options.rowsSliced) nodes.push({ op: "Slice", inputs: [logits, n.firstRow, p("end"), p("axis1")], outputs: [x], name: p("slice_rows") });

  const blocks = vocab === null ? null : topKBlocks(vocab);
  if (blocks !== null) {
    initializers.push(
      { name: p("block_shape"), dataType: INT64, dims: [4], values: [0, 0, blocks.padded / blocks.block, blocks.block] },
      { name: p("axis3"), dataType: INT64, dims: [1], values: [3] },
      { name: p("block_expand"), dataType: INT64, dims: [4], values: [1, 1, 1, blocks.block] },
      { name: p("candidate_shape"), dataType: INT64, dims: [3], values: [0, 0, -1] },
      { name: p("block_size"), dataType: INT64, dims: [], values: [blocks.block] },
    );
    if (blocks.padded > vocab!) {
      initializers.push(
        { name: p("pads"), dataType: INT64, dims: [6], values: [0, 0, 0, 0, 0, blocks.padded - vocab!] },
        { name: p("pad_value"), dataType: FLOAT, dims: [], values: [-3.4e38] },
      );
    }
  }

  // Top-k of the logits themselves (the same order as the logprobs, without rounding ties into them).
  if (blocks === null) {
    nodes.push({ op: "TopK", inputs: [x, n.k], outputs: [p("top_x"), p("top_indices")], ints: { axis: -1, largest: 1, sorted: 1 }, name: p("top_k") });
  } else {
    // Two-stage top-k (a full TopK over the vocabulary costs as much as the output projection): the k best entries
    // lie in the k blocks with the largest maxima, so take those blocks, in vocabulary order (ties then resolve to
    // the lower id, as a full TopK does), and run TopK over their k · block entries only.
    let source = x;
    if (blocks.padded > vocab!) {
      nodes.push({ op: "Pad", inputs: [x, p("pads"), p("pad_value")], outputs: [p("rows_padded")], name: p("pad") });
      source = p("rows_padded");
    }
    nodes.push(
      { op: "Reshape", inputs: [source, p("block_shape")], outputs: [p("blocks")], name: p("reshape_blocks") },
      { op: "ReduceMax", inputs: [p("blocks")], outputs: [p("block_max")], intLists: { axes: [3] }, ints: { keepdims: 0 }, name: p("block_max") },
      {
        op: "TopK",
        inputs: [p("block_max"), n.k],
        outputs: [p("best_block_max"), p("best_blocks")],
        ints: { axis: -1, largest: 1, sorted: 1 },
        name: p("top_blocks"),
      },
      {
        op: "TopK",
        inputs: [p("best_blocks"), n.k],
        outputs: [p("blocks_in_order"), p("unused_order")],
        ints: { axis: -1, largest: 0, sorted: 1 },
        name: p("order_blocks"),
      },
      { op: "Unsqueeze", inputs: [p("blocks_in_order"), p("axis3")], outputs: [p("blocks_in_order4")], name: p("unsqueeze_blocks") },
      { op: "Expand", inputs: [p("blocks_in_order4"), p("block_expand")], outputs: [p("block_index")], name: p("expand_blocks") },
      { op: "GatherElements", inputs: [p("blocks"), p("block_index")], outputs: [p("chosen")], ints: { axis: 2 }, name: p("gather_blocks") },
      { op: "Reshape", inputs: [p("chosen"), p("candidate_shape")], outputs: [p("candidates")], name: p("reshape_candidates") },
      { op: "TopK", inputs: [p("candidates"), n.k], outputs: [p("top_x"), p("candidate_index")], ints: { axis: -1, largest: 1, sorted: 1 }, name: p("top_k") },
      { op: "Div", inputs: [p("candidate_index"), p("block_size")], outputs: [p("slot")], name: p("slot") },
      { op: "Mod", inputs: [p("candidate_index"), p("block_size")], outputs: [p("within")], name: p("within") },
      { op: "GatherElements", inputs: [p("blocks_in_order"), p("slot")], outputs: [p("block_of")], ints: { axis: 2 }, name: p("block_of") },
      { op: "Mul", inputs: [p("block_of"), p("block_size")], outputs: [p("block_start")], name: p("block_start") },
      { op: "Add", inputs: [p("block_start"), p("within")], outputs: [p("top_indices")], name: p("top_index") },
    );
  }
  nodes.push(
    // m, the argmax, and L = −ln p_argmax = ln Σ exp(x − m) from the softmax
    { op: "Slice", inputs: [p("top_x"), p("zero"), p("one"), p("axis2")], outputs: [p("max")], name: p("max") },
    { op: "Slice", inputs: [p("top_indices"), p("zero"), p("one"), p("axis2")], outputs: [p("argmax")], name: p("argmax") },
    { op: "Softmax", inputs: [x], outputs: [p("probs")], ints: { axis: -1 }, name: p("softmax") },
    { op: "GatherElements", inputs: [p("probs"), p("argmax")], outputs: [p("p_max")], ints: { axis: 2 }, name: p("p_max") },
    { op: "Log", inputs: [p("p_max")], outputs: [p("neg_l")], name: p("neg_l") },
    // logprob = (x − m) − L: x − m is exact near the maximum, and L is small, so nothing is lost to the magnitude of m
    { op: "GatherElements", inputs: [x, n.targets], outputs: [p("target_logit")], ints: { axis: 2 }, name: p("gather_target_logit") },
    { op: "Sub", inputs: [p("target_logit"), p("max")], outputs: [p("target_shifted")], name: p("target_shifted") },
    { op: "Add", inputs: [p("target_shifted"), p("neg_l")], outputs: [p("target_logprob")], name: p("target_logprob") },
    { op: "Sub", inputs: [p("top_x"), p("max")], outputs: [p("top_shifted")], name: p("top_shifted") },
    { op: "Add", inputs: [p("top_shifted"), p("neg_l")], outputs: [p("top_logprobs")], name: p("top_logprobs") },
    // −H = Σ p (x − m) − L
    { op: "Sub", inputs: [x, p("max")], outputs: [p("shifted")], name: p("shifted") },
    { op: "Mul", inputs: [p("probs"), p("shifted")], outputs: [p("p_shifted")], name: p("p_shifted") },
    { op: "ReduceSum", inputs: [p("p_shifted"), p("axis2")], outputs: [p("mean_shifted")], ints: { keepdims: 1 }, name: p("mean_shifted") },
    { op: "Add", inputs: [p("mean_shifted"), p("neg_l")], outputs: [p("neg_entropy")], name: p("neg_entropy") },
    // rank − 1 = #{k : x_k > x_t}, counted by an integer matrix product with a column of ones: one byte per entry
    // instead of the four of a float ReduceSum (measured: 17% less time for a 4k vocabulary, 46% less for 128k)
    { op: "Greater", inputs: [x, p("target_logit")], outputs: [p("above")], name: p("greater") },
    { op: "Cast", inputs: [p("above")], outputs: [p("above_bytes")], ints: { to: UINT8 }, name: p("cast_above") },
    { op: "Shape", inputs: [x], outputs: [p("rows_shape")], name: p("rows_shape") },
    { op: "Slice", inputs: [p("rows_shape"), p("minus_one"), p("end"), p("axis0")], outputs: [p("row_length")], name: p("row_length") },
    { op: "Concat", inputs: [p("row_length"), p("one")], outputs: [p("ones_shape")], ints: { axis: 0 }, name: p("ones_shape") },
    { op: "Expand", inputs: [p("one_byte"), p("ones_shape")], outputs: [p("ones")], name: p("ones") },
    { op: "MatMulInteger", inputs: [p("above_bytes"), p("ones")], outputs: [p("above_count_int")], name: p("count_above") },
    { op: "Cast", inputs: [p("above_count_int")], outputs: [p("above_count")], ints: { to: FLOAT }, name: p("cast_count") },
    // one output: ids as floats are exact below 2^24
    { op: "Cast", inputs: [p("top_indices")], outputs: [p("top_ids")], ints: { to: FLOAT }, name: p("cast_ids") },
    {
      op: "Concat",
      inputs: [p("target_logprob"), p("neg_entropy"), p("above_count"), p("top_logprobs"), p("top_ids")],
      outputs: [n.packed],
      ints: { axis: 2 },
      name: p("pack"),
    },
  );
  return {
    nodes,
    initializers,
    inputs: [
      { name: n.targets, elemType: INT64, shape: [1, p("rows"), 1] },
      { name: n.firstRow, elemType: INT64, shape: [1] },
      { name: n.k, elemType: INT64, shape: [1] },
    ],
    outputs: [{ name: n.packed, elemType: FLOAT, shape: [1, p("rows"), p("width")] }],
  };
}

/** The inputs that feed the statistics nodes. */
export function statsFeeds(
  names: StatsNames,
  firstRow: number,
  targets: readonly number[],
  topK: number,
  vocab: number,
): { feeds: Record<string, ort.Tensor>; k: number } {
  const k = Math.max(1, Math.min(topK, vocab));
  return {
    k,
    feeds: {
      [names.targets]: new ort.Tensor(
        "int64",
        BigInt64Array.from(targets, (t) => BigInt(t)),
        [1, targets.length, 1],
      ),
      [names.firstRow]: new ort.Tensor("int64", BigInt64Array.from([BigInt(firstRow)]), [1]),
      [names.k]: new ort.Tensor("int64", BigInt64Array.from([BigInt(k)]), [1]),
    },
  };
}

/** Per-row scores from the statistics output; null for a row whose values are not finite (to recompute in float64). */
export function readStats(out: ort.InferenceSession.ReturnType, names: StatsNames, rows: number, topK: number, k: number): Array<PositionScore | null> {
  const packed = out[names.packed]!.data as Float32Array;
  const width = 3 + 2 * k;
  if (packed.length !== rows * width) throw new Error(`internal: the statistics hold ${packed.length} values, expected ${rows} rows of ${width}`);
  const scores: Array<PositionScore | null> = [];
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    const logprob = packed[at]!;
    const entropy = -packed[at + 1]!;
    if (!Number.isFinite(logprob) || !Number.isFinite(entropy)) {
      scores.push(null);
      continue;
    }
    const top: { id: number; logprob: number }[] = [];
    for (let i = 0; i < Math.min(topK, k); i++) top.push({ id: packed[at + 3 + k + i]!, logprob: packed[at + 3 + i]! });
    scores.push({ logprob, prob: Math.exp(logprob), rank: packed[at + 2]! + 1, entropy: Math.max(0, entropy), top });
  }
  return scores;
}

/** Float64 scores of rows of a logits tensor (the reference, and the fallback for non-finite rows). */
export function scoreRowsFloat64(logits: ort.Tensor, firstRow: number, targets: readonly number[], vocab: number, topK: number): PositionScore[] {
  const rowLength = logits.dims[2]!;
  const data = logits.data as Float32Array | Uint16Array;
  const row = logits.type === "float16" ? new Float32Array(vocab) : null;
  return targets.map((target, r) => {
    const offset = (firstRow + r) * rowLength;
    return row !== null
      ? scorePosition(halfRowToFloat(data as Uint16Array, offset, vocab, row), 0, vocab, target, topK)
      : scorePosition(data as Float32Array, offset, vocab, target, topK);
  });
}

/** The statistics as their own session, fed logits that the model returned (when they cannot be fused). */
export class LogitsStats {
  private readonly names = statsNames("");

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly logitsType: "float32" | "float16",
  ) {}

  static model(logitsType: "float32" | "float16"): Uint8Array {
    const parts = statsGraphParts("logits", logitsType, "");
    return encodeModel({
      ...parts,
      inputs: [{ name: "logits", elemType: logitsType === "float16" ? FLOAT16 : FLOAT, shape: [1, "seq", "vocab"] }, ...parts.inputs],
    });
  }

  static async create(logitsType: "float32" | "float16", threads: number): Promise<LogitsStats> {
    const session = await ort.InferenceSession.create(LogitsStats.model(logitsType), {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, threads),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      logSeverityLevel: 4,
    });
    return new LogitsStats(session, logitsType);
  }

  /** Scores rows [firstRow, firstRow + targets.length) of `logits` ([1, seq, rowLength]), using the first `vocab` entries of each row. */
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
    const { feeds, k } = statsFeeds(this.names, 0, targets, topK, vocab);
    feeds["logits"] = new ort.Tensor(this.logitsType, view as Float32Array, [1, rows, vocab]);
    const out = await this.session.run(feeds);
    const scores = readStats(out, this.names, rows, topK, k);
    for (const t of Object.values(out)) t.dispose();
    const exact = scores.some((s) => s === null) ? scoreRowsFloat64(logits, firstRow, targets, vocab, topK) : null;
    return scores.map((s, r) => s ?? exact![r]!);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
