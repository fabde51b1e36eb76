/**
 * One ONNX causal LM session (CPU execution provider only, no custom-op libraries): feeds built from the graph's
 * signature (graphSignature.ts), the KV cache in and out, and the fused statistics (statisticsFusion.ts) when the
 * graph allows them. onnxruntime silently ignores feeds it does not know, so every feed is built from the session's
 * own input list.
 */
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import type { ArchitectureSpec } from "../../architecture";
import { readStats, statsFeeds, statsNames, STATS_PREFIX, type StatsNames } from "./logitsStats";
import type { PositionScore } from "../../tokenDistribution";
import type { Logger } from "../../logger";
import { silentLogger } from "../../logger";
import { readSignature, OnnxModelError, type GraphSignature } from "./graphSignature";
import { fuseStatistics } from "./statisticsFusion";
import { countParameters, parseOnnxModel, OnnxParseError, type OnnxModelProto } from "./onnxProto";
import { checkGraphTensors, hasExternalData } from "./graphChecks";
import { BoundedFileError, FILE_LIMITS, readBoundedFile } from "../../boundedFile";

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
  /** The model folder no file of the graph may leave (default: the graph's own folder). */
  root?: string;
  /** The graph file whose folder external data is resolved against, when the session is built from bytes. */
  graphFile?: string;
}

/**
 * onnxruntime's error text as one sentence: its log prefix (`[E:onnxruntime:…]`, ANSI colours) and source locations
 * (`…/safeint.h:17`) removed, the first line only, at most 200 characters.
 */
export function onnxruntimeReason(e: unknown): string {
  const full = String((e as Error)?.message ?? e);
  const line =
    full
      // eslint-disable-next-line no-control-regex
      .replace(/\[[0-9;]*m/g, "")
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "") ?? "unknown error";
  const clean = line
    .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[[A-Z]:onnxruntime:[^\]]*\]\s*/, "")
    .replace(/\[[A-Z]:onnxruntime:[^\]]*\]\s*/g, "")
    .replace(/\S+\.(?:h|cc|cpp):\d+\s*/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/\.$/, "");
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}

/** Parses a graph for the load checks, turning a parse failure into one sentence naming the file. */
function parseForLoad(bytes: Uint8Array, file: string): OnnxModelProto {
  try {
    return parseOnnxModel(bytes);
  } catch (e) {
    if (e instanceof OnnxParseError) throw new OnnxModelError(`${file} is not a valid ONNX model (${e.message}).`);
    throw e;
  }
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
    /** Parameters counted from the graph's initializers (subgraphs included), from the parse the load checks made. */
    readonly parameters: number,
  ) {
    this.resetLoraFeeds();
  }

  /** Creates a session from a file path or model bytes (bytes: for weights patched in memory). */
  static async load(
    source: string | Uint8Array,
    spec: ArchitectureSpec,
    options: SessionOptions,
    file = typeof source === "string" ? source : "the ONNX model",
  ): Promise<OnnxCausalLm> {
    const logger = options.logger ?? silentLogger;
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, Math.floor(options.threads)),
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      // 4 = fatal only: onnxruntime prints nothing on stderr; its errors are thrown and reworded below.
      logSeverityLevel: 4,
    };
    const started = Date.now();
    let session: ort.InferenceSession | null = null;
    let rowsBeforeHead = false;
    // The one check of the graph's files, whichever way the session is built (see graphChecks.ts).
    let bytes: Uint8Array;
    try {
      bytes =
        typeof source === "string"
          ? readBoundedFile(source, { maxBytes: FILE_LIMITS.onnxGraph, what: "the ONNX graph", ...(options.root !== undefined ? { root: options.root } : {}) })
              .bytes
          : source;
    } catch (e) {
      if (e instanceof BoundedFileError) throw new OnnxModelError(e.message);
      throw e;
    }
    const graphFile = typeof source === "string" ? source : (options.graphFile ?? file);
    const proto = parseForLoad(bytes, file);
    checkGraphTensors(proto, graphFile, options.root ?? path.dirname(path.resolve(graphFile)), typeof source !== "string", bytes.length);
    const external = hasExternalData(proto);
    if (options.fuseStatistics !== false && !external) {
      try {
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
      session ??=
        typeof source === "string" ? await ort.InferenceSession.create(source, sessionOptions) : await ort.InferenceSession.create(source, sessionOptions);
    } catch (e) {
      const full = String((e as Error).message ?? e);
      // An operator the CPU provider lacks (a custom op, or one from a newer opset) gets its own sentence: onnxruntime's
      // wording repeats the path and dumps the node.
      const missingOp = /No Op registered for (\S+) with domain_version of (\d+)/.exec(full);
      if (missingOp) {
        throw new OnnxModelError(
          `${file} uses the operator ${missingOp[1]} (opset ${missingOp[2]}), which onnxruntime's CPU execution provider does not have (custom-op libraries are never loaded).`,
        );
      }
      throw new OnnxModelError(`onnxruntime could not load ${file} (${onnxruntimeReason(e)}).`);
    }
    logger.log("debug", `session created in ${Date.now() - started} ms for ${file}`);
    try {
      return new OnnxCausalLm(session, { ...readSignature(session, spec, file), rowsBeforeHead }, spec, file, countParameters(proto.graph));
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
      tensors.push(
        kvDtype === "float16"
          ? new ort.Tensor("float16", new Uint16Array(0), [1, kvHeads, 0, headDim])
          : new ort.Tensor("float32", new Float32Array(0), [1, kvHeads, 0, headDim]),
      );
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
  async forward(
    ids: ArrayLike<number>,
    past: KvState | null,
    stats: StatsRequest | null = null,
    fetchLogits = stats === null || !this.signature.fusedStats,
  ): Promise<ForwardResult> {
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
      const request =
        stats ??
        (fetchLogits && sig.rowsBeforeHead
          ? { firstRow: 0, targets: new Array<number>(seq).fill(0), topK: 1, vocab: 1 }
          : { firstRow: seq - 1, targets: [0], topK: 1, vocab: 1 });
      if (sig.rowsBeforeHead) logitsFirstRow = request.firstRow;
      const built = statsFeeds(this.statsNames, request.firstRow, request.targets, request.topK, request.vocab);
      k = built.k;
      Object.assign(feeds, built.feeds);
    } else if (stats !== null) throw new OnnxModelError("internal: statistics requested from a graph without them.");
    // onnxruntime ignores unknown feeds silently and fails late on missing ones: check both here.
    for (const name of Object.keys(feeds))
      if (!sig.inputNames.includes(name)) throw new OnnxModelError(`internal: feed ${name} is not an input of ${this.file}.`);
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
