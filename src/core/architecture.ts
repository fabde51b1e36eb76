/**
 * Architecture adapters: read a Hugging Face config.json into the numbers the engine needs.
 * `createArchitecture(config)` refuses a model_type it does not know, with one sentence naming it.
 */
import type { Architecture } from "./types";

export interface ArchitectureSpec {
  architecture: Architecture;
  /** config.json's model_type, e.g. "gpt2", "llama", "mistral". */
  modelType: string;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (GQA); equals numHeads for multi-head attention. */
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  /** Maximum positions the model was trained with. */
  contextLength: number;
  vocabSize: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

export class ModelConfigError extends Error {}

type Json = Record<string, unknown>;

/** The largest value accepted for a size in config.json (context length, hidden size, heads, layers, vocabulary). */
export const MAX_CONFIG_INT = 2 ** 20;

function int(config: Json, keys: string[], what: string, fallback?: number): number {
  for (const key of keys) {
    const v = config[key];
    if (typeof v === "number" && Number.isInteger(v) && v > 0) {
      // A hostile 1e15 would size buffers and windows from it; no real model comes near 2^20 for these fields.
      if (v > MAX_CONFIG_INT)
        throw new ModelConfigError(`config.json ${key} ${v} is above ${MAX_CONFIG_INT.toLocaleString("en-US")}, the largest ${what} Perplexity Lens accepts.`);
      return v;
    }
  }
  if (fallback !== undefined) return fallback;
  throw new ModelConfigError(`config.json has no positive integer ${keys.join(" or ")} (${what}).`);
}

function tokenId(config: Json, key: string): number | null {
  const v = config[key];
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (Array.isArray(v) && typeof v[0] === "number") return v[0];
  return null;
}

function gpt2(config: Json): ArchitectureSpec {
  const numLayers = int(config, ["n_layer"], "number of layers");
  const numHeads = int(config, ["n_head"], "number of attention heads");
  const hiddenSize = int(config, ["n_embd"], "hidden size");
  if (hiddenSize % numHeads !== 0) throw new ModelConfigError(`config.json's n_embd ${hiddenSize} is not a multiple of n_head ${numHeads}.`);
  return {
    architecture: "gpt2",
    modelType: "gpt2",
    numLayers,
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    hiddenSize,
    contextLength: int(config, ["n_positions", "n_ctx"], "context length"),
    vocabSize: int(config, ["vocab_size"], "vocabulary size"),
    bosTokenId: tokenId(config, "bos_token_id"),
    eosTokenId: tokenId(config, "eos_token_id"),
  };
}

function llamaFamily(config: Json, modelType: string): ArchitectureSpec {
  const numLayers = int(config, ["num_hidden_layers"], "number of layers");
  const numHeads = int(config, ["num_attention_heads"], "number of attention heads");
  const hiddenSize = int(config, ["hidden_size"], "hidden size");
  const numKvHeads = int(config, ["num_key_value_heads"], "key/value heads", numHeads);
  const headDim = int(config, ["head_dim"], "head dimension", Math.floor(hiddenSize / numHeads));
  if (numHeads % numKvHeads !== 0)
    throw new ModelConfigError(`config.json's num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}.`);
  return {
    architecture: "llama",
    modelType,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    hiddenSize,
    contextLength: int(config, ["max_position_embeddings"], "context length"),
    vocabSize: int(config, ["vocab_size"], "vocabulary size"),
    bosTokenId: tokenId(config, "bos_token_id"),
    eosTokenId: tokenId(config, "eos_token_id"),
  };
}

/** Model types whose configs use Llama's field names and whose ONNX exports share its KV layout. */
export const LLAMA_FAMILY = ["llama", "mistral", "qwen2", "phi3", "gemma", "gemma2"] as const;
export const SUPPORTED_MODEL_TYPES = ["gpt2", ...LLAMA_FAMILY] as const;

export function createArchitecture(config: Json): ArchitectureSpec {
  const modelType = config["model_type"];
  if (typeof modelType !== "string") throw new ModelConfigError("config.json has no model_type string.");
  if (modelType === "gpt2") return gpt2(config);
  if ((LLAMA_FAMILY as readonly string[]).includes(modelType)) return llamaFamily(config, modelType);
  throw new ModelConfigError(
    `config.json has model_type "${modelType}", which Perplexity Lens does not support (supported: ${SUPPORTED_MODEL_TYPES.join(", ")}).`,
  );
}
