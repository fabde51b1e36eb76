/**
 * A small schema combinator set: each message of the protocol is declared once as a schema, and its TypeScript type
 * (`Infer<typeof schema>`) and its validator both come from that declaration.
 *
 * A schema checks an unknown value and names the first problem with a path ("params.options.topK must be an integer
 * from 0 to 100, not -1"), or returns null. Objects accept fields they do not declare (and ignore them), so an older
 * peer's extra field is not an error. Checking allocates nothing on success, so validating a large result (every
 * token of a document) costs one pass over it.
 *
 * `Schema<T>` is invariant in T, so `const s: Schema<Metrics> = object({...})` compiles only when the declared fields
 * are exactly Metrics' fields with exactly its types: the protocol's schemas of src/core's types stay tied to them.
 * Kept free of DOM, Node and `vscode` types: the webview compiles this file too.
 */

/** What every schema has, whatever it describes (the constraint for collections of schemas). */
export interface SchemaBase {
  /** What a valid value is, as a phrase ("an integer from 0 to 100"). */
  readonly expected: string;
  /** The first problem of `value`, as a sentence fragment naming `path`, or null when it is valid. */
  check(value: unknown, path: string): string | null;
}

export interface Schema<T> extends SchemaBase {
  /** Phantom member that makes Schema<T> invariant in T (never set). */
  readonly __type?: (value: T) => T;
}

/** A field that may be absent (only meaningful inside `object`). */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Fields = Record<string, SchemaBase>;
type OptionalKeys<F> = { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type FieldValue<S> = S extends OptionalSchema<infer T> ? T : Infer<S>;
export type ObjectOf<F> = Simplify<{ [K in Exclude<keyof F, OptionalKeys<F>>]: FieldValue<F[K]> } & { [K in OptionalKeys<F>]?: FieldValue<F[K]> }>;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return value.length <= 40 ? JSON.stringify(value) : `a string of ${value.length} characters`;
    case "number":
      return String(value);
    case "boolean":
      return String(value);
    case "undefined":
      return "missing";
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}

function schema<T>(expected: string, check: (value: unknown, path: string) => string | null): Schema<T> {
  return { expected, check };
}

const mismatch = (path: string, expected: string, value: unknown): string => `${path} must be ${expected}, not ${describe(value)}`;

export function string(options: { nonEmpty?: boolean; maxLength?: number } = {}): Schema<string> {
  const expected =
    (options.nonEmpty ? "a non-empty string" : "a string") + (options.maxLength !== undefined ? ` of at most ${options.maxLength} characters` : "");
  return schema(expected, (v, path) =>
    typeof v === "string" && !(options.nonEmpty && v === "") && !(options.maxLength !== undefined && v.length > options.maxLength)
      ? null
      : mismatch(path, expected, v),
  );
}

export interface NumberOptions {
  integer?: boolean;
  min?: number;
  max?: number;
}

/** A finite number (never NaN or ±Infinity), optionally an integer within [min, max]. */
export function number(options: NumberOptions = {}): Schema<number> {
  const kind = options.integer ? "an integer" : "a finite number";
  const { min, max } = options;
  const expected =
    min !== undefined && max !== undefined
      ? `${kind} from ${min} to ${max}`
      : min !== undefined
        ? `${kind} ≥ ${min}`
        : max !== undefined
          ? `${kind} ≤ ${max}`
          : kind;
  return schema(expected, (v, path) =>
    typeof v === "number" &&
    Number.isFinite(v) &&
    !(options.integer && !Number.isInteger(v)) &&
    !(min !== undefined && v < min) &&
    !(max !== undefined && v > max)
      ? null
      : mismatch(path, expected, v),
  );
}

/** A non-negative safe integer: counts, ids, offsets. */
export const count = (): Schema<number> => number({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });

export function boolean(): Schema<boolean> {
  return schema("true or false", (v, path) => (typeof v === "boolean" ? null : mismatch(path, "true or false", v)));
}

/** One of the listed literal values. */
export function oneOf<const V extends string | number | boolean>(...values: readonly V[]): Schema<V> {
  const expected = values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  return schema(expected, (v, path) => ((values as readonly unknown[]).includes(v) ? null : mismatch(path, expected, v)));
}

export function arrayOf<T>(item: Schema<T>, options: { minItems?: number; maxItems?: number } = {}): Schema<T[]> {
  const bounds =
    options.minItems !== undefined && options.maxItems !== undefined
      ? ` of ${options.minItems} to ${options.maxItems} items`
      : options.minItems !== undefined
        ? ` of at least ${options.minItems} items`
        : options.maxItems !== undefined
          ? ` of at most ${options.maxItems} items`
          : "";
  const expected = `a list${bounds} (each ${item.expected})`;
  return schema(expected, (v, path) => {
    if (!Array.isArray(v)) return mismatch(path, expected, v);
    if (options.minItems !== undefined && v.length < options.minItems) return `${path} must have at least ${options.minItems} items, not ${v.length}`;
    if (options.maxItems !== undefined && v.length > options.maxItems) return `${path} must have at most ${options.maxItems} items, not ${v.length}`;
    for (let i = 0; i < v.length; i++) {
      const problem = item.check(v[i], `${path}[${i}]`);
      if (problem !== null) return problem;
    }
    return null;
  });
}

/** A string-keyed map whose values all match `value`. */
export function recordOf<T>(value: Schema<T>): Schema<Record<string, T>> {
  const expected = `an object of ${value.expected}`;
  return schema(expected, (v, path) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return mismatch(path, expected, v);
    for (const [key, item] of Object.entries(v)) {
      const problem = value.check(item, `${path}.${key}`);
      if (problem !== null) return problem;
    }
    return null;
  });
}

export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return { optional: true, expected: `${inner.expected} (optional)`, check: (v, path) => (v === undefined ? null : inner.check(v, path)) };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return schema(`${inner.expected} or null`, (v, path) => (v === null ? null : inner.check(v, path)));
}

/** An object with these fields (others are ignored). */
export function object<F extends Fields>(fields: F): Schema<ObjectOf<F>> {
  const entries = Object.entries(fields);
  return schema("an object", (v, path) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return mismatch(path, "an object", v);
    const record = v as Record<string, unknown>;
    for (const [key, field] of entries) {
      const problem = field.check(record[key], `${path}.${key}`);
      if (problem !== null) return problem;
    }
    return null;
  });
}

/** `inner` plus a condition it cannot express (e.g. start ≤ end); `problem` says what is wrong in a sentence fragment. */
export function refine<T>(inner: Schema<T>, holds: (value: T) => boolean, problem: string): Schema<T> {
  return schema(inner.expected, (v, path) => {
    const first = inner.check(v, path);
    if (first !== null) return first;
    return holds(v as T) ? null : `${path}: ${problem}`;
  });
}

/** A schema defined later (for types that refer to each other). */
export function lazy<T>(get: () => Schema<T>): Schema<T> {
  let resolved: Schema<T> | undefined;
  const inner = (): Schema<T> => (resolved ??= get());
  return {
    get expected() {
      return inner().expected;
    },
    check: (v, path) => inner().check(v, path),
  };
}

/** Throws SchemaError naming the first problem; returns the value typed as T. */
export function parse<T>(s: Schema<T>, value: unknown, path: string): T {
  const problem = s.check(value, path);
  if (problem !== null) throw new SchemaError(problem);
  return value as T;
}

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SchemaError";
  }
}

/** Compile-time equality of two types (used to tie a derived type to a declared one). */
export type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
