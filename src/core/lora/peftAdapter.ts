/**
 * A PEFT LoRA adapter folder: `adapter_config.json` and `adapter_model.safetensors` (the layout `PeftModel.save_pretrained`
 * writes). LoRA (Hu et al. 2021; PEFT's `LoraLayer`) fine-tunes a frozen linear weight W [out, in] with
 *
 *     h = x·Wᵀ + scaling · (x·Aᵀ)·Bᵀ,   A = lora_A.weight [r, in],  B = lora_B.weight [out, r],
 *     scaling = lora_alpha / r          (use_rslora: lora_alpha / √r)
 *
 * so the weight it is equivalent to is W + scaling · B·A. Tensor keys are `base_model.model.<module path>.lora_A.weight`
 * (an adapter name may sit before `.weight` in files written by older PEFT versions). Everything is checked here that can
 * be checked without the model: both halves of every module, ranks equal to `r`, modules among `target_modules`.
 * Whether the modules exist in the model is the appliers' business (feedLora.ts, mergeLora.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RE2JS } from "re2js";
import { BoundedFileError, FILE_LIMITS, jsonErrorReason, readBoundedFile } from "../boundedFile";
import type { AdapterInfo } from "./adapterTypes";
import { parseSafetensors, SafetensorsError } from "../safetensors";
import { LoraError } from "./loraError";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

export interface PeftAdapterConfig {
  r: number;
  loraAlpha: number;
  /**
   * Module names (a key matches when it equals one or ends with "." + one) or, as PEFT allows, one regular expression
   * matched against the whole key (re.fullmatch). The expression runs on RE2 (re2js), in time linear in the key, so a
   * pattern such as `(([a-z_.0-9]+)+)+X` cannot stall the engine as a backtracking engine would.
   */
  targetModules: string[] | string;
  /** True when the base weights are stored [in, out] (GPT-2's Conv1D). lora_A/lora_B keep the Linear layout either way. */
  fanInFanOut: boolean;
  useRslora: boolean;
  baseModel: string;
  description: string;
}

/** The two LoRA matrices of one module of the base model. */
export interface LoraModuleWeights {
  /** Module path inside the base model, e.g. "transformer.h.0.attn.q_proj". */
  path: string;
  /** The path's last segment, e.g. "q_proj". */
  module: string;
  /** The block index found in the path (`.h.3.`, `.layers.3.`, `.blocks.3.`), or null. */
  layer: number | null;
  rank: number;
  inFeatures: number;
  outFeatures: number;
  /** lora_A.weight [rank, inFeatures], row-major. */
  A: Float32Array;
  /** lora_B.weight [outFeatures, rank], row-major. */
  B: Float32Array;
}

export interface PeftAdapter {
  name: string;
  /** Absolute folder path. */
  dir: string;
  config: PeftAdapterConfig;
  /** lora_alpha / r, or lora_alpha / √r with use_rslora; multiplies B·A. */
  scaling: number;
  modules: LoraModuleWeights[];
}

function adapterLabel(name: string): string {
  return `Adapter "${name}"`;
}

/** Compiled target_modules patterns: one adapter's modules are all matched against the same one. */
const compiledTargets = new Map<string, RE2JS>();

/** A target_modules pattern compiled for RE2 (linear-time matching), or the reason it cannot be. */
export function compileTargetPattern(pattern: string): RE2JS | string {
  const cached = compiledTargets.get(pattern);
  if (cached !== undefined) return cached;
  try {
    const compiled = RE2JS.compile(pattern);
    if (compiledTargets.size > 64) compiledTargets.clear();
    compiledTargets.set(pattern, compiled);
    return compiled;
  } catch (e) {
    return (e as Error).message.replace(/\.$/, "");
  }
}

/**
 * PEFT's `check_target_module_exists`: a list entry matches the key or its last dotted segments; a string is a
 * full-match regex, matched in linear time (RE2: no backtracking, so no pattern can make it slow).
 */
export function isTargetModule(targets: string[] | string, modulePath: string): boolean {
  if (typeof targets === "string") {
    const compiled = compileTargetPattern(targets);
    return typeof compiled !== "string" && compiled.matches(modulePath);
  }
  return targets.some((t) => modulePath === t || modulePath.endsWith(`.${t}`));
}

const LAYER_RE = /(?:^|\.)(?:h|layers|layer|blocks|block)\.(\d+)\./;

export function layerOf(modulePath: string): number | null {
  const m = LAYER_RE.exec(modulePath);
  return m ? Number(m[1]) : null;
}

/** The largest rank accepted (PEFT adapters use 4–256). */
export const MAX_LORA_RANK = 4096;
/** The largest |lora_alpha / r| accepted: beyond it the merged weights overflow float32 and every score fails. */
export const MAX_LORA_SCALING = 1e4;

