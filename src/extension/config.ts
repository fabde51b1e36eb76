/**
 * The extension's settings (`perplexityLens.*`), read through one typed object. Pure: no `vscode`.
 *
 * As in rust-analyzer's `Config` and vscode-eslint's `X.from(raw)` parsers, every raw value is checked
 * here once: a missing value takes its default, a bad one takes its default and adds one sentence to
 * `problems` (shown in the log), so the rest of the extension never sees an unchecked setting.
 * The manifest's `contributes.configuration` declares the same keys, defaults and bounds; a unit test
 * keeps the two in step.
 */
import type { WindowMethod } from "../core/types";

export const CONFIG_SECTION = "perplexityLens";

export type ColorMode = "surprisal" | "gltr";
export type AnnotationGranularity = "paragraph" | "line" | "block" | "off";
export type OversizedDocuments = "truncate" | "refuse";

export interface LensConfig {
  /** Embedded model name (a folder of the extension's models/), a model folder's name under `modelFolders`, or an absolute path. */
  model: string;
  /** Folders holding a model (config.json inside) or folders of models; honoured from workspace settings only when trusted. */
  modelFolders: string[];
  /** Extra folders of PEFT adapters; honoured from workspace settings only when trusted. */
  adapterFolders: string[];
  method: WindowMethod;
  /** Tokens per window, 0 = the model's context length. */
  window: number;
  /** Sliding-window stride, 0 = window / 2. */
  stride: number;
  topK: number;
  colorMode: ColorMode;
  /** 0.1 … 1: how strongly the theme's highlight colours are drawn. */
  opacity: number;
  annotationGranularity: AnnotationGranularity;
  /** Spans with fewer scored tokens than this get no inline perplexity. */
  annotationMinTokens: number;
  liveScoring: boolean;
  debounceMs: number;
  /** Language ids scored automatically when opened. */
  autoScoreLanguages: string[];
  /** Characters (UTF-16 code units) beyond which a document is truncated or refused. */
  maxDocumentSize: number;
  oversizedDocuments: OversizedDocuments;
  engineThreads: number;
  kvCacheBudgetMB: number;
}

/** Setting keys, relative to `perplexityLens.`. */
export const CONFIG_KEYS = {
  model: "model",
  modelFolders: "modelFolders",
  adapterFolders: "adapterFolders",
  method: "scoring.method",
  window: "scoring.window",
  stride: "scoring.stride",
  topK: "scoring.topK",
  colorMode: "highlights.colorMode",
  opacity: "highlights.opacity",
  annotationGranularity: "inlineAnnotations.granularity",
  annotationMinTokens: "inlineAnnotations.minTokens",
  liveScoring: "liveScoring.enabled",
  debounceMs: "liveScoring.debounceMs",
  autoScoreLanguages: "autoScoreLanguages",
  maxDocumentSize: "maxDocumentSize",
  oversizedDocuments: "oversizedDocuments",
  engineThreads: "engine.threads",
  kvCacheBudgetMB: "engine.kvCacheBudgetMB",
} as const satisfies Record<keyof LensConfig, string>;

export const DEFAULT_MODEL = "lens-gpt2-bpe4k";

export const CONFIG_DEFAULTS: Readonly<LensConfig> = Object.freeze({
  model: DEFAULT_MODEL,
  modelFolders: [],
  adapterFolders: [],
  method: "sliding",
  window: 0,
  stride: 0,
  topK: 5,
  colorMode: "surprisal",
  opacity: 1,
  annotationGranularity: "paragraph",
  annotationMinTokens: 4,
  liveScoring: true,
  debounceMs: 500,
  autoScoreLanguages: [],
  maxDocumentSize: 1_000_000,
  oversizedDocuments: "truncate",
  engineThreads: 1,
  kvCacheBudgetMB: 256,
});

/** Integer bounds, inclusive; the manifest states the same. */
export const CONFIG_BOUNDS = {
  window: [0, 1_048_576],
  stride: [0, 1_048_576],
  topK: [1, 20],
  opacity: [0.1, 1],
  annotationMinTokens: [1, 1000],
  debounceMs: [50, 10_000],
  maxDocumentSize: [1000, 100_000_000],
  engineThreads: [1, 64],
  kvCacheBudgetMB: [16, 65_536],
} as const satisfies Partial<Record<keyof LensConfig, readonly [number, number]>>;

/** Raw setting lookup by key relative to the section; undefined when unset. */
export type RawSettingReader = (key: string) => unknown;

export interface ParsedConfig {
  config: LensConfig;
  /** One sentence per setting whose value was not usable and was replaced by its default. */
  problems: string[];
}

export function parseLensConfig(read: RawSettingReader): ParsedConfig {
  const problems: string[] = [];
  const reader = new SettingParser(read, problems);
  const config: LensConfig = {
    model: reader.nonEmptyString("model"),
    modelFolders: reader.stringList("modelFolders"),
    adapterFolders: reader.stringList("adapterFolders"),
    method: reader.oneOf("method", ["sliding", "rolling"] as const),
    window: reader.integer("window"),
    stride: reader.integer("stride"),
    topK: reader.integer("topK"),
    colorMode: reader.oneOf("colorMode", ["surprisal", "gltr"] as const),
    opacity: reader.number("opacity"),
    annotationGranularity: reader.oneOf("annotationGranularity", ["paragraph", "line", "block", "off"] as const),
    annotationMinTokens: reader.integer("annotationMinTokens"),
    liveScoring: reader.boolean("liveScoring"),
    debounceMs: reader.integer("debounceMs"),
    autoScoreLanguages: reader.stringList("autoScoreLanguages"),
    maxDocumentSize: reader.integer("maxDocumentSize"),
    oversizedDocuments: reader.oneOf("oversizedDocuments", ["truncate", "refuse"] as const),
    engineThreads: reader.integer("engineThreads"),
    kvCacheBudgetMB: reader.integer("kvCacheBudgetMB"),
  };
  return { config, problems };
}

