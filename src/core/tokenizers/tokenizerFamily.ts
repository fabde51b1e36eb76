/**
 * What kind of tokenizer a tokenizer.json describes, read from its model, normalizer, pre-tokenizer and decoder,
 * and how one of its token strings maps back to the UTF-8 bytes of the text it stands for.
 */

import { byteLevelTokenBytes } from "./byteLevel";
import { utf8Encode } from "./utf8";

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export type TokenizerModelType = "BPE" | "WordPiece" | "Unigram";
export const SUPPORTED_MODEL_TYPES: readonly TokenizerModelType[] = ["BPE", "WordPiece", "Unigram"];

export interface TokenizerFamily {
  modelType: TokenizerModelType;
  /** Token strings spell bytes through GPT-2's byte-to-unicode table. */
  byteLevel: boolean;
  /** The character that stands for a space (SentencePiece "▁"), when the tokenizer uses one. */
  metaspace: string | null;
  /** `<0xNN>` tokens stand for single bytes. */
  byteFallback: boolean;
  /** WordPiece "##" (or a BPE model's continuing_subword_prefix). */
  continuingSubwordPrefix: string | null;
  continuingSubwordSuffix: string | null;
  /** e.g. "</w>": marks the end of a word; the whitespace it stands for was dropped. */
  endOfWordSuffix: string | null;
  /** Names of the normalizers applied (e.g. ["Lowercase", "NFKC"]). */
  normalizers: string[];
  /** A normalizer lowercases (Lowercase, or BertNormalizer with `lowercase`). */
  lowercases: boolean;
}

/** Every `type` in a component tree (Sequence components nest their parts under various keys). */
export function componentTypes(component: unknown): string[] {
  const types: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isJsonObject(node)) return;
    if (typeof node.type === "string") types.push(node.type);
    for (const key of ["normalizers", "pretokenizers", "pre_tokenizers", "decoders", "processors"]) visit(node[key]);
  };
  visit(component);
  return types;
}

/** Every component object in a tree, depth first. */
export function componentObjects(component: unknown): JsonObject[] {
  const found: JsonObject[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isJsonObject(node)) return;
    found.push(node);
    for (const key of ["normalizers", "pretokenizers", "pre_tokenizers", "decoders", "processors"]) visit(node[key]);
  };
  visit(component);
  return found;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** Reads the family of a parsed tokenizer.json; throws one sentence when its model type is not supported. */
export function detectTokenizerFamily(tokenizerJson: JsonObject): TokenizerFamily {
  const model = tokenizerJson.model;
  if (!isJsonObject(model)) throw new Error('tokenizer.json has no "model" object.');
  const modelType = inferModelType(model);
  const preTokenizers = componentObjects(tokenizerJson.pre_tokenizer);
  const decoders = componentObjects(tokenizerJson.decoder);
  const normalizers = componentObjects(tokenizerJson.normalizer);
  const byteLevel = [...preTokenizers, ...decoders].some((c) => c.type === "ByteLevel");

  let metaspace: string | null = null;
  for (const c of [...preTokenizers, ...decoders]) {
    if (c.type === "Metaspace") metaspace ??= nonEmptyString(c.replacement) ?? "\u2581";
  }
  for (const c of normalizers) {
    if (c.type === "Replace" && isJsonObject(c.pattern) && c.pattern.String === " ") metaspace ??= nonEmptyString(c.content);
    if (c.type === "Prepend") metaspace ??= nonEmptyString(c.prepend);
  }
  for (const c of decoders) {
    if (c.type === "Replace" && isJsonObject(c.pattern) && c.content === " ") metaspace ??= nonEmptyString(c.pattern.String);
  }

  const byteFallback = model.byte_fallback === true || decoders.some((c) => c.type === "ByteFallback");
  let continuingSubwordPrefix = nonEmptyString(model.continuing_subword_prefix);
  if (modelType === "WordPiece") continuingSubwordPrefix ??= "##";
  return {
    modelType,
    byteLevel,
    metaspace: byteLevel ? null : metaspace,
    byteFallback,
    continuingSubwordPrefix,
    continuingSubwordSuffix: nonEmptyString(model.continuing_subword_suffix),
    endOfWordSuffix: nonEmptyString(model.end_of_word_suffix),
    normalizers: normalizers.map((c) => String(c.type)).filter((t) => t !== "Sequence"),
    lowercases: normalizers.some((c) => c.type === "Lowercase" || (c.type === "BertNormalizer" && c.lowercase !== false)),
  };
}

function inferModelType(model: JsonObject): TokenizerModelType {
  const declared = model.type;
  if (typeof declared === "string") {
    if ((SUPPORTED_MODEL_TYPES as readonly string[]).includes(declared)) return declared as TokenizerModelType;
    throw new Error(`Unsupported tokenizer model type "${declared}": supported types are ${SUPPORTED_MODEL_TYPES.join(", ")}.`);
  }
  // Old tokenizer.json files omit the type; infer it as the tokenizers library does.
  if (Array.isArray(model.vocab)) return "Unigram";
  if (isJsonObject(model.vocab) && "merges" in model) return "BPE";
  if (isJsonObject(model.vocab) && "continuing_subword_prefix" in model) return "WordPiece";
  throw new Error(`Unsupported tokenizer model: it has no "type" and is not recognisable as ${SUPPORTED_MODEL_TYPES.join(", ")}.`);
}

/** Human description, e.g. "byte-level BPE", "SentencePiece BPE (byte fallback)", "WordPiece (lowercased)". */
export function describeFamily(family: TokenizerFamily): string {
  let name: string;
  if (family.byteLevel) name = `byte-level ${family.modelType}`;
  else if (family.modelType === "WordPiece") name = "WordPiece";
  else if (family.metaspace !== null) name = `SentencePiece ${family.modelType}`;
  else name = family.modelType;
  const notes: string[] = [];
  if (family.byteFallback && !family.byteLevel) notes.push("byte fallback");
  if (family.lowercases) notes.push("lowercased");
  const unicodeForms = family.normalizers.filter((n) => /^NF(K?)(C|D)$/.test(n));
  if (unicodeForms.length > 0) notes.push(unicodeForms.join("+"));
  return notes.length > 0 ? `${name} (${notes.join(", ")})` : name;
}

const BYTE_FALLBACK_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** UTF-8 bytes of the text a (non-added) vocabulary token string stands for. */
export function vocabularyTokenBytes(family: TokenizerFamily, token: string): Uint8Array {
  if (family.byteLevel) return byteLevelTokenBytes(token, utf8Encode);
  if (family.byteFallback) {
    const byte = BYTE_FALLBACK_TOKEN.exec(token);
    if (byte !== null) return Uint8Array.of(parseInt(byte[1] as string, 16));
  }
  let text = token;
  const prefix = family.continuingSubwordPrefix;
  if (prefix !== null && text.length > prefix.length && text.startsWith(prefix)) text = text.slice(prefix.length);
  for (const suffix of [family.endOfWordSuffix, family.continuingSubwordSuffix]) {
    if (suffix !== null && text.length > suffix.length && text.endsWith(suffix)) text = text.slice(0, -suffix.length);
  }
  if (family.metaspace !== null) text = text.split(family.metaspace).join(" ");
  return utf8Encode(text);
}
