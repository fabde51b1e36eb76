/**
 * One ONNX causal LM session (CPU execution provider only, no custom-op libraries) and the signature of its graph.
 *
 * Knows the Optimum / transformers.js names: inputs `input_ids`, `attention_mask` [batch, past+seq], `position_ids`,
 * `past_key_values.{i}.key/.value` [batch, kv_heads, past, head_dim], `use_cache_branch` (merged decoders) and the LoRA
 * feed inputs `lora.{i}.{module}.A/.B`; outputs `logits` and `present.{i}.key/.value`. Other outputs are ignored.
 * onnxruntime silently ignores feeds it does not know, so every feed is built from the session's own input list and
 * an input this class cannot feed is refused at load time.
 */
import * as fs from "node:fs";
import * as ort from "onnxruntime-node";
import type { ArchitectureSpec } from "./architecture";
import { allInitializers, opsetVersion, parseOnnxModel } from "./onnxProto";
import { appendToGraph, encodeGraphFields, INT64, rewriteGraph, type GraphParts } from "./onnxEncoder";
import { readStats, statsFeeds, statsGraphParts, statsNames, STATS_PREFIX, type StatsNames } from "./logitsStats";
import type { PositionScore } from "./tokenDistribution";
import type { Logger } from "./logger";
import { silentLogger } from "./logger";

export type KvDtype = "float32" | "float16";

export class OnnxModelError extends Error {}

export interface GraphSignature {
  inputNames: string[];
  outputNames: string[];
  hasPast: boolean;
  hasAttentionMask: boolean;
  hasPositionIds: boolean;
  hasUseCacheBranch: boolean;
  /** Element type of input_ids / attention_mask / position_ids ("int64" or "int32"). */
  idType: "int64" | "int32";
  maskType: "int64" | "int32";
  positionType: "int64" | "int32";
  kvDtype: KvDtype;
  numLayers: number;
  kvHeads: number;
  headDim: number;
  /** Logits element type. */
  logitsType: "float32" | "float16";
  /** Vocabulary size declared by the logits output, when the graph states it. */
  logitsVocab: number | null;
  /** LoRA feed inputs (`lora.{i}.{module}.A|B`), in graph order. */
  loraInputs: string[];
  /** Whether the per-token statistics nodes (logitsStats.ts) were appended to this graph. */
  fusedStats: boolean;
  /** Whether the fused graph projects only the rows [first_row, seq) to logits (FusedModel.rowsBeforeHead). */
  rowsBeforeHead: boolean;
}

/** Keys and values of a run of tokens: `tensors` is [key0, value0, key1, value1, …], each [1, kv_heads, length, head_dim]. */
export interface KvState {
  tensors: ort.Tensor[];
  length: number;
}

/** Rows of this chunk to score with the fused statistics: rows [firstRow, seq) against `targets`. */
export interface StatsRequest {
  firstRow: number;
  targets: readonly number[];
  topK: number;
  vocab: number;
}

export interface ForwardResult {
  /** [1, seq − logitsFirstRow, vocab], float32 or float16; null when not fetched (fused statistics). */
  logits: ort.Tensor | null;
  /** The chunk row that the first row of `logits` belongs to (0 unless the graph projects only the scored rows). */
  logitsFirstRow: number;
  /** Fused statistics of the requested rows (null entries: not finite, recompute in float64); null when not requested. */
  scores: Array<PositionScore | null> | null;
  /** Keys/values of past + this chunk; null when the graph has no past inputs. */
  present: KvState | null;
}

const PAST_RE = /^past_key_values\.(\d+)\.(key|value)$/;
const LORA_RE = /^lora\.(\d+)\.([A-Za-z0-9_]+)\.(A|B)$/;

function tensorMeta(session: ort.InferenceSession, name: string, inputs: boolean): ort.InferenceSession.TensorValueMetadata | null {
  const list = inputs ? session.inputMetadata : session.outputMetadata;
  const meta = list.find((m) => m.name === name);
  return meta !== undefined && meta.isTensor ? meta : null;
}