class SettingParser {
  constructor(
    private readonly read: RawSettingReader,
    private readonly problems: string[],
  ) {}

  private raw(field: keyof LensConfig): unknown {
    return this.read(CONFIG_KEYS[field]);
  }

  private reject<K extends keyof LensConfig>(field: K, value: unknown, expected: string): LensConfig[K] {
    const fallback = CONFIG_DEFAULTS[field];
    this.problems.push(
      `Setting ${CONFIG_SECTION}.${CONFIG_KEYS[field]} is ${JSON.stringify(value)} but must be ${expected}; using ${JSON.stringify(fallback)}.`,
    );
    return fallback;
  }

  nonEmptyString(field: "model"): string {
    const value = this.raw(field);
    if (value === undefined || value === null) return CONFIG_DEFAULTS[field];
    if (typeof value === "string" && value.trim() !== "") return value.trim();
    return this.reject(field, value, "a non-empty string");
  }

  stringList(field: "modelFolders" | "adapterFolders" | "autoScoreLanguages"): string[] {
    const value = this.raw(field);
    if (value === undefined || value === null) return [...CONFIG_DEFAULTS[field]];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      return [...this.reject(field, value, "a list of strings")];
    }
    // Empty entries are ignored and duplicates kept once, in order.
    return [...new Set(value.map((item: string) => item.trim()).filter((item) => item !== ""))];
  }

  oneOf<K extends "method" | "colorMode" | "annotationGranularity" | "oversizedDocuments", V extends LensConfig[K]>(
    field: K,
    allowed: readonly V[],
  ): LensConfig[K] {
    const value = this.raw(field);
    if (value === undefined || value === null) return CONFIG_DEFAULTS[field];
    if ((allowed as readonly unknown[]).includes(value)) return value as LensConfig[K];
    return this.reject(field, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  }

  integer(field: keyof typeof CONFIG_BOUNDS & keyof LensConfig): number {
    const value = this.raw(field);
    const [min, max] = CONFIG_BOUNDS[field];
    if (value === undefined || value === null) return CONFIG_DEFAULTS[field] as number;
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
    return this.reject(field, value, `an integer from ${min} to ${max}`) as number;
  }

  number(field: "opacity"): number {
    const value = this.raw(field);
    const [min, max] = CONFIG_BOUNDS[field];
    if (value === undefined || value === null) return CONFIG_DEFAULTS[field];
    if (typeof value === "number" && Number.isFinite(value) && value >= min && value <= max) return value;
    return this.reject(field, value, `a number from ${min} to ${max}`);
  }

  boolean(field: "liveScoring"): boolean {
    const value = this.raw(field);
    if (value === undefined || value === null) return CONFIG_DEFAULTS[field];
    if (typeof value === "boolean") return value;
    return this.reject(field, value, "true or false");
  }
}

/**
 * What a settings change requires, from least to most: nothing, redrawing decorations, rescoring open
 * documents, loading another model, or restarting the engine worker (thread count and cache budget are
 * fixed when the engine starts).
 */
export type ConfigChangeEffect = "none" | "redraw" | "rescore" | "reloadModel" | "restartEngine";

const EFFECT_ORDER: readonly ConfigChangeEffect[] = ["none", "redraw", "rescore", "reloadModel", "restartEngine"];

export const CONFIG_CHANGE_EFFECTS: Readonly<Record<keyof LensConfig, ConfigChangeEffect>> = {
  model: "reloadModel",
  modelFolders: "reloadModel",
  adapterFolders: "none",
  method: "rescore",
  window: "rescore",
  stride: "rescore",
  topK: "rescore",
  colorMode: "redraw",
  opacity: "redraw",
  annotationGranularity: "redraw",
  annotationMinTokens: "redraw",
  liveScoring: "none",
  debounceMs: "none",
  autoScoreLanguages: "none",
  maxDocumentSize: "rescore",
  oversizedDocuments: "rescore",
  engineThreads: "restartEngine",
  kvCacheBudgetMB: "restartEngine",
};

/**
 * Sorts a change into the strongest effect it needs. `affects(fullKey)` is
 * `ConfigurationChangeEvent.affectsConfiguration`; `fullKey` includes the `perplexityLens.` section.
 */
export function classifyConfigChange(affects: (fullKey: string) => boolean): {
  effect: ConfigChangeEffect;
  changed: (keyof LensConfig)[];
} {
  const changed = (Object.keys(CONFIG_KEYS) as (keyof LensConfig)[]).filter((field) =>
    affects(`${CONFIG_SECTION}.${CONFIG_KEYS[field]}`),
  );
  let effect: ConfigChangeEffect = "none";
  for (const field of changed) {
    const fieldEffect = CONFIG_CHANGE_EFFECTS[field];
    if (EFFECT_ORDER.indexOf(fieldEffect) > EFFECT_ORDER.indexOf(effect)) effect = fieldEffect;
  }
  return { effect, changed };
}

/** Settings a workspace must not set until it is trusted: they name files the engine will read. */
export const RESTRICTED_KEYS: readonly string[] = [CONFIG_KEYS.model, CONFIG_KEYS.modelFolders, CONFIG_KEYS.adapterFolders];
