/**
 * Text ⇄ token ids with exact UTF-16 offsets into the original text.
 *
 * Ids come from @huggingface/tokenizers (they match the Python `tokenizers` library); that library gives no
 * offsets, so they are rebuilt here from what each token stands for (see tokenizers/offsetAlignment.ts).
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { alignTokenOffsets, type TokenSurface, type UnknownSpanRule } from "./offsetAlignment";
import { describeFamily, detectTokenizerFamily, isJsonObject, vocabularyTokenBytes, type JsonObject, type TokenizerFamily } from "./tokenizerFamily";
import { tokenizerSafetyProblem, UnsafeTokenizerError } from "./tokenizerSafety";
import { decodeCompleteCharacters, utf8Encode } from "./utf8";

export interface EncodedText {
  ids: number[];
  /** UTF-16 [start, end) into the encoded text, one per token; ordered, never overlapping. */
  offsets: Array<[number, number]>;
}

/** The token put before the text so that its first token is scored too. */
export interface PrefixToken {
  id: number;
  text: string;
  kind: "bos" | "eos";
}

interface AddedTokenInfo {
  content: string;
  special: boolean;
}

export class TextTokenizer {
  /** Human description, e.g. "byte-level BPE", "SentencePiece BPE (byte fallback)", "WordPiece (lowercased)". */
  readonly type: string;
  /** Including added tokens (max id + 1). */
  readonly vocabSize: number;
  /**
   * BOS when the tokenizer adds one (tokenizer_config `add_bos_token`, or a post-processor that puts a special token
   * first), else EOS / `<|endoftext|>`, so the first token of the text is scored too. lm-evaluation-harness
   * (`HFLM.prefix_token_id`) takes the BOS id whenever the tokenizer defines one, else the EOS id; for GPT-2-style
   * tokenizers (bos = eos = <|endoftext|>) and Llama-style ones (BOS added) both rules give the same token.
   */
  readonly prefixToken: PrefixToken;
  /** The family details the offsets are rebuilt from. */
  readonly family: Readonly<TokenizerFamily>;

  private readonly surfaces: Array<TokenSurface | undefined>;
  private readonly texts: Array<string | undefined>;
  private readonly unknownSpanRule: UnknownSpanRule;
  private readonly unknownTokenContent: string | undefined;

  private constructor(
    private readonly tokenizer: Tokenizer,
    family: TokenizerFamily,
    private readonly addedTokens: ReadonlyMap<number, AddedTokenInfo>,
    private readonly unknownTokenId: number | null,
    vocabSize: number,
    prefixToken: PrefixToken,
  ) {
    this.family = family;
    this.type = describeFamily(family);
    this.vocabSize = vocabSize;
    this.prefixToken = prefixToken;
    this.surfaces = new Array<TokenSurface | undefined>(vocabSize);
    this.texts = new Array<string | undefined>(vocabSize);
    this.unknownSpanRule = family.modelType === "WordPiece" ? "pretoken" : "untilNextToken";
    this.unknownTokenContent = unknownTokenId === null ? undefined : tokenizer.id_to_token(unknownTokenId);
  }

  /**
   * Builds a tokenizer from parsed tokenizer.json and tokenizer_config.json objects (the config may be null or
   * undefined when the file is missing). Throws one clear sentence for input it cannot use.
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown): TextTokenizer {
    if (!isJsonObject(tokenizerJson)) throw new Error("tokenizer.json must contain a JSON object.");
    if (tokenizerConfig !== undefined && tokenizerConfig !== null && !isJsonObject(tokenizerConfig)) {
      throw new Error("tokenizer_config.json must contain a JSON object.");
    }
    const config: JsonObject = tokenizerConfig ?? {};
    // Before the library compiles its regexes or normalizes any text: nothing in the file may stall or exhaust the engine.
    const unsafe = tokenizerSafetyProblem(tokenizerJson);
    if (unsafe !== null) throw new UnsafeTokenizerError(unsafe);
    const family = detectTokenizerFamily(tokenizerJson);
    const json: JsonObject = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      ...tokenizerJson,
      added_tokens: Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [],
    };
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, config);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`tokenizer.json could not be loaded by @huggingface/tokenizers: ${reason.replace(/\.$/, "")}.`);
    }
    const addedTokens = new Map<number, AddedTokenInfo>();
    for (const [id, token] of tokenizer.get_added_tokens_decoder()) {
      addedTokens.set(id, { content: token.content, special: token.special });
    }
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) if (id > maxId) maxId = id;
    for (const id of addedTokens.keys()) if (id > maxId) maxId = id;
    if (maxId < 0) throw new Error("tokenizer.json has an empty vocabulary.");
    const unknownTokenId = tokenizer.model?.unk_token_id ?? null;
    const prefixToken = choosePrefixToken(tokenizer, tokenizerJson, config);
    if (canSplitAtWordMarks(family, tokenizerJson)) installWordSplit(tokenizer, family.metaspace as string);
    if (family.modelType === "Unigram") avoidSpreadInUnigramEncode(tokenizer);
    return new TextTokenizer(tokenizer, family, addedTokens, unknownTokenId, maxId + 1, prefixToken);
  }

  /** Token ids of the text (no special tokens added; special tokens written in the text are encoded as such) and their offsets. */
  encode(text: string): EncodedText {
    if (text.length === 0) return { ids: [], offsets: [] };
    const encoded = this.tokenizer.encode(text, { add_special_tokens: false });
    const ids: number[] = [];
    const surfaces: TokenSurface[] = [];
    for (let i = 0; i < encoded.ids.length; i++) {
      const id = encoded.ids[i];
      // The library maps a token string missing from the vocabulary to the unknown id, which may be undefined.
      if (typeof id !== "number" || !Number.isInteger(id)) continue;
      ids.push(id);
      let surface = this.surface(id);
      const tokenString = encoded.tokens[i];
      if (surface.unknown && tokenString !== undefined && tokenString !== this.unknownTokenContent) {
        // Unigram reports the piece of text it could not match in place of "<unk>": that is exactly what it stands for.
        surface = { bytes: vocabularyTokenBytes(this.family, tokenString), unknown: false };
      }
      surfaces.push(surface);
    }
    return { ids, offsets: alignTokenOffsets(text, surfaces, this.unknownSpanRule) };
  }

