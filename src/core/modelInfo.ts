/**
 * The model card: what a loaded model is and what it costs.
 *
 * - parameters: counted from the ONNX initializers (onnxProto.countParameters).
 * - parametersEstimate: 12 · n_layer · d², the attention (4d²) + MLP (8d²) weights of a transformer block, embeddings
 *   left out (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", section 2.1).
 * - flopsPerToken ≈ 2 · parameters: one multiply and one add per weight per token in a forward pass (same source).
 * - kvBytesPerToken = 2 · layers · kv_heads · head_dim · dtype size (keys and values of every layer).
 */
import type { ArchitectureSpec } from "./architecture";
import type { GraphSignature } from "./backends/onnx/graphSignature";
import type { ModelInfo } from "./types";
import type { ModelBundle } from "./backends/onnx/modelBundle";
import { kvBytes, DTYPE_BYTES } from "./kvBytes";

export function parametersEstimate(spec: Pick<ArchitectureSpec, "numLayers" | "hiddenSize">): number {
  return 12 * spec.numLayers * spec.hiddenSize * spec.hiddenSize;
}

export function buildModelInfo(args: {
  bundle: ModelBundle;
  signature: GraphSignature;
  parameters: number;
  vocabSize: number;
  tokenizerType: string;
  source: "embedded" | "folder";
}): ModelInfo {
  const { bundle, signature, parameters } = args;
  const spec = bundle.spec;
  return {
    name: bundle.name,
    path: bundle.dir,
    source: args.source,
    architecture: spec.architecture,
    modelType: spec.modelType,
    vocabSize: args.vocabSize,
    contextLength: spec.contextLength,
    numLayers: spec.numLayers,
    numHeads: spec.numHeads,
    numKvHeads: signature.kvHeads,
    headDim: signature.headDim,
    hiddenSize: spec.hiddenSize,
    parameters,
    parametersEstimate: parametersEstimate(spec),
    flopsPerToken: 2 * parameters,
    kvDtype: signature.kvDtype,
    kvBytesPerToken: signature.hasPast ? kvBytes(spec.numLayers, signature.kvHeads, signature.headDim, 1, DTYPE_BYTES[signature.kvDtype]!) : 0,
    tokenizerType: args.tokenizerType,
    files: bundle.files,
    loraInputs: signature.loraInputs.length > 0,
  };
}
