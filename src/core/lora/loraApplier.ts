/**
 * The interfaces of the two ways active LoRA adapters reach the model (the choice is createLoraApplier.ts's):
 * - "feed"  — the graph takes LoRA inputs `lora.{i}.{module}.A|B` (the embedded default does): the adapters become those
 *             inputs and the session is kept (feedLora.ts);
 * - "merge" — a plain export without LoRA inputs: scale · B·A is added into the matching weight initializers of a copy of
 *             the model bytes and the session is rebuilt from them (mergeLora.ts).
 * Both leave the previous state in place when an adapter cannot be applied, and both reproduce the base model exactly
 * when no adapter has a non-zero scale.
 */
import * as fs from "node:fs";
import { BoundedFileError, FILE_LIMITS, readBoundedFile } from "../boundedFile";
import type { ArchitectureSpec } from "../architecture";
import type { Logger } from "../logger";
import type { OnnxCausalLm } from "../backends/onnx/onnxSession";
import { parseOnnxModel, OnnxParseError, type OnnxModelProto } from "../backends/onnx/onnxProto";
import type { PeftAdapter } from "./peftAdapter";
import { LoraError } from "./loraError";

/** An adapter with the user's scale: the model computes W + scale · scaling · B·A (scale 0 = off). */
export interface ActiveAdapter {
  adapter: PeftAdapter;
  scale: number;
}

export interface LoraApplication {
  /** The session to score with from now on: the same object (feed) or a new one whose predecessor the caller releases (merge). */
  model: OnnxCausalLm;
  /** Module paths of the adapters (with a non-zero scale) that were applied, e.g. "transformer.h.0.attn.q_proj". */
  matchedModules: string[];
}

export interface LoraApplier {
  readonly mode: "feed" | "merge";
  /**
   * Applies exactly `adapters` (replacing what was applied before) to `current`, the session now in use.
   * Throws LoraError, leaving `current` as it was, when one cannot be applied.
   */
  apply(adapters: readonly ActiveAdapter[], current: OnnxCausalLm): Promise<LoraApplication>;
}

/** What the appliers need to know about the loaded model. */
export interface LoraModelSource {
  /** The model's name, for messages. */
  name: string;
  onnxPath: string;
  /** The model folder no file of the graph may leave. */
  root?: string;
  spec: ArchitectureSpec;
  /** Session options for rebuilt sessions (merge). */
  threads: number;
  logger?: Logger;
}

/** Bytes of the ONNX graph, refused beyond protobuf's 2 GiB (such models keep weights in external data anyway). */
export function readModelBytes(source: LoraModelSource): Uint8Array {
  const size = fs.statSync(source.onnxPath).size;
  if (size >= 2 ** 31) throw new LoraError(`LoRA adapters cannot be applied to ${source.name}: its graph ${source.onnxPath} is larger than 2 GiB.`);
  try {
    return readBoundedFile(source.onnxPath, {
      maxBytes: FILE_LIMITS.onnxGraph,
      what: "the ONNX graph",
      ...(source.root !== undefined ? { root: source.root } : {}),
    }).bytes;
  } catch (e) {
    if (e instanceof BoundedFileError) throw new LoraError(`LoRA adapters cannot be applied to ${source.name}: ${e.message.replace(/\.$/, "")}.`);
    throw e;
  }
}

export function parseModelBytes(bytes: Uint8Array, source: LoraModelSource): OnnxModelProto {
  try {
    return parseOnnxModel(bytes);
  } catch (e) {
    if (e instanceof OnnxParseError)
      throw new LoraError(`LoRA adapters cannot be applied to ${source.name}: ${source.onnxPath} could not be parsed (${e.message}).`);
    throw e;
  }
}