  /** Decoded text of one token, whitespace kept ("▁the" → " the"); "" when it is not text alone (a byte fragment, an unknown id). */
  tokenText(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return "";
    const cached = this.texts[id];
    if (cached !== undefined) return cached;
    const added = this.addedTokens.get(id);
    let text: string;
    if (added !== undefined) text = added.content;
    else if (this.tokenizer.id_to_token(id) === undefined) text = "";
    else text = decodeCompleteCharacters(this.surface(id).bytes);
    this.texts[id] = text;
    return text;
  }

  /** Decodes ids as the tokenizer's decoder does, with clean_up_tokenization_spaces false so text round-trips. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return "";
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`Token id ${id} is outside the vocabulary (0 to ${this.vocabSize - 1}).`);
      }
    }
    return this.tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Whether the id is an added token marked special (e.g. <|endoftext|>, <s>, [CLS]). */
  isSpecialToken(id: number): boolean {
    return this.addedTokens.get(id)?.special === true;
  }

  /** Token id of a token string (vocabulary or added token), if any. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  private surface(id: number): TokenSurface {
    const cached = this.surfaces[id];
    if (cached !== undefined) return cached;
    const added = this.addedTokens.get(id);
    let bytes: Uint8Array;
    if (added !== undefined) bytes = utf8Encode(added.content);
    else bytes = vocabularyTokenBytes(this.family, this.tokenizer.id_to_token(id) ?? "");
    const surface: TokenSurface = { bytes, unknown: id === this.unknownTokenId };
    if (id >= 0 && id < this.surfaces.length) this.surfaces[id] = surface;
    return surface;
  }
}

/** A token named in tokenizer_config.json: a string or an AddedToken object with `content`. */
function configTokenContent(value: unknown): string | null {
  if (typeof value === "string" && value.length > 0) return value;
  if (isJsonObject(value) && typeof value.content === "string" && value.content.length > 0) return value.content;
  return null;
}

/** The special token the post-processor puts before a single sequence, if any (TemplateProcessing, Bert/RobertaProcessing). */
function postProcessorLeadingToken(postProcessor: unknown): string | null {
  if (!isJsonObject(postProcessor)) return null;
  switch (postProcessor.type) {
    case "TemplateProcessing": {
      const single = postProcessor.single;
      const first: unknown = Array.isArray(single) ? single[0] : undefined;
      if (isJsonObject(first) && isJsonObject(first.SpecialToken) && typeof first.SpecialToken.id === "string") {
        return first.SpecialToken.id;
      }
      return null;
    }
    case "BertProcessing":
    case "RobertaProcessing": {
      const cls = postProcessor.cls;
      return Array.isArray(cls) && typeof cls[0] === "string" ? cls[0] : null;
    }
    case "Sequence": {
      const processors = postProcessor.processors;
      if (!Array.isArray(processors)) return null;
      for (const processor of processors) {
        const token = postProcessorLeadingToken(processor);
        if (token !== null) return token;
      }
      return null;
    }
    default:
      return null;
  }
}

function choosePrefixToken(tokenizer: Tokenizer, tokenizerJson: JsonObject, config: JsonObject): PrefixToken {
  const resolve = (content: string | null, kind: PrefixToken["kind"]): PrefixToken | null => {
    if (content === null) return null;
    const id = tokenizer.token_to_id(content);
    return id === undefined ? null : { id, text: content, kind };
  };
  const addsBos = config.add_bos_token;
  if (addsBos === true) {
    const bos = resolve(configTokenContent(config.bos_token), "bos") ?? resolve(postProcessorLeadingToken(tokenizerJson.post_processor), "bos");
    if (bos !== null) return bos;
  } else if (addsBos === undefined) {
    const bos = resolve(postProcessorLeadingToken(tokenizerJson.post_processor), "bos");
    if (bos !== null) return bos;
  }
  const eos =
    resolve(configTokenContent(config.eos_token), "eos") ??
    resolve("<|endoftext|>", "eos") ??
    resolve("</s>", "eos") ??
    resolve("<eos>", "eos") ??
    resolve("<|end_of_text|>", "eos");
  if (eos !== null) return eos;
  const bos = resolve(configTokenContent(config.bos_token), "bos") ?? resolve("<s>", "bos") ?? resolve("[CLS]", "bos");
  if (bos !== null) return bos;
  throw new Error("The tokenizer has neither a BOS nor an EOS token to put before the text, so its first token cannot be scored.");
}

/**
 * SentencePiece-style tokenizers (Metaspace) reach the model as one word per text section: the library's Metaspace
 * pre-tokenizer never splits, and Llama-style files have no pre-tokenizer at all. That is slow on long texts (the
 * library's BPE is O(n log n) per word and caches only words under 256 characters) and its Unigram model crashes
 * ("Maximum call stack size exceeded") on words of ~100k pieces. When no vocabulary piece (or BPE merge) contains
 * the space mark after another character, no piece can cross the boundary before a space mark that follows another
 * character, so splitting words there gives the same ids (BPE merges and the Unigram lattice decompose at such
 * boundaries; it is also what the Rust library's Metaspace `split: true` does) — checked by the unit tests against
 * the unmodified library.
 */
function canSplitAtWordMarks(family: TokenizerFamily, tokenizerJson: JsonObject): boolean {
  if (family.byteLevel || family.metaspace === null || family.metaspace.length !== 1) return false;
  const model = tokenizerJson.model;
  if (!isJsonObject(model) || model.ignore_merges === true) return false;
  const mark = family.metaspace;
  const crossesWordStart = (token: string): boolean => {
    for (let i = token.indexOf(mark, 1); i >= 0; i = token.indexOf(mark, i + 1)) {
      if (token[i - 1] !== mark) return true;
    }
    return false;
  };
  if (family.modelType === "BPE") {
    if (!isJsonObject(model.vocab) || !Array.isArray(model.merges)) return false;
    for (const token of Object.keys(model.vocab)) if (crossesWordStart(token)) return false;
    for (const merge of model.merges as unknown[]) {
      const merged = Array.isArray(merge) ? merge.join("") : typeof merge === "string" ? merge.replace(" ", "") : "";
      if (crossesWordStart(merged)) return false;
    }
    return true;
  }
  if (family.modelType === "Unigram") {
    if (!Array.isArray(model.vocab)) return false;
    for (const entry of model.vocab as unknown[]) {
      const piece: unknown = Array.isArray(entry) ? entry[0] : undefined;
      if (typeof piece !== "string" || crossesWordStart(piece)) return false;
    }
    return true;
  }
  return false;
}

/**
 * The library's Unigram `encode` appends each word's pieces with `push(...pieces)`, which overflows the call stack
 * for a word of more than ~100k pieces (a long line without spaces); the same loop without the spread.
 */
function avoidSpreadInUnigramEncode(tokenizer: Tokenizer): void {
  const model = tokenizer.model as unknown as { tokenize?: (word: string) => string[]; encode: (words: string[]) => string[] } | null;
  if (model === null || typeof model.tokenize !== "function") return;
  const tokenize = model.tokenize.bind(model);
  model.encode = (words: string[]): string[] => {
    const pieces: string[] = [];
    for (const word of words) for (const piece of tokenize(word)) pieces.push(piece);
    return pieces;
  };
}

type PreTokenizeFunction = (text: string, options?: unknown) => string[];

function installWordSplit(tokenizer: Tokenizer, mark: string): void {
  const original = tokenizer.pre_tokenizer as unknown as PreTokenizeFunction | null;
  const splitWords: PreTokenizeFunction = (text, options) => {
    const pieces = original !== null ? original(text, options) : [text];
    const out: string[] = [];
    for (const piece of pieces) {
      let from = 0;
      for (let i = piece.indexOf(mark, 1); i >= 0; i = piece.indexOf(mark, i + 1)) {
        if (piece[i - 1] !== mark) {
          out.push(piece.slice(from, i));
          from = i;
        }
      }
      out.push(piece.slice(from));
    }
    return out;
  };
  (tokenizer as unknown as { pre_tokenizer: PreTokenizeFunction }).pre_tokenizer = splitWords;
}
