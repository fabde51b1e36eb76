/**
 * The bounds of every cost setting that more than one entry point takes (the extension's settings, the command line,
 * the worker protocol), in one place: `src/extension/config.ts`'s SETTINGS rows, `src/cli/args.ts` and
 * `src/protocol/engine.ts` read them from here, and a unit test checks `package.json`'s `contributes.configuration`
 * against them. Inclusive.
 */

export interface Bounds {
  readonly min: number;
  readonly max: number;
}

export const LIMITS = {
  /** onnxruntime intra-op threads. */
  threads: { min: 1, max: 64 },
  /** Tokens per window including the prefix token; 0 = the model's context length. */
  window: { min: 0, max: 1_048_576 },
  /** Sliding-window stride; 0 = window / 2. */
  stride: { min: 0, max: 1_048_576 },
  /** Alternatives reported per token. */
  topK: { min: 1, max: 20 },
  /** KV cache memory for all documents together, MB. */
  kvCacheBudgetMB: { min: 16, max: 65_536 },
  /** Characters (UTF-16 code units) beyond which a document is truncated or refused. */
  maxDocumentSize: { min: 1000, max: 100_000_000 },
} as const satisfies Record<string, Bounds>;

export type LimitName = keyof typeof LIMITS;

/** Defaults shared by the entry points that have no settings of their own (the command line). */
export const DEFAULT_MAX_DOCUMENT_SIZE = 1_000_000;
export const DEFAULT_KV_CACHE_BUDGET_MB = 256;
