/**
 * The factory of LoRA appliers (tokenizers.js-style: one switch that refuses what it cannot do). It lives apart from
 * the interfaces it creates (loraApplier.ts) so that feedLora.ts and mergeLora.ts import those interfaces without a
 * cycle through this file.
 */
import type { GraphSignature } from "../backends/onnx/graphSignature";
import { FeedLoraApplier } from "./feedLora";
import { MergeLoraApplier } from "./mergeLora";
import { parseModelBytes, readModelBytes, type LoraApplier, type LoraModelSource } from "./loraApplier";

/** Chooses the path the graph allows: feed when it has LoRA inputs, else merge. Throws LoraError when neither can work. */
export function createLoraApplier(signature: GraphSignature, source: LoraModelSource): LoraApplier {
  const bytes = readModelBytes(source);
  const proto = parseModelBytes(bytes, source);
  if (signature.loraInputs.length > 0) return new FeedLoraApplier(signature, proto.graph.inputs, source);
  return new MergeLoraApplier(bytes, proto, source);
}