/** A JSON value for a message: Infinity (JSON.parse of 1e999) as such, strings and objects shortened. */
function describeJson(value: unknown): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : `${value} (the number overflows a double)`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Reads and checks `adapter_config.json` of the adapter in `dir`. */
export function readPeftConfig(dir: string, name: string): PeftAdapterConfig {
  const label = adapterLabel(name);
  const file = path.join(dir, ADAPTER_CONFIG_FILE);
  let text: string;
  try {
    text = readBoundedFile(file, { maxBytes: FILE_LIMITS.jsonConfig, what: ADAPTER_CONFIG_FILE, root: dir }).bytes.toString("utf8");
  } catch (e) {
    if (e instanceof BoundedFileError && e.reason !== "missing" && e.reason !== "unreadable") throw new LoraError(`${label}: ${e.message}`);
    throw new LoraError(`${label} has no readable ${ADAPTER_CONFIG_FILE} in ${dir}.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new LoraError(`${label}: ${file} is not valid JSON (${jsonErrorReason(e).replace(/\.$/, "")}).`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new LoraError(`${label}: ${file} does not hold a JSON object.`);
  const c = raw as Record<string, unknown>;
  const peftType = c["peft_type"];
  if (peftType !== undefined && peftType !== "LORA") throw new LoraError(`${label} is a ${String(peftType)} adapter; only LORA adapters can be applied.`);
  const r = c["r"];
  if (typeof r !== "number" || !Number.isInteger(r) || r < 1) throw new LoraError(`${label}: ${file} needs a positive integer "r", not ${describeJson(r)}.`);
  if (r > MAX_LORA_RANK) throw new LoraError(`${label}: ${ADAPTER_CONFIG_FILE}: r ${r} is above the largest rank Perplexity Lens accepts (${MAX_LORA_RANK}).`);
  const alpha = c["lora_alpha"] ?? r;
  if (typeof alpha !== "number" || !Number.isFinite(alpha))
    throw new LoraError(`${label}: ${ADAPTER_CONFIG_FILE}: lora_alpha must be a finite number, not ${describeJson(alpha)}.`);
  const scaling = c["use_rslora"] === true ? alpha / Math.sqrt(r) : alpha / r;
  if (Math.abs(scaling) > MAX_LORA_SCALING)
    throw new LoraError(
      `${label}: ${ADAPTER_CONFIG_FILE}: lora_alpha ${alpha} gives a scaling of ${scaling.toPrecision(3)} (lora_alpha / r), beyond the ±${MAX_LORA_SCALING} Perplexity Lens accepts.`,
    );
  const targets = c["target_modules"];
  const targetModules =
    typeof targets === "string" ? targets : Array.isArray(targets) && targets.every((t) => typeof t === "string") ? (targets as string[]) : null;
  if (targetModules === null || targetModules.length === 0)
    throw new LoraError(`${label}: ${file} needs "target_modules" (a list of module names or a regular expression).`);
  if (typeof targetModules === "string") {
    const compiled = compileTargetPattern(targetModules);
    if (typeof compiled === "string")
      throw new LoraError(
        `${label}: ${file} has a "target_modules" pattern that is not a regular expression Perplexity Lens can match in linear time (RE2 syntax, no lookaround or backreference): ${compiled}.`,
      );
  }
  if (c["use_dora"] === true) throw new LoraError(`${label} is a DoRA adapter (use_dora), which Perplexity Lens cannot apply.`);
  for (const key of ["rank_pattern", "alpha_pattern"]) {
    const pattern = c[key];
    if (typeof pattern === "object" && pattern !== null && Object.keys(pattern).length > 0) {
      throw new LoraError(`${label} sets a per-module "${key}", which Perplexity Lens does not support (one r and lora_alpha for all modules).`);
    }
  }
  return {
    r,
    loraAlpha: alpha,
    targetModules,
    fanInFanOut: c["fan_in_fan_out"] === true,
    useRslora: c["use_rslora"] === true,
    baseModel: typeof c["base_model_name_or_path"] === "string" ? c["base_model_name_or_path"] : "",
    description: typeof c["description"] === "string" ? c["description"] : "",
  };
}

/** The scale PEFT multiplies B·A by. */
export function loraScaling(config: PeftAdapterConfig): number {
  return config.useRslora ? config.loraAlpha / Math.sqrt(config.r) : config.loraAlpha / config.r;
}

export function adapterInfo(name: string, dir: string, config: PeftAdapterConfig): AdapterInfo {
  return {
    name,
    path: dir,
    rank: config.r,
    alpha: config.loraAlpha,
    targetModules: typeof config.targetModules === "string" ? [config.targetModules] : [...config.targetModules],
    description: config.description,
    baseModel: config.baseModel,
  };
}

const KEY_RE = /^(?:base_model\.model\.)?(.+)\.lora_(A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$/;

/** Reads, parses and checks the adapter in `dir` (named `name` in messages). Throws LoraError with one sentence. */
export function loadPeftAdapter(dir: string, name = path.basename(dir)): PeftAdapter {
  const label = adapterLabel(name);
  const absDir = path.resolve(dir);
  if (!fs.existsSync(absDir) || !fs.statSync(absDir).isDirectory()) throw new LoraError(`${label}: the folder ${absDir} does not exist.`);
  const config = readPeftConfig(absDir, name);
  const weightsFile = path.join(absDir, ADAPTER_WEIGHTS_FILE);
  if (!fs.existsSync(weightsFile)) {
    const pickle = fs.existsSync(path.join(absDir, "adapter_model.bin"));
    throw new LoraError(
      pickle
        ? `${label} has only adapter_model.bin (a PyTorch pickle, which is not read for safety); save it as ${ADAPTER_WEIGHTS_FILE} (PEFT's default).`
        : `${label} has no ${ADAPTER_WEIGHTS_FILE} in ${absDir}.`,
    );
  }
  let tensors;
  try {
    tensors = parseSafetensors(
      readBoundedFile(weightsFile, { maxBytes: FILE_LIMITS.adapterWeights, what: ADAPTER_WEIGHTS_FILE, root: absDir }).bytes,
      weightsFile,
    );
  } catch (e) {
    if (e instanceof BoundedFileError) throw new LoraError(`${label}: ${e.message}`);
    if (e instanceof SafetensorsError) throw new LoraError(`${label}: ${e.message}`);
    throw new LoraError(`${label}: ${weightsFile} could not be read (${(e as Error).message.replace(/\.$/, "")}).`);
  }

  const halves = new Map<string, { A?: string; B?: string }>();
  for (const key of tensors.entries.keys()) {
    if (/\.lora_embedding_[AB]\b/.test(key)) throw new LoraError(`${label} adapts an embedding (${key}); only linear layers can be applied.`);
    if (key.includes(".lora_magnitude_vector")) throw new LoraError(`${label} is a DoRA adapter (${key}), which Perplexity Lens cannot apply.`);
    if (key.includes(".modules_to_save."))
      throw new LoraError(`${label} also saves whole trained modules (${key}, modules_to_save), which Perplexity Lens cannot apply.`);
    const m = KEY_RE.exec(key);
    if (m === null) throw new LoraError(`${label}: ${weightsFile} holds ${key}, which is not a LoRA tensor (expected ….lora_A.weight / ….lora_B.weight).`);
    const modulePath = m[1]!;
    const pair = halves.get(modulePath) ?? {};
    pair[m[2] as "A" | "B"] = key;
    halves.set(modulePath, pair);
  }
  if (halves.size === 0) throw new LoraError(`${label}: ${weightsFile} holds no LoRA tensors.`);

  const modules: LoraModuleWeights[] = [];
  for (const [modulePath, pair] of halves) {
    if (pair.A === undefined || pair.B === undefined)
      throw new LoraError(`${label} has lora_${pair.A === undefined ? "B" : "A"} but no lora_${pair.A === undefined ? "A" : "B"} for ${modulePath}.`);
    if (!isTargetModule(config.targetModules, modulePath)) {
      throw new LoraError(`${label} has weights for ${modulePath}, which is not among its target_modules (${JSON.stringify(config.targetModules)}).`);
    }
    const a = tensors.entries.get(pair.A)!;
    const b = tensors.entries.get(pair.B)!;
    if (a.shape.length !== 2 || b.shape.length !== 2)
      throw new LoraError(`${label}: ${pair.A} and ${pair.B} must be matrices, not shapes ${JSON.stringify(a.shape)} and ${JSON.stringify(b.shape)}.`);
    const [rankA, inFeatures] = a.shape as [number, number];
    const [outFeatures, rankB] = b.shape as [number, number];
    if (rankA !== config.r || rankB !== config.r) {
      throw new LoraError(
        `${label}: ${modulePath} has rank ${rankA !== config.r ? rankA : rankB} (lora_A ${JSON.stringify(a.shape)}, lora_B ${JSON.stringify(b.shape)}) but ${ADAPTER_CONFIG_FILE} says r = ${config.r}.`,
      );
    }
    let A: Float32Array;
    let B: Float32Array;
    try {
      A = tensors.readFloat32(pair.A);
      B = tensors.readFloat32(pair.B);
    } catch (e) {
      throw new LoraError(`${label}: ${(e as Error).message}`);
    }
    for (const [values, key] of [
      [A, pair.A],
      [B, pair.B],
    ] as const) {
      for (let i = 0; i < values.length; i++)
        if (!Number.isFinite(values[i]!)) throw new LoraError(`${label}: ${key} contains a non-finite value (NaN or infinity).`);
    }
    const module = modulePath.slice(modulePath.lastIndexOf(".") + 1);
    modules.push({ path: modulePath, module, layer: layerOf(modulePath), rank: config.r, inFeatures, outFeatures, A, B });
  }
  modules.sort((x, y) => (x.layer ?? -1) - (y.layer ?? -1) || x.path.localeCompare(y.path));
  return { name, dir: absDir, config, scaling: loraScaling(config), modules };
}
