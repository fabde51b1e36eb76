/**
 * The size of a KV cache: each layer keeps a key and a value tensor of shape [1, kv_heads, tokens, head_dim], so
 * bytes = 2 · layers · kv_heads · head_dim · tokens · dtype size (as transformers' cache_utils computes it).
 * One formula for the model facts, the engine's cache accounting and the panel's breakdown.
 */

/** Bytes per element of the tensor types a KV cache or its statistics use (ONNX / onnxruntime type names). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, float16: 2, bfloat16: 2, float64: 8 };

export type KvDtype = "float32" | "float16";

/** 2 · layers · kv_heads · head_dim · tokens · dtype size. */
export function kvBytes(layers: number, kvHeads: number, headDim: number, tokens: number, dtypeBytes: number): number {
  return 2 * layers * kvHeads * headDim * tokens * dtypeBytes;
}

/** The terms of the formula, for the panel to write out. */
export interface KvBytesBreakdown {
  layers: number;
  kvHeads: number;
  headDim: number;
  tokens: number;
  dtype: KvDtype;
  dtypeBytes: number;
  /** The product: keys and values (the 2) for every layer. */
  bytes: number;
  /** Bytes per cached token: 2 · layers · kv_heads · head_dim · dtype size. */
  bytesPerToken: number;
}

export function kvBytesBreakdown(model: { numLayers: number; numKvHeads: number; headDim: number; kvDtype: KvDtype }, tokens: number): KvBytesBreakdown {
  const size = DTYPE_BYTES[model.kvDtype]!;
  const bytesPerToken = kvBytes(model.numLayers, model.numKvHeads, model.headDim, 1, size);
  return {
    layers: model.numLayers,
    kvHeads: model.numKvHeads,
    headDim: model.headDim,
    tokens,
    dtype: model.kvDtype,
    dtypeBytes: size,
    bytesPerToken,
    bytes: bytesPerToken * tokens,
  };
}
