/**
 * The signature of an ONNX causal LM graph: which of the Optimum / transformers.js inputs and outputs it has, their
 * element types, and the KV-cache layout, read from a session and checked against the model's config.
 *
 * Known names: inputs `input_ids`, `attention_mask` [batch, past+seq], `position_ids`, `past_key_values.{i}.key/.value`
 * [batch, kv_heads, past, head_dim], `use_cache_branch` (merged decoders) and the LoRA feed inputs
 * `lora.{i}.{module}.A/.B`; outputs `logits` and `present.{i}.key/.value`. An input this engine cannot feed is refused.
 */
import type * as ort from "onnxruntime-node";
import type { ArchitectureSpec } from "../../architecture";
import { STATS_PREFIX } from "./logitsStats";

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
    if (pastLayers.size !== spec.numLayers)
      throw new OnnxModelError(`${file} has past_key_values for ${pastLayers.size} layers but config.json says ${spec.numLayers}.`);
    for (let i = 0; i < spec.numLayers; i++) {
      for (const kv of ["key", "value"]) {
        if (!inputNames.includes(`past_key_values.${i}.${kv}`)) throw new OnnxModelError(`${file} lacks the input past_key_values.${i}.${kv}.`);
        if (!outputNames.includes(`present.${i}.${kv}`))
          throw new OnnxModelError(`${file} lacks the output present.${i}.${kv} that goes with past_key_values.${i}.${kv}.`);
      }
    }
    const meta = tensorMeta(session, "past_key_values.0.key", true);
    if (meta !== null) {
      if (meta.type === "float16") kvDtype = "float16";
      else if (meta.type !== "float32") throw new OnnxModelError(`${file} declares past_key_values as ${meta.type}, expected float32 or float16.`);
      const heads = meta.shape[1];
      const dim = meta.shape[3];
      if (typeof heads === "number" && heads !== spec.numKvHeads)
        throw new OnnxModelError(`${file} has ${heads} key/value heads but config.json implies ${spec.numKvHeads}.`);
      if (typeof dim === "number" && dim !== spec.headDim)
        throw new OnnxModelError(`${file} has head dimension ${dim} but config.json implies ${spec.headDim}.`);
      if (typeof heads === "number") kvHeads = heads;
      if (typeof dim === "number") headDim = dim;
    }
  }
  const logitsMeta = tensorMeta(session, "logits", false);
  let logitsType: "float32" | "float16" = "float32";
  if (logitsMeta !== null && logitsMeta.type === "float16") logitsType = "float16";
  else if (logitsMeta !== null && logitsMeta.type !== "float32")
    throw new OnnxModelError(`${file} declares logits as ${logitsMeta.type}, expected float32 or float16.`);
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
