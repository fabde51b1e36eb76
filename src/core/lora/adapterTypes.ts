/**
 * The plain data of LoRA adapters that crosses thread and process boundaries: what is asked for, what an adapter is,
 * and what a switch did. No Node types (the webview's project compiles the protocol that names these).
 */

/**
 * An adapter to activate, by name (folder under the model's adapters/, then under the configured adapter folders) or
 * path, with its scale: the model computes W + scale · (lora_alpha / r) · B·A. Scale 0 keeps the adapter loaded but off.
 */
export interface AdapterSelection {
  name: string;
  /** Absolute folder path; when absent the adapter is looked up under the model's adapters/ folder. */
  path?: string;
  scale: number;
}

/** An adapter as its adapter_config.json describes it. */
export interface AdapterInfo {
  /** Its folder's name. */
  name: string;
  /** Absolute folder path. */
  path: string;
  rank: number;
  alpha: number;
  /** target_modules (a regular expression is listed as one entry). */
  targetModules: string[];
  /** The config's "description" (the domain it was trained on), or "". */
  description: string;
  /** base_model_name_or_path, or "". */
  baseModel: string;
}

/** How adapters reach the model: "feed" (graph LoRA inputs, no rebuild), "merge" (weights patched, session rebuilt), "none" (never set). */
export type AdapterMode = "feed" | "merge" | "none";

/** What the active set is after a switch. */
export interface AdapterSetResult {
  /** The selections now active (scale 0 included: such an adapter is loaded but adds nothing). */
  active: AdapterSelection[];
  /** Details of each active adapter, in the same order. */
  adapters: AdapterInfo[];
  mode: AdapterMode;
  /** Module paths of the base model the adapters (with non-zero scale) changed, e.g. "transformer.h.0.attn.q_proj". */
  matchedModules: string[];
}
