/**
 * The extension's settings (`perplexityLens.*`), declared once in `SETTINGS` and read through one typed object.
 * Pure: no `vscode`.
 *
 * Each row of `SETTINGS` names one setting: its key, its type (the parser, with its bounds), its default,
 * what a change to it requires and how it is treated in an untrusted workspace. Everything else is derived
 * from the rows: the `LensConfig` type, the parser, the change classifier, the restricted keys and the
 * defaults. As in rust-analyzer's `Config` and vscode-eslint's `X.from(raw)` parsers, every raw value is
 * checked here once: a missing value takes its default, a bad one takes its default and adds one sentence to
 * `problems` (shown in the log), so the rest of the extension never sees an unchecked setting.
 * The manifest's `contributes.configuration` declares the same keys, types, defaults and bounds, and its
 * `restrictedConfigurations` the rows that are not honoured from any scope; a unit test keeps them in step.
 */
import type { ScoreOptions, WindowMethod } from "../core/types";
import type { ComparisonOptions } from "../core/comparisonData";
import { DEFAULT_KV_CACHE_BUDGET_MB, DEFAULT_MAX_DOCUMENT_SIZE, LIMITS } from "../core/limits";

export const CONFIG_SECTION = "perplexityLens";

export const DEFAULT_MODEL = "lens-gpt2-bpe4k";

// ---------------------------------------------------------------------------------------------------------
// Setting types: the parsers, and what the manifest declares for each

/** What `contributes.configuration` declares for a setting's type. */
export interface ManifestType {
  readonly type: "string" | "integer" | "number" | "boolean" | "array";
  readonly minimum?: number;
  readonly maximum?: number;
  readonly enum?: readonly string[];
  readonly items?: { readonly type: "string" };
}

/** How a raw setting value is checked. */
export interface SettingType<T> {
  readonly manifest: ManifestType;
  /** What a usable value is, as the problem sentence says it: "an integer from 0 to 1048576". */
  readonly expected: string;
  /** The usable value, or undefined when `raw` (never undefined or null) is not usable. */
  check(raw: unknown): T | undefined;
}

export function nonEmptyString(): SettingType<string> {
  return {
    manifest: { type: "string" },
    expected: "a non-empty string",
    check: (raw) => (typeof raw === "string" && raw.trim() !== "" ? raw.trim() : undefined),
  };
}

/** A list of strings; empty entries are ignored and duplicates kept once, in order. */
export function stringList(): SettingType<string[]> {
  return {
    manifest: { type: "array", items: { type: "string" } },
    expected: "a list of strings",
    check: (raw) =>
      Array.isArray(raw) && raw.every((item) => typeof item === "string")
        ? [...new Set(raw.map((item: string) => item.trim()).filter((item) => item !== ""))]
        : undefined,
  };
}

