/**
 * Fusing the per-token statistics (logitsStats.ts) into a model's graph, so onnxruntime computes log-probabilities,
 * ranks, entropy and top-k next to the logits instead of copying vocabulary-sized rows into JavaScript.
 */
import { opsetVersion, parseOnnxModel } from "./onnxProto";
import { hasExternalData } from "./graphChecks";
import { appendToGraph, encodeGraphFields, INT64, rewriteGraph, type GraphParts } from "./onnxEncoder";
import { statsGraphParts, statsNames, STATS_PREFIX } from "./logitsStats";

/** A model with the statistics nodes fused in (fuseStatistics). */
export interface FusedModel {
  bytes: Uint8Array;
  /**
   * Whether the rows to score are chosen before the output projection (the logits MatMul then runs on those rows
   * only, and the `logits` output holds rows [first_row, seq)); otherwise they are sliced out of the full logits.
   */
  rowsBeforeHead: boolean;
}

/**
 * The model bytes with the statistics nodes appended after its logits, or null when that is not possible: external
 * weights (bytes cannot name their side files), a default-domain opset below 13, a logits output that is not
 * float32/float16, or names already taken.
 *
 * When the logits come straight from a MatMul (the output projection of GPT-2, Llama and most exports), that node is
 * replaced by one that multiplies only the rows to score: a chunk of context positions (the first part of every
 * sliding window) then skips the projection, the largest matrix of a small model, and nothing vocabulary-sized is
 * copied to pick the rows.
 */
export function fuseStatistics(bytes: Uint8Array): FusedModel | null {
  const proto = parseOnnxModel(bytes);
  const opset = opsetVersion(proto);
  if (opset === null || opset < 13) return null;
  if (hasExternalData(proto)) return null;
  const logits = proto.graph.outputs.find((o) => o.name === "logits");
  if (!logits || (logits.elemType !== 1 && logits.elemType !== 10)) return null;
  if (proto.graph.nodes.some((n) => n.name.startsWith(STATS_PREFIX)) || proto.graph.inputs.some((i) => i.name.startsWith(STATS_PREFIX))) return null;
  const vocabDim = logits.shape?.[2];
  const vocab = typeof vocabDim === "number" && vocabDim > 0 ? vocabDim : null;
  const head = proto.graph.nodes.find((n) => n.outputs.includes("logits"));
  const initializerNames = new Set(proto.graph.initializers.map((i) => i.name));
  const headOnRows =
    head !== undefined &&
    head.opType === "MatMul" &&
    head.domain === "" &&
    !head.hasAttributes &&
    head.outputs.length === 1 &&
    head.inputs.length === 2 &&
    !initializerNames.has(head.inputs[0]!);
  const stats = statsGraphParts("logits", logits.elemType === 10 ? "float16" : "float32", STATS_PREFIX, vocab, { rowsSliced: headOnRows });
  if (!headOnRows) return { bytes: appendToGraph(bytes, proto.graphField, encodeGraphFields(stats)), rowsBeforeHead: false };
  const names = statsNames(STATS_PREFIX);
  const rows = `${STATS_PREFIX}head_rows`;
  const parts: GraphParts = {
    nodes: [
      // Rows [first_row, seq) of the hidden states ([batch, seq, d] or [seq, d]: the second axis from the end).
      {
        op: "Slice",
        inputs: [head.inputs[0]!, names.firstRow, `${STATS_PREFIX}head_end`, `${STATS_PREFIX}head_axis`],
        outputs: [rows],
        name: `${STATS_PREFIX}head_rows`,
      },
      { op: "MatMul", inputs: [rows, head.inputs[1]!], outputs: ["logits"], name: `${STATS_PREFIX}lm_head` },
      ...stats.nodes,
    ],
    initializers: [
      { name: `${STATS_PREFIX}head_end`, dataType: INT64, dims: [1], values: [2 ** 53 - 1] },
      { name: `${STATS_PREFIX}head_axis`, dataType: INT64, dims: [1], values: [-2] },
      ...stats.initializers,
    ],
    inputs: stats.inputs,
    outputs: stats.outputs,
  };
  return { bytes: rewriteGraph(bytes, proto.graphField, [head.field], encodeGraphFields(parts)), rowsBeforeHead: true };
}