function intType(meta: ort.InferenceSession.TensorValueMetadata | null, what: string, file: string): "int64" | "int32" {
  if (meta === null || meta.type === "int64") return "int64";
  if (meta.type === "int32") return "int32";
  throw new OnnxModelError(`${file} declares ${what} as ${meta.type}, expected int64 or int32.`);
}

/** Reads the graph's signature from the session and checks it against the config. */
export function readSignature(session: ort.InferenceSession, spec: ArchitectureSpec, file: string): GraphSignature {
  const inputNames = [...session.inputNames];
  const outputNames = [...session.outputNames];
  if (!inputNames.includes("input_ids")) throw new OnnxModelError(`${file} has no input_ids input (its inputs are ${inputNames.join(", ")}).`);
  if (!outputNames.includes("logits")) throw new OnnxModelError(`${file} has no logits output (its outputs are ${outputNames.join(", ")}).`);
  const pastLayers = new Set<number>();
  const loraInputs: string[] = [];
  const fusedStats = inputNames.some((name) => name.startsWith(STATS_PREFIX));
  for (const name of inputNames) {
    if (name === "input_ids" || name === "attention_mask" || name === "position_ids" || name === "use_cache_branch") continue;
    if (fusedStats && name.startsWith(STATS_PREFIX)) continue;
    const past = PAST_RE.exec(name);
    if (past) {
      pastLayers.add(Number(past[1]));
      continue;
    }
    if (LORA_RE.test(name)) {
      loraInputs.push(name);
      continue;
    }
    throw new OnnxModelError(
      `${file} has an input "${name}" that Perplexity Lens cannot feed (expected input_ids, attention_mask, position_ids, past_key_values.{i}.key/.value, use_cache_branch or lora.{i}.{module}.A/.B).`,
    );
  }
  const hasPast = pastLayers.size > 0;
  let kvDtype: KvDtype = "float32";
  let kvHeads = spec.numKvHeads;
  let headDim = spec.headDim;
  if (hasPast) {
    if (pastLayers.size !== spec.numLayers) throw new OnnxModelError(`${file} has past_key_values for ${pastLayers.size} layers but config.json says ${spec.numLayers}.`);
    for (let i = 0; i < spec.numLayers; i++) {
      for (const kv of ["key", "value"]) {
        if (!inputNames.includes(`past_key_values.${i}.${kv}`)) throw new OnnxModelError(`${file} lacks the input past_key_values.${i}.${kv}.`);
        if (!outputNames.includes(`present.${i}.${kv}`)) throw new OnnxModelError(`${file} lacks the output present.${i}.${kv} that goes with past_key_values.${i}.${kv}.`);
      }
    }
    const meta = tensorMeta(session, "past_key_values.0.key", true);
    if (meta !== null) {
      if (meta.type === "float16") kvDtype = "float16";
      else if (meta.type !== "float32") throw new OnnxModelError(`${file} declares past_key_values as ${meta.type}, expected float32 or float16.`);
      const heads = meta.shape[1];
      const dim = meta.shape[3];
      if (typeof heads === "number" && heads !== spec.numKvHeads) throw new OnnxModelError(`${file} has ${heads} key/value heads but config.json implies ${spec.numKvHeads}.`);
      if (typeof dim === "number" && dim !== spec.headDim) throw new OnnxModelError(`${file} has head dimension ${dim} but config.json implies ${spec.headDim}.`);
      if (typeof heads === "number") kvHeads = heads;
      if (typeof dim === "number") headDim = dim;
    }
  }
  const logitsMeta = tensorMeta(session, "logits", false);
  let logitsType: "float32" | "float16" = "float32";
  if (logitsMeta !== null && logitsMeta.type === "float16") logitsType = "float16";
  else if (logitsMeta !== null && logitsMeta.type !== "float32") throw new OnnxModelError(`${file} declares logits as ${logitsMeta.type}, expected float32 or float16.`);
  const vocabDim = logitsMeta?.shape[2];
  const logitsVocab = typeof vocabDim === "number" ? vocabDim : null;
  return {
    inputNames,
    outputNames,
    hasPast,
    hasAttentionMask: inputNames.includes("attention_mask"),
    hasPositionIds: inputNames.includes("position_ids"),
    hasUseCacheBranch: inputNames.includes("use_cache_branch"),
    idType: intType(tensorMeta(session, "input_ids", true), "input_ids", file),
    maskType: intType(tensorMeta(session, "attention_mask", true), "attention_mask", file),
    positionType: intType(tensorMeta(session, "position_ids", true), "position_ids", file),
    kvDtype,
    numLayers: spec.numLayers,
    kvHeads,
    headDim,
    logitsType,
    logitsVocab,
    loraInputs,
    fusedStats,
    rowsBeforeHead: false,
  };
}

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
  if (allInitializers(proto.graph).some((i) => i.external)) return null;
  const logits = proto.graph.outputs.find((o) => o.name === "logits");
  if (!logits || (logits.elemType !== 1 && logits.elemType !== 10)) return null;
  if (proto.graph.nodes.some((n) => n.name.startsWith(STATS_PREFIX)) || proto.graph.inputs.some((i) => i.name.startsWith(STATS_PREFIX))) return null;
  const vocabDim = logits.shape?.[2];
  const vocab = typeof vocabDim === "number" && vocabDim > 0 ? vocabDim : null;
  const head = proto.graph.nodes.find((n) => n.outputs.includes("logits"));
  const initializerNames = new Set(proto.graph.initializers.map((i) => i.name));
  const headOnRows = head !== undefined && head.opType === "MatMul" && head.domain === "" && !head.hasAttributes && head.outputs.length === 1 && head.inputs.length === 2 && !initializerNames.has(head.inputs[0]!);
  const stats = statsGraphParts("logits", logits.elemType === 10 ? "float16" : "float32", STATS_PREFIX, vocab, { rowsSliced: headOnRows });
  if (!headOnRows) return { bytes: appendToGraph(bytes, proto.graphField, encodeGraphFields(stats)), rowsBeforeHead: false };
  const names = statsNames(STATS_PREFIX);
  const rows = `${STATS_PREFIX}head_rows`;
  const parts: GraphParts = {
    nodes: [
      // Rows [first_row, seq) of the hidden states ([batch, seq, d] or [seq, d]: the second axis from the end).
      { op: "Slice", inputs: [head.inputs[0]!, names.firstRow, `${STATS_PREFIX}head_end`, `${STATS_PREFIX}head_axis`], outputs: [rows], name: `${STATS_PREFIX}head_rows` },
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

function intTensor(type: "int64" | "int32", values: ArrayLike<number>, dims: number[]): ort.Tensor {
  if (type === "int32") return new ort.Tensor("int32", Int32Array.from(values), dims);
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  return new ort.Tensor("int64", data, dims);
}

export interface SessionOptions {
  /** onnxruntime intra-op threads; 1 is fastest on small machines. */
  threads: number;
  logger?: Logger;
  /** Append the statistics nodes to the graph when possible (default true). */
  fuseStatistics?: boolean;
}

export class OnnxCausalLm {
  /** Extra feeds set by the LoRA feed path (`lora.*` inputs); zero-rank tensors ("no adapter") by default. */
  private readonly loraFeeds = new Map<string, ort.Tensor>();

  private readonly statsNames: StatsNames = statsNames(STATS_PREFIX);

  private constructor(
    private session: ort.InferenceSession,
    readonly signature: GraphSignature,
    readonly spec: ArchitectureSpec,
    readonly file: string,
  ) {
    this.resetLoraFeeds();
  }

  /** Creates a session from a file path or model bytes (bytes: for weights patched in memory). */
  static async load(source: string | Uint8Array, spec: ArchitectureSpec, options: SessionOptions, file = typeof source === "string" ? source : "the ONNX model"): Promise<OnnxCausalLm> {
    const logger = options.logger ?? silentLogger;
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, Math.floor(options.threads)),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
    const started = Date.now();
    let session: ort.InferenceSession | null = null;
    let rowsBeforeHead = false;
    if (options.fuseStatistics !== false) {
      try {
        const bytes = typeof source === "string" ? fs.readFileSync(source) : source;
        const fused = fuseStatistics(bytes);
        if (fused !== null) {
          session = await ort.InferenceSession.create(fused.bytes, sessionOptions);
          rowsBeforeHead = fused.rowsBeforeHead;
        }
      } catch (e) {
        // Not fatal: the statistics then run as their own session. A broken model fails below with its own error.
        logger.log("debug", `statistics not fused into ${file}: ${(e as Error).message}`);
      }
    }
    try {
      session ??= typeof source === "string" ? await ort.InferenceSession.create(source, sessionOptions) : await ort.InferenceSession.create(source, sessionOptions);
    } catch (e) {
      const full = String((e as Error).message ?? e);
      // An operator the CPU provider lacks (a custom op, or one from a newer opset) gets its own sentence: onnxruntime's
      // wording repeats the path and dumps the node.
      const missingOp = /No Op registered for (\S+) with domain_version of (\d+)/.exec(full);
      if (missingOp) {
        throw new OnnxModelError(`${file} uses the operator ${missingOp[1]} (opset ${missingOp[2]}), which onnxruntime's CPU execution provider does not have (custom-op libraries are never loaded).`);
      }
      const reason = full.split("\n")[0]!.trim();
      throw new OnnxModelError(`onnxruntime could not load ${file} (${reason.replace(/\.$/, "")}).`);
    }
    logger.log("debug", `session created in ${Date.now() - started} ms for ${file}`);
    try {
      return new OnnxCausalLm(session, { ...readSignature(session, spec, file), rowsBeforeHead }, spec, file);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Feeds for the LoRA inputs (feed path). Names must be among `signature.loraInputs`. Missing ones get zero rank. */
  setLoraFeeds(feeds: ReadonlyMap<string, ort.Tensor>): void {
    for (const name of feeds.keys()) {
      if (!this.signature.loraInputs.includes(name)) throw new OnnxModelError(`${this.file} has no LoRA input named ${name}.`);
    }
    this.resetLoraFeeds();
    for (const [name, tensor] of feeds) this.loraFeeds.set(name, tensor);
  }

  /** The LoRA feeds in use now (a copy), so a caller that swaps them for a while can put them back. */
  get currentLoraFeeds(): ReadonlyMap<string, ort.Tensor> {
    return new Map(this.loraFeeds);
  }

  private resetLoraFeeds(): void {
    this.loraFeeds.clear();
    const d = this.spec.hiddenSize;
    for (const name of this.signature.loraInputs) {
      const isA = name.endsWith(".A");
      // Zero rank reproduces the base model exactly: x·A·B with A [d, 0], B [0, d] adds nothing.
      this.loraFeeds.set(name, new ort.Tensor("float32", new Float32Array(0), isA ? [d, 0] : [0, d]));
    }
  }

  /** Empty keys/values ([1, kv_heads, 0, head_dim]) for a first pass. */
  emptyPast(): KvState {
    const { kvHeads, headDim, kvDtype, numLayers } = this.signature;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * numLayers; i++) {
      tensors.push(kvDtype === "float16" ? new ort.Tensor("float16", new Uint16Array(0), [1, kvHeads, 0, headDim]) : new ort.Tensor("float32", new Float32Array(0), [1, kvHeads, 0, headDim]));
    }
    return { tensors, length: 0 };
  }

  /**
   * Runs the model on `ids` (one sequence) after `past` (keys/values of the tokens before them, positions 0..past.length-1).
   * The caller owns the returned tensors and disposes them; `past` is left untouched.
   * With fused statistics, `stats` names the rows to score and the logits are fetched only when `fetchLogits` is set.
   */
  forward(ids: ArrayLike<number>, past: KvState | null): Promise<ForwardResult & { logits: ort.Tensor }>;
  forward(ids: ArrayLike<number>, past: KvState | null, stats: StatsRequest | null, fetchLogits?: boolean): Promise<ForwardResult>;
  async forward(ids: ArrayLike<number>, past: KvState | null, stats: StatsRequest | null = null, fetchLogits = stats === null || !this.signature.fusedStats): Promise<ForwardResult> {
    const sig = this.signature;
    const seq = ids.length;
    const pastLength = past?.length ?? 0;
    if (!sig.hasPast && pastLength > 0) throw new OnnxModelError(`${this.file} takes no past_key_values, so it cannot continue from cached keys and values.`);
    const feeds: Record<string, ort.Tensor> = {};
    feeds["input_ids"] = intTensor(sig.idType, ids, [1, seq]);
    if (sig.hasAttentionMask) feeds["attention_mask"] = intTensor(sig.maskType, new Array<number>(pastLength + seq).fill(1), [1, pastLength + seq]);
    if (sig.hasPositionIds) {
      const positions = new Array<number>(seq);
      for (let i = 0; i < seq; i++) positions[i] = pastLength + i;
      feeds["position_ids"] = intTensor(sig.positionType, positions, [1, seq]);
    }
    let ownEmpty: KvState | null = null;
    if (sig.hasPast) {
      const kv = past ?? (ownEmpty = this.emptyPast());
      for (let i = 0; i < sig.numLayers; i++) {
        feeds[`past_key_values.${i}.key`] = kv.tensors[2 * i]!;
        feeds[`past_key_values.${i}.value`] = kv.tensors[2 * i + 1]!;
      }
    }
    if (sig.hasUseCacheBranch) feeds["use_cache_branch"] = new ort.Tensor("bool", Uint8Array.from([pastLength > 0 ? 1 : 0]), [1]);
    for (const [name, tensor] of this.loraFeeds) feeds[name] = tensor;
    let k = 0;
    let logitsFirstRow = 0;
    if (sig.fusedStats) {
      // The statistics inputs must always be fed; without a request they score the last row against token 0, or every
      // row when the logits are wanted and the graph projects only the scored rows.
      const request = stats ?? (fetchLogits && sig.rowsBeforeHead ? { firstRow: 0, targets: new Array<number>(seq).fill(0), topK: 1, vocab: 1 } : { firstRow: seq - 1, targets: [0], topK: 1, vocab: 1 });
      if (sig.rowsBeforeHead) logitsFirstRow = request.firstRow;
      const built = statsFeeds(this.statsNames, request.firstRow, request.targets, request.topK, request.vocab);
      k = built.k;
      Object.assign(feeds, built.feeds);
    } else if (stats !== null) throw new OnnxModelError("internal: statistics requested from a graph without them.");
    // onnxruntime ignores unknown feeds silently and fails late on missing ones: check both here.
    for (const name of Object.keys(feeds)) if (!sig.inputNames.includes(name)) throw new OnnxModelError(`internal: feed ${name} is not an input of ${this.file}.`);
    for (const name of sig.inputNames) if (feeds[name] === undefined) throw new OnnxModelError(`internal: no value for input ${name} of ${this.file}.`);

    const names = this.statsNames;
    const fetches = [
      ...(fetchLogits ? ["logits"] : []),
      ...(stats !== null ? [names.packed] : []),
      ...(sig.hasPast ? Array.from({ length: sig.numLayers }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat() : []),
    ];
    if (fetches.length === 0) fetches.push("logits");
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds, fetches);
    } finally {
      if (ownEmpty !== null) for (const t of ownEmpty.tensors) t.dispose();
    }
    const logits = out["logits"] ?? null;
    if (fetchLogits && logits === null) throw new OnnxModelError(`${this.file} returned no logits.`);
    let scores: Array<PositionScore | null> | null = null;
    if (stats !== null) {
      scores = readStats(out, names, stats.targets.length, stats.topK, k);
      out[names.packed]?.dispose();
    }
    let present: KvState | null = null;
    if (sig.hasPast) {
      const tensors: ort.Tensor[] = [];
      for (let i = 0; i < sig.numLayers; i++) tensors.push(out[`present.${i}.key`]!, out[`present.${i}.value`]!);
      const length = tensors[0]!.dims[2]!;
      if (length !== pastLength + seq) throw new OnnxModelError(`${this.file} returned present keys for ${length} tokens, expected ${pastLength + seq}.`);
      present = { tensors, length };
    }
    return { logits, logitsFirstRow, scores, present };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