export function oneOf<const V extends string>(allowed: readonly V[]): SettingType<V> {
  return {
    manifest: { type: "string", enum: allowed },
    expected: `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
    check: (raw) => ((allowed as readonly unknown[]).includes(raw) ? (raw as V) : undefined),
  };
}

/** Inclusive bounds. */
export interface Bounds {
  readonly min: number;
  readonly max: number;
}

export function integer({ min, max }: Bounds): SettingType<number> {
  return {
    manifest: { type: "integer", minimum: min, maximum: max },
    expected: `an integer from ${min} to ${max}`,
    check: (raw) => (typeof raw === "number" && Number.isInteger(raw) && raw >= min && raw <= max ? raw : undefined),
  };
}

export function number({ min, max }: Bounds): SettingType<number> {
  return {
    manifest: { type: "number", minimum: min, maximum: max },
    expected: `a number from ${min} to ${max}`,
    check: (raw) => (typeof raw === "number" && Number.isFinite(raw) && raw >= min && raw <= max ? raw : undefined),
  };
}

export function boolean(): SettingType<boolean> {
  return {
    manifest: { type: "boolean" },
    expected: "true or false",
    check: (raw) => (typeof raw === "boolean" ? raw : undefined),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Change effects and trust rules

/**
 * What a settings change requires, from least to most: nothing, redrawing decorations, rescoring open
 * documents, loading another model, or restarting the engine worker (thread count and cache budget are
 * fixed when the engine starts).
 */
export type ConfigChangeEffect = "none" | "redraw" | "rescore" | "reloadModel" | "restartEngine";

const EFFECT_ORDER: readonly ConfigChangeEffect[] = ["none", "redraw", "rescore", "reloadModel", "restartEngine"];

/**
 * The values a workspace or folder setting of an untrusted workspace may take: at most `max`, at least
 * `min`, and 0 (which means "derive it from the model") when `zeroAllowed`. Values outside are moved to the
 * nearest bound.
 */
export interface SafeRange {
  readonly min?: number;
  readonly max?: number;
  readonly zeroAllowed?: boolean;
}

export interface ClampedWhenUntrusted {
  readonly kind: "clampedWhenUntrusted";
  readonly safe: SafeRange;
}

/**
 * How a setting is read in an untrusted workspace (Restricted Mode):
 *  - "any": from every scope, as in a trusted one;
 *  - "userOnly": from user settings only; workspace and folder values are ignored;
 *  - clampedWhenUntrusted(safe): workspace and folder values are moved into `safe`; user values are used as they are.
 * A trusted workspace's values are always used as they are.
 */
export type TrustRule = "any" | "userOnly" | ClampedWhenUntrusted;

export function clampedWhenUntrusted(safe: SafeRange): ClampedWhenUntrusted {
  return { kind: "clampedWhenUntrusted", safe };
}

export interface SettingRow<T> {
  /** The key, relative to `perplexityLens.`. */
  readonly key: string;
  readonly type: SettingType<T>;
  readonly default: T;
  readonly effect: ConfigChangeEffect;
  /** Only numbers can be clamped. */
  readonly trust: [T] extends [number] ? TrustRule : "any" | "userOnly";
}

function setting<T>(row: {
  key: string;
  type: SettingType<T>;
  default: NoInfer<T>;
  effect: ConfigChangeEffect;
  trust: NoInfer<SettingRow<T>["trust"]>;
}): SettingRow<T> {
  return row;
}

// ---------------------------------------------------------------------------------------------------------
// The table: one row per setting

export const SETTINGS = {
  /** Embedded model name (a folder of the extension's models/), a model folder's name under `modelFolders`, or an absolute path. */
  model: setting({ key: "model", type: nonEmptyString(), default: DEFAULT_MODEL, effect: "reloadModel", trust: "userOnly" }),
  /** Folders holding a model (config.json inside) or folders of models. They name files the engine reads. */
  modelFolders: setting({ key: "modelFolders", type: stringList(), default: [], effect: "reloadModel", trust: "userOnly" }),
  /** Extra folders of PEFT adapters. They name files the engine reads. */
  adapterFolders: setting({ key: "adapterFolders", type: stringList(), default: [], effect: "none", trust: "userOnly" }),
  method: setting({ key: "scoring.method", type: oneOf<WindowMethod>(["sliding", "rolling"]), default: "sliding", effect: "rescore", trust: "any" }),
  /**
   * Tokens per window, 0 = the model's context length. Untrusted: 0 or at least 128, since a tiny window
   * makes the default stride (half the window) tiny and so one forward pass per token or two.
   */
  window: setting({
    key: "scoring.window",
    type: integer(LIMITS.window),
    default: 0,
    effect: "rescore",
    trust: clampedWhenUntrusted({ min: 128, zeroAllowed: true }),
  }),
  /**
   * Sliding-window stride, 0 = window / 2. Untrusted: 0 or at least 64: the work grows as window / stride,
   * so stride 1 made a 6 KB text take 74× longer; 64 keeps it within 8× of the default for 512-token models.
   */
  stride: setting({
    key: "scoring.stride",
    type: integer(LIMITS.stride),
    default: 0,
    effect: "rescore",
    trust: clampedWhenUntrusted({ min: 64, zeroAllowed: true }),
  }),
  topK: setting({ key: "scoring.topK", type: integer(LIMITS.topK), default: 5, effect: "rescore", trust: "any" }),
  colorMode: setting({ key: "highlights.colorMode", type: oneOf(["surprisal", "gltr"]), default: "surprisal", effect: "redraw", trust: "any" }),
  /** 0.1 … 1: how strongly the theme's highlight colours are drawn. */
  opacity: setting({ key: "highlights.opacity", type: number({ min: 0.1, max: 1 }), default: 1, effect: "redraw", trust: "any" }),
  annotationGranularity: setting({
    key: "inlineAnnotations.granularity",
    type: oneOf(["paragraph", "line", "block", "off"]),
    default: "paragraph",
    effect: "redraw",
    trust: "any",
  }),
  /** Spans with fewer scored tokens than this get no inline perplexity. */
  annotationMinTokens: setting({ key: "inlineAnnotations.minTokens", type: integer({ min: 1, max: 1000 }), default: 4, effect: "redraw", trust: "any" }),
  liveScoring: setting({ key: "liveScoring.enabled", type: boolean(), default: true, effect: "none", trust: "any" }),
  debounceMs: setting({ key: "liveScoring.debounceMs", type: integer({ min: 50, max: 10_000 }), default: 500, effect: "none", trust: "any" }),
  /** Language ids scored automatically when opened. Untrusted: from user settings only, so a workspace cannot make every file it opens run the model. */
  autoScoreLanguages: setting({ key: "autoScoreLanguages", type: stringList(), default: [], effect: "none", trust: "userOnly" }),
  /** Characters (UTF-16 code units) beyond which a document is truncated or refused. Untrusted: at most the default. */
  maxDocumentSize: setting({
    key: "maxDocumentSize",
    type: integer(LIMITS.maxDocumentSize),
    default: DEFAULT_MAX_DOCUMENT_SIZE,
    effect: "rescore",
    trust: clampedWhenUntrusted({ max: 1_000_000 }),
  }),
  oversizedDocuments: setting({ key: "oversizedDocuments", type: oneOf(["truncate", "refuse"]), default: "truncate", effect: "rescore", trust: "any" }),
  /** onnxruntime intra-op threads. Untrusted: at most 2, so a workspace cannot take every core from the editor. */
  engineThreads: setting({
    key: "engine.threads",
    type: integer(LIMITS.threads),
    default: 1,
    effect: "restartEngine",
    trust: clampedWhenUntrusted({ max: 2 }),
  }),
  /** KV cache memory for all documents together, in MB. Untrusted: at most the default 256. */
  kvCacheBudgetMB: setting({
    key: "engine.kvCacheBudgetMB",
    type: integer(LIMITS.kvCacheBudgetMB),
    default: DEFAULT_KV_CACHE_BUDGET_MB,
    effect: "restartEngine",
    trust: clampedWhenUntrusted({ max: 256 }),
  }),
};

type SettingTable = typeof SETTINGS;
export type SettingField = keyof SettingTable;

/** The settings, checked: one field per row of `SETTINGS`. */
export type LensConfig = { -readonly [F in SettingField]: SettingTable[F]["type"] extends SettingType<infer T> ? T : never };

export type ColorMode = LensConfig["colorMode"];
export type AnnotationGranularity = LensConfig["annotationGranularity"];
export type OversizedDocuments = LensConfig["oversizedDocuments"];

/** A row with its value type erased, for code that walks every row. */
type AnyRow = {
  readonly key: string;
  readonly type: SettingType<unknown>;
  readonly default: unknown;
  readonly effect: ConfigChangeEffect;
  readonly trust: TrustRule;
};
const ROWS: Readonly<Record<SettingField, AnyRow>> = SETTINGS;

/** The fields, in the table's order. */
export const SETTING_FIELDS = Object.keys(SETTINGS) as SettingField[];

function derive<V>(value: (row: AnyRow, field: SettingField) => V): Record<SettingField, V> {
  return Object.fromEntries(SETTING_FIELDS.map((field) => [field, value(ROWS[field], field)])) as Record<SettingField, V>;
}

// ---------------------------------------------------------------------------------------------------------
// Derived from the table

/** Setting keys, relative to `perplexityLens.`. */
export const CONFIG_KEYS: Readonly<Record<SettingField, string>> = Object.freeze(derive((row) => row.key));

export const CONFIG_DEFAULTS: Readonly<LensConfig> = Object.freeze(derive((row) => row.default) as LensConfig);

/** Bounds of the numeric settings, inclusive; the manifest states the same. */
export const CONFIG_BOUNDS: Readonly<Partial<Record<SettingField, readonly [number, number]>>> = Object.freeze(
  Object.fromEntries(
    SETTING_FIELDS.flatMap((field) => {
      const { minimum, maximum } = ROWS[field].type.manifest;
      return minimum !== undefined && maximum !== undefined ? [[field, [minimum, maximum] as const]] : [];
    }),
  ),
);

export const CONFIG_CHANGE_EFFECTS: Readonly<Record<SettingField, ConfigChangeEffect>> = Object.freeze(derive((row) => row.effect));

/**
 * Settings not honoured as they are from an untrusted workspace's settings (user-only or clamped); the
 * manifest's `restrictedConfigurations` lists the same.
 */
export const RESTRICTED_KEYS: readonly string[] = SETTING_FIELDS.filter((field) => ROWS[field].trust !== "any").map((field) => ROWS[field].key);

/** The sentence a restricted setting's manifest description ends with. */
export function untrustedWorkspaceSentence(field: SettingField): string | undefined {
  const trust = ROWS[field].trust;
  if (trust === "any") return undefined;
  if (trust === "userOnly") return "Honoured from workspace settings only in trusted workspaces.";
  return `In untrusted workspaces a workspace or folder value ${describeOutside(trust.safe)} is moved to ${describeNearest(trust.safe)}.`;
}

function describeOutside({ min, max, zeroAllowed }: SafeRange): string {
  const below = min === undefined ? undefined : zeroAllowed ? `from 1 to ${min - 1}` : `below ${min}`;
  const above = max === undefined ? undefined : `above ${max}`;
  return [below, above].filter((s) => s !== undefined).join(" or ");
}

function describeNearest({ min, max }: SafeRange): string {
  return [min, max].filter((n) => n !== undefined).join(" or ");
}

function describeSafe({ min, max, zeroAllowed }: SafeRange): string {
  if (min !== undefined && max !== undefined) return `${zeroAllowed ? "0 or " : ""}from ${min} to ${max}`;
  if (min !== undefined) return `${zeroAllowed ? "0 or " : ""}at least ${min}`;
  return `at most ${max ?? Infinity}`;
}

function clampToSafe(value: number, { min, max, zeroAllowed }: SafeRange): number {
  if (zeroAllowed && value === 0) return 0;
  if (min !== undefined && value < min) return min;
  if (max !== undefined && value > max) return max;
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

/** Raw setting lookup by key relative to the section; undefined when unset. */
export type RawSettingReader = (key: string) => unknown;

export interface ParsedConfig {
  config: LensConfig;
  /** One sentence per setting whose value was not usable and was replaced (by its default or a safe value). */
  problems: string[];
}

const copied = <T>(value: T): T => (Array.isArray(value) ? ([...value] as T) : value);

function parseSetting(row: AnyRow, raw: unknown, problems: string[]): unknown {
  if (raw === undefined || raw === null) return copied(row.default);
  const value = row.type.check(raw);
  if (value !== undefined) return value;
  problems.push(`Setting ${CONFIG_SECTION}.${row.key} is ${JSON.stringify(raw)} but must be ${row.type.expected}; using ${JSON.stringify(row.default)}.`);
  return copied(row.default);
}

function buildConfig(value: (row: AnyRow, field: SettingField) => unknown): LensConfig {
  return derive(value) as LensConfig;
}

/** Reads every setting through `read` (one effective value per key), as in a trusted workspace. */
export function parseLensConfig(read: RawSettingReader): ParsedConfig {
  const problems: string[] = [];
  const config = buildConfig((row) => parseSetting(row, read(row.key), problems));
  return { config, problems };
}

/** A setting's values per scope, as `WorkspaceConfiguration.inspect(key)` gives them. */
export interface SettingScopes {
  readonly globalValue?: unknown;
  readonly workspaceValue?: unknown;
  readonly workspaceFolderValue?: unknown;
}

export type SettingInspector = (key: string) => SettingScopes | undefined;

/**
 * Reads every setting from its values per scope, applying each row's trust rule when the workspace is not
 * trusted. A workspace folder value wins over a workspace value, which wins over the user value.
 */
export function parseLensConfigFromScopes(inspect: SettingInspector, trusted: boolean): ParsedConfig {
  const problems: string[] = [];
  const config = buildConfig((row) => decideSetting(row, inspect(row.key) ?? {}, trusted, problems));
  return { config, problems };
}

function decideSetting(row: AnyRow, scopes: SettingScopes, trusted: boolean, problems: string[]): unknown {
  const workspaceRaw = scopes.workspaceFolderValue !== undefined ? scopes.workspaceFolderValue : scopes.workspaceValue;
  if (workspaceRaw === undefined) return parseSetting(row, scopes.globalValue, problems);
  if (trusted || row.trust === "any") return parseSetting(row, workspaceRaw, problems);
  if (row.trust === "userOnly") {
    const value = parseSetting(row, scopes.globalValue, problems);
    problems.push(
      `Setting ${CONFIG_SECTION}.${row.key} is ${JSON.stringify(workspaceRaw)} in the workspace settings but is read from user settings only while the workspace is not trusted; using ${JSON.stringify(value)}.`,
    );
    return value;
  }
  const value = parseSetting(row, workspaceRaw, problems);
  if (typeof value !== "number") return value;
  const safe = clampToSafe(value, row.trust.safe);
  if (safe !== value) {
    problems.push(
      `Setting ${CONFIG_SECTION}.${row.key} is ${JSON.stringify(value)} in the workspace settings but must be ${describeSafe(row.trust.safe)} while the workspace is not trusted; using ${JSON.stringify(safe)}.`,
    );
  }
  return safe;
}

/** The engine's score options, from the settings: the one place they are built. */
/** The comparison's options from settings: the score options without top-k (a comparison reports no alternatives). */
export function comparisonOptionsFrom(config: Pick<LensConfig, "method" | "window" | "stride">): ComparisonOptions {
  return { method: config.method, window: config.window, stride: config.stride };
}

export function scoreOptionsFrom(config: Pick<LensConfig, "method" | "window" | "stride" | "topK">): ScoreOptions {
  return { method: config.method, window: config.window, stride: config.stride, topK: config.topK };
}

// ---------------------------------------------------------------------------------------------------------
// Changes

/**
 * Sorts a change into the strongest effect it needs. `affects(fullKey)` is
 * `ConfigurationChangeEvent.affectsConfiguration`; `fullKey` includes the `perplexityLens.` section.
 */
export function classifyConfigChange(affects: (fullKey: string) => boolean): {
  effect: ConfigChangeEffect;
  changed: SettingField[];
} {
  const changed = SETTING_FIELDS.filter((field) => affects(`${CONFIG_SECTION}.${ROWS[field].key}`));
  let effect: ConfigChangeEffect = "none";
  for (const field of changed) {
    const fieldEffect = ROWS[field].effect;
    if (EFFECT_ORDER.indexOf(fieldEffect) > EFFECT_ORDER.indexOf(effect)) effect = fieldEffect;
  }
  return { effect, changed };
}
