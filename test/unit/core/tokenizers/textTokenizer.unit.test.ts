import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { TextTokenizer, type EncodedText } from "../../../../src/core/tokenizers/textTokenizer";
import { utf8ByteLength, utf8Encode, decodeCompleteCharacters } from "../../../../src/core/tokenizers/utf8";
import { uniformRandom } from "../../../helpers/onnxBuilder";
import { repoRoot } from "../../../helpers/paths";

const root = repoRoot;
const fixtureDir = path.join(root, "test", "fixtures", "tokenizers");

interface TokenizerFiles {
  name: string;
  json: Record<string, unknown>;
  config: Record<string, unknown> | null;
}

function readFiles(folder: string, name: string): TokenizerFiles {
  const json = JSON.parse(fs.readFileSync(path.join(folder, "tokenizer.json"), "utf8")) as Record<string, unknown>;
  const configPath = path.join(folder, "tokenizer_config.json");
  const config = fs.existsSync(configPath) ? (JSON.parse(fs.readFileSync(configPath, "utf8")) as Record<string, unknown>) : null;
  return { name, json, config };
}

const fixture = (name: string): TokenizerFiles => readFiles(path.join(fixtureDir, name), name);

/** The model kit's tokenizers, when they have been built (models/<name>/tokenizer.json). */
function modelFiles(name: string): TokenizerFiles | null {
  const folder = path.join(root, "models", name);
  return fs.existsSync(path.join(folder, "tokenizer.json")) ? readFiles(folder, name) : null;
}

const BYTE_LEVEL = fixture("tiny-bytelevel-bpe");
const LLAMA_SP = fixture("tiny-llama-sp");
const BERT = fixture("tiny-bert-wordpiece");
const UNIGRAM = fixture("tiny-unigram-nfkc");
/** The byte-level fixture with an NFKC + lowercase normalizer, so the token bytes no longer equal the text's. */
const BYTE_LEVEL_NFKC_LOWER: TokenizerFiles = {
  name: "tiny-bytelevel-bpe + NFKC + Lowercase",
  json: { ...BYTE_LEVEL.json, normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] } },
  config: BYTE_LEVEL.config,
};
/** A byte-level tokenizer whose normalizer rewrites, deletes and adds characters, so tokens and text disagree. */
const BYTE_LEVEL_REWRITING: TokenizerFiles = {
  name: "tiny-bytelevel-bpe + rewriting Replace/Prepend normalizer",
  json: {
    ...BYTE_LEVEL.json,
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Replace", pattern: { String: "a" }, content: "bc" },
        { type: "Replace", pattern: { String: "ﬁ" }, content: "fo" },
        { type: "Replace", pattern: { String: "e" }, content: "" },
        { type: "Replace", pattern: { String: "😀" }, content: "q" },
        { type: "Prepend", prepend: "Z" },
      ],
    },
  },
  config: BYTE_LEVEL.config,
};
const MODEL_NAMES = ["lens-gpt2-bpe4k", "lens-gpt2-byte", "lens-llama-sp"];
const MODELS = MODEL_NAMES.map((name) => ({ name, files: modelFiles(name) }));

const load = (files: TokenizerFiles): TextTokenizer => TextTokenizer.fromJson(files.json, files.config);
const library = (files: TokenizerFiles): Tokenizer => new Tokenizer(files.json, files.config ?? {});

/** [decoded token text, [start, end]] for readable expectations. */
function spans(tokenizer: TextTokenizer, encoded: EncodedText): Array<[string, number, number]> {
  return encoded.ids.map((id, i) => {
    const [start, end] = encoded.offsets[i] as [number, number];
    return [tokenizer.tokenText(id), start, end];
  });
}

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;
const WHITESPACE = /\s/;

/** Replaces lone surrogates by U+FFFD, as UTF-8 encoding does. */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/**
 * The invariants every tokenizer must keep: one range per token, valid, not splitting a surrogate pair, ordered and
 * disjoint, together covering every non-whitespace character (every character when `coverAll`).
 */
function assertOffsetInvariants(text: string, encoded: EncodedText, coverAll: boolean, label: string): void {
  assert.equal(encoded.offsets.length, encoded.ids.length, `${label}: one range per token`);
  // Messages are built only on failure: the texts can be a megabyte long.
  const fail = (i: number, why: string): never => {
    const [start, end] = encoded.offsets[i] ?? [NaN, NaN];
    assert.fail(`${label}: token ${i} [${start}, ${end}) ${why} in ${JSON.stringify(text.length > 300 ? text.slice(0, 300) + "…" : text)}`);
  };
  let previousEnd = 0;
  const covered = new Uint8Array(text.length);
  encoded.offsets.forEach(([start, end], i) => {
    if (!Number.isInteger(start) || !Number.isInteger(end)) fail(i, "has non-integer offsets");
    if (!(0 <= start && start <= end && end <= text.length)) fail(i, "is outside the text");
    if (start < previousEnd) fail(i, `overlaps the previous token (which ends at ${previousEnd})`);
    for (const p of [start, end]) {
      if (p > 0 && p < text.length && isHighSurrogate(text.charCodeAt(p - 1)) && isLowSurrogate(text.charCodeAt(p))) {
        fail(i, "splits a surrogate pair");
      }
    }
    covered.fill(1, start, end);
    previousEnd = end;
  });
  if (encoded.ids.length === 0) return;
  for (let p = 0; p < text.length; p++) {
    if (covered[p]) continue;
    const what = `character ${p} (${JSON.stringify(text[p])}) of ${JSON.stringify(text.length > 300 ? text.slice(Math.max(0, p - 100), p + 100) : text)}`;
    assert.ok(!coverAll, `${label}: ${what} is in no token`);
    assert.ok(WHITESPACE.test(text[p] as string), `${label}: non-whitespace ${what} is in no token`);
  }
}

/** Comparison form: NFKD, lowercase, no combining marks, no whitespace. */
const fold = (s: string): string =>
  s
    .normalize("NFKD")
    .toLowerCase()
    .replace(/\p{M}|\s|ς/gu, (c) => (c === "ς" ? "σ" : ""));

/**
 * Alignment quality for normalizing tokenizers: read in order, the folded text under the tokens' ranges spells the
 * tokens. A character split between tokens ("ﬁ" → "f" | "ine") lies under the first, so what it spells beyond that
 * token carries over to the next. Unknown tokens and byte fragments (no text of their own) restart the comparison.
 */
function assertRangesSpellTokens(tokenizer: TextTokenizer, text: string, label: string): void {
  const encoded = tokenizer.encode(text);
  assertOffsetInvariants(text, encoded, false, label);
  let carried = "";
  encoded.ids.forEach((id, i) => {
    const [start, end] = encoded.offsets[i] as [number, number];
    const spelled = fold(tokenizer.tokenText(id));
    if (id === tokenizer.tokenId("[UNK]") || id === tokenizer.tokenId("<unk>") || spelled === "") {
      carried = "";
      return;
    }
    const under = carried + fold(text.slice(start, end));
    if (!under.startsWith(spelled)) {
      assert.fail(
        `${label}: token ${i} ${JSON.stringify(tokenizer.tokenText(id))} has [${start}, ${end}) = ${JSON.stringify(text.slice(start, end))} (carried ${JSON.stringify(carried)}) in ${JSON.stringify(text)}`,
      );
    }
    carried = under.slice(spelled.length);
  });
}

/** GPT-2's bytes_to_unicode, rebuilt here independently of src/ to check byte-level offsets against. */
function gpt2CharacterToByte(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const characters = bytes.map((b) => b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      characters.push(256 + n++);
    }
  }
  return new Map(bytes.map((b, i) => [String.fromCharCode(characters[i] as number), b]));
}
const CHARACTER_TO_BYTE = gpt2CharacterToByte();

/**
 * Reference offsets for a byte-level tokenizer without a normalizer: token i holds bytes [b_i, b_i+1) of the UTF-8 text;
 * it owns the characters whose first byte it holds; a token owning none gets an empty range at the end of the character
 * its first byte belongs to.
 */
function byteLevelReferenceOffsets(text: string, tokens: readonly string[], specials: ReadonlySet<string>): Array<[number, number]> {
  const characterAtByte: number[] = []; // UTF-16 start of the character each byte belongs to
  const characterEnd = new Map<number, number>();
  let position = 0;
  for (const character of text) {
    const length = utf8ByteLength(character);
    for (let k = 0; k < length; k++) characterAtByte.push(position);
    characterEnd.set(position, position + character.length);
    position += character.length;
  }
  const offsets: Array<[number, number]> = [];
  const tokenBytes: number[] = [];
  let byte = 0;
  for (const token of tokens) {
    if (specials.has(token)) tokenBytes.push(...new TextEncoder().encode(token));
    else
      for (const character of token)
        tokenBytes.push(CHARACTER_TO_BYTE.get(character) ?? assert.fail(`${JSON.stringify(character)} is not a byte-level character`));
    const length = specials.has(token) ? utf8ByteLength(token) : [...token].length;
    const first = byte;
    byte += length;
    const owned: number[] = [];
    for (let b = first; b < byte; b++) {
      const start = characterAtByte[b] as number;
      if (b === 0 || characterAtByte[b - 1] !== start) owned.push(start);
    }
    if (owned.length > 0) {
      const last = owned[owned.length - 1] as number;
      offsets.push([owned[0] as number, characterEnd.get(last) as number]);
    } else {
      const end = characterEnd.get(characterAtByte[first] as number) as number;
      offsets.push([end, end]);
    }
  }
  assert.equal(byte, utf8ByteLength(text), "the reference consumed every byte");
  assert.deepEqual(tokenBytes, Array.from(new TextEncoder().encode(text)), "the tokens spell the text's UTF-8 bytes");
  return offsets;
}

const WHITESPACE_RUNS = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000", " \t ", "\u2028", "\r"];
const SPECIAL_STRINGS = ["<|endoftext|>", "<s>", "</s>", "<unk>", "[CLS]", "[UNK]", "[MASK]", "<pad>"];
const WORDS = ["the", "cat", "Hello", "world", "café", "naïve", "ΣΟΦΟΣ", "Straße", "ﬁne", "①", "İstanbul", "hello,", "it's", "x"];

/** Random text from every plane, lone surrogates, combining marks, controls, specials and whitespace runs. */
function randomText(random: () => number, maxPieces: number): string {
  const pieces: string[] = [];
  const count = Math.floor(random() * maxPieces);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  for (let i = 0; i < count; i++) {
    const kind = Math.floor(random() * 12);
    switch (kind) {
      case 0:
        pieces.push(pick(WHITESPACE_RUNS));
        break;
      case 1:
        pieces.push(pick(WORDS));
        break;
      case 2:
        pieces.push(pick(SPECIAL_STRINGS));
        break;
      case 3: // any code point of any plane (surrogate code points give lone surrogates)
        pieces.push(String.fromCodePoint(Math.floor(random() * 0x110000)));
        break;
      case 4: // astral, planes 1–16
        pieces.push(String.fromCodePoint(0x10000 + Math.floor(random() * 0x100000)));
        break;
      case 5: // lone surrogates
        pieces.push(String.fromCharCode(0xd800 + Math.floor(random() * 0x800)));
        break;
      case 6: // combining marks after a letter, or alone
        pieces.push((random() < 0.7 ? "e" : "") + String.fromCharCode(0x300 + Math.floor(random() * 0x70)));
        break;
      case 7: // CJK and emoji
        pieces.push(pick(["中", "文", "日本語", "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "한국어"]));
        break;
      case 8: // controls and format characters
        pieces.push(pick(["\u0000", "\u0007", "\u001f", "\u007f", "\u200b", "\u200d", "\ufeff", "\u00ad", "\ufffd"]));
        break;
      case 9: // BMP
        pieces.push(String.fromCharCode(Math.floor(random() * 0x10000)));
        break;
      default: // ASCII
        pieces.push(String.fromCharCode(32 + Math.floor(random() * 95)));
    }
  }
  return pieces.join("");
}

describe("fixtures load in @huggingface/tokenizers and round-trip", () => {
  const texts = ["Hello world", "the cat sat in the world\n\nThe end.", "😀 中 x", "e\u0301 café\r\n\tok"];
  for (const files of [BYTE_LEVEL, LLAMA_SP]) {
    test(files.name, () => {
      const tokenizer = library(files);
      for (const text of texts) {
        const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
        assert.ok(ids.length > 0);
        assert.equal(tokenizer.decode(ids, { clean_up_tokenization_spaces: false }), text);
      }
    });
  }
  test("tiny-bert-wordpiece (lowercased, accents stripped)", () => {
    const tokenizer = library(BERT);
    const ids = tokenizer.encode("Héllo, Wörld! unbelievable", { add_special_tokens: false }).ids;
    // The WordPiece decoder's own `cleanup` joins punctuation; clean_up_tokenization_spaces is a separate step.
    assert.equal(tokenizer.decode(ids, { clean_up_tokenization_spaces: false }), "hello, world! unbelievable");
    assert.deepEqual(tokenizer.encode("hello", { add_special_tokens: true }).tokens, ["[CLS]", "hello", "[SEP]"]);
  });
  test("tiny-unigram-nfkc", () => {
    const tokenizer = library(UNIGRAM);
    const ids = tokenizer.encode("the fine world", { add_special_tokens: false }).ids;
    assert.equal(tokenizer.decode(ids, { clean_up_tokenization_spaces: false }), "the fine world");
  });
});

describe("TextTokenizer.fromJson", () => {
  test("describes each family, counts the vocabulary and picks the prefix token", () => {
    const cases: Array<[TokenizerFiles, string, number, { text: string; kind: string }]> = [
      [BYTE_LEVEL, "byte-level BPE", 274, { text: "<|endoftext|>", kind: "eos" }],
      [LLAMA_SP, "SentencePiece BPE (byte fallback)", 301, { text: "<s>", kind: "bos" }],
      [BERT, "WordPiece (lowercased)", 125, { text: "[CLS]", kind: "bos" }],
      [UNIGRAM, "SentencePiece Unigram (NFKC)", 91, { text: "</s>", kind: "eos" }],
      [BYTE_LEVEL_NFKC_LOWER, "byte-level BPE (lowercased, NFKC)", 274, { text: "<|endoftext|>", kind: "eos" }],
    ];
    for (const [files, type, vocabSize, prefix] of cases) {
      const tokenizer = load(files);
      assert.equal(tokenizer.type, type, files.name);
      assert.equal(tokenizer.vocabSize, vocabSize, files.name);
      assert.equal(tokenizer.prefixToken.text, prefix.text, files.name);
      assert.equal(tokenizer.prefixToken.kind, prefix.kind, files.name);
      assert.equal(tokenizer.tokenId(prefix.text), tokenizer.prefixToken.id, files.name);
    }
  });

  test("prefix: BOS only when the config (or, without a config, the post-processor) adds it; else EOS", () => {
    assert.deepEqual(TextTokenizer.fromJson(LLAMA_SP.json, { ...LLAMA_SP.config, add_bos_token: false }).prefixToken, {
      id: 2,
      text: "</s>",
      kind: "eos",
    });
    assert.deepEqual(TextTokenizer.fromJson(LLAMA_SP.json, null).prefixToken, { id: 1, text: "<s>", kind: "bos" });
    assert.deepEqual(TextTokenizer.fromJson(LLAMA_SP.json, { add_bos_token: true, bos_token: { content: "<s>" } }).prefixToken, {
      id: 1,
      text: "<s>",
      kind: "bos",
    });
    // GPT-2: bos_token is <|endoftext|> but nothing adds it, so it is the EOS that lm-evaluation-harness prepends.
    assert.equal(TextTokenizer.fromJson(BYTE_LEVEL.json, {}).prefixToken.kind, "eos");
  });

  test("refuses what it cannot use, in one sentence", () => {
    const oneSentence =
      (pattern: RegExp) =>
      (error: unknown): boolean => {
        assert.ok(error instanceof Error);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes("\n") && error.message.endsWith("."), error.message);
        return true;
      };
    assert.throws(() => TextTokenizer.fromJson("nope", {}), oneSentence(/tokenizer\.json must contain a JSON object/));
    assert.throws(() => TextTokenizer.fromJson(null, {}), oneSentence(/JSON object/));
    assert.throws(() => TextTokenizer.fromJson({ version: "1.0" }, {}), oneSentence(/no "model"/));
    assert.throws(
      () => TextTokenizer.fromJson({ ...BYTE_LEVEL.json, model: { type: "WordLevel", vocab: { a: 0 }, unk_token: "a" } }, {}),
      oneSentence(/Unsupported tokenizer model type "WordLevel": supported types are BPE, WordPiece, Unigram/),
    );
    assert.throws(() => TextTokenizer.fromJson(BYTE_LEVEL.json, [1, 2]), oneSentence(/tokenizer_config\.json must contain a JSON object/));
    assert.throws(
      () => TextTokenizer.fromJson({ ...BYTE_LEVEL.json, pre_tokenizer: { type: "NoSuchPreTokenizer" } }, {}),
      oneSentence(/could not be loaded by @huggingface\/tokenizers/),
    );
    const noSpecials = {
      ...BERT.json,
      added_tokens: [],
      post_processor: null,
      model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", vocab: { "[UNK]": 0, a: 1, "##a": 2 } },
    };
    assert.throws(() => TextTokenizer.fromJson(noSpecials, {}), oneSentence(/neither a BOS nor an EOS token/));
  });
});

describe("offsets by hand", () => {
  test("byte-level: an emoji and a CJK character split across byte tokens belong to the first token", () => {
    const tokenizer = load(BYTE_LEVEL);
    // 😀 = F0 9F 98 80 → "ðŁ" (merged F0 9F), "ĺ", "Ģ"; 中 = E4 B8 AD → "ä¸" (merged E4 B8), "Ń".
    assert.deepEqual(spans(tokenizer, tokenizer.encode("😀 中 x")), [
      ["", 0, 2],
      ["", 2, 2],
      ["", 2, 2],
      [" ", 2, 3],
      ["", 3, 4],
      ["", 4, 4],
      [" ", 4, 5],
      ["x", 5, 6],
    ]);
  });

  test("byte-level: combining mark, CRLF, tab, spaces", () => {
    const tokenizer = load(BYTE_LEVEL);
    // e + U+0301 (CC 81): the mark's two bytes are two tokens; "\r\n" is one merged token.
    assert.deepEqual(spans(tokenizer, tokenizer.encode("e\u0301\r\n\t  the")), [
      ["e", 0, 1],
      ["", 1, 2],
      ["", 2, 2],
      ["\r\n", 2, 4],
      ["\t", 4, 5],
      [" ", 5, 6],
      [" the", 6, 10],
    ]);
  });

  test("byte-level: a literal <|endoftext|> in the text is the special token", () => {
    const tokenizer = load(BYTE_LEVEL);
    const encoded = tokenizer.encode("a<|endoftext|> the");
    assert.deepEqual(spans(tokenizer, encoded), [
      ["a", 0, 1],
      ["<|endoftext|>", 1, 14],
      [" the", 14, 18],
    ]);
    assert.equal(encoded.ids[1], tokenizer.prefixToken.id);
    assert.ok(tokenizer.isSpecialToken(encoded.ids[1] as number));
  });

  test("byte-level: a lone surrogate is U+FFFD's three bytes, owned by the first of them", () => {
    const tokenizer = load(BYTE_LEVEL);
    assert.deepEqual(spans(tokenizer, tokenizer.encode("a\ud800b")), [
      ["a", 0, 1],
      ["", 1, 2],
      ["", 2, 2],
      ["", 2, 2],
      ["b", 2, 3],
    ]);
  });

  test("SentencePiece: the prepended ▁ is not in the text; <0xNN> tokens split characters", () => {
    const tokenizer = load(LLAMA_SP);
    assert.deepEqual(spans(tokenizer, tokenizer.encode("Hello world")), [
      [" Hello", 0, 5],
      [" world", 5, 11],
    ]);
    // "▁" alone (the prepended space) gets an empty range; 😀 is four byte-fallback tokens.
    assert.deepEqual(spans(tokenizer, tokenizer.encode("😀 x")), [
      [" ", 0, 0],
      ["", 0, 2],
      ["", 2, 2],
      ["", 2, 2],
      ["", 2, 2],
      [" x", 2, 4],
    ]);
    // A special token in the text, then the ▁ the normalizer prepends to the next section.
    assert.deepEqual(spans(tokenizer, tokenizer.encode("the</s>x")), [
      [" the", 0, 3],
      ["</s>", 3, 7],
      [" x", 7, 8],
    ]);
    // CRLF: "\r" is a byte-fallback token, "\n" a vocabulary token.
    assert.deepEqual(spans(tokenizer, tokenizer.encode("a\r\nb")), [
      [" a", 0, 1],
      ["\r", 1, 2],
      ["\n", 2, 3],
      ["b", 3, 4],
    ]);
  });

  test("WordPiece: lowercasing, accents, ##, dropped whitespace and punctuation, CJK, [UNK]", () => {
    const tokenizer = load(BERT);
    const text = "Héllo, Wörld! 中文 ☃ unbelievable";
    assert.deepEqual(spans(tokenizer, tokenizer.encode(text)), [
      ["hello", 0, 5],
      [",", 5, 6],
      ["world", 7, 12],
      ["!", 12, 13],
      ["中", 14, 15],
      ["文", 15, 16],
      ["[UNK]", 17, 18],
      ["un", 19, 21],
      ["believ", 21, 27],
      ["able", 27, 31],
    ]);
    // Decomposed é (e + U+0301): the mark folds away and is given to the token before it.
    assert.deepEqual(spans(tokenizer, tokenizer.encode("Cafe\u0301  play\u0000ing")), [
      ["cafe", 0, 5],
      ["play", 7, 12],
      ["ing", 12, 15],
    ]);
    // A word WordPiece cannot split is one [UNK] for the whole word; Greek final sigma folds like σ.
    assert.deepEqual(spans(tokenizer, tokenizer.encode("ﬁne ΣΟΦΟΣ")), [
      ["[UNK]", 0, 3],
      ["σοφος", 4, 9],
    ]);
  });

  test("Unigram with NFKC: a ligature split across tokens, a circled digit, an unknown piece", () => {
    const tokenizer = load(UNIGRAM);
    const encoded = tokenizer.encode("ﬁne ① café");
    assert.deepEqual(spans(tokenizer, encoded), [
      [" fine", 0, 3],
      [" 1", 3, 5],
      [" c", 5, 7],
      ["a", 7, 8],
      ["f", 8, 9],
      ["é", 9, 10],
    ]);
    // "\r\n\t" is not in the vocabulary: Unigram returns <unk> for that exact piece, which keeps its place.
    const unknown = tokenizer.encode("é\r\n\t z");
    assert.deepEqual(unknown.offsets, [
      [0, 0],
      [0, 1],
      [1, 4],
      [4, 6],
    ]);
    assert.equal(unknown.ids[2], tokenizer.tokenId("<unk>"));
  });

  test("byte-level with NFKC + lowercase: full-width letters still map to their characters", () => {
    const tokenizer = load(BYTE_LEVEL_NFKC_LOWER);
    const text = "ＨＥＬＬＯ Ｗorld ﬁ";
    const encoded = tokenizer.encode(text);
    assertOffsetInvariants(text, encoded, false, "NFKC");
    // Normalized to "hello world fi": "he" "ll" "o" " world" " " "f" "i"; ﬁ (one character) belongs to "f",
    // and "i", which only continues it, is empty at its end.
    assert.deepEqual(spans(tokenizer, encoded), [
      ["he", 0, 2],
      ["ll", 2, 4],
      ["o", 4, 5],
      [" world", 5, 11],
      [" ", 11, 12],
      ["f", 12, 13],
      ["i", 13, 13],
    ]);
    // Lowercasing "İ" gives "i" + U+0307: the mark came from normalizing İ, so it owns no text of its own.
    assert.deepEqual(spans(tokenizer, tokenizer.encode("İstanbul")), [
      ["i", 0, 1],
      ["", 1, 1],
      ["", 1, 1],
      ["s", 1, 2],
      ["t", 2, 3],
      ["a", 3, 4],
      ["n", 4, 5],
      ["b", 5, 6],
      ["u", 6, 7],
      ["l", 7, 8],
    ]);
  });

  test("normalizing tokenizers: each token's range is the text it was made from", () => {
    const paragraph = "The CAFÉ's naïve play-list, un believable!\r\n\tHello   WORLD; 中文 日本. Ångström x2 İstanbul ΟΔΟΣ";
    for (const files of [BERT, UNIGRAM, BYTE_LEVEL_NFKC_LOWER]) {
      assertRangesSpellTokens(load(files), paragraph, files.name);
    }
  });

  test("an added token with lstrip takes no whitespace: the library drops it, so the range starts at the token", () => {
    const mask = { id: 274, content: "<mask>", single_word: false, lstrip: true, rstrip: false, normalized: false, special: true };
    const addedTokens = BYTE_LEVEL.json.added_tokens as unknown[];
    const tokenizer = TextTokenizer.fromJson({ ...BYTE_LEVEL.json, added_tokens: [...addedTokens, mask] }, BYTE_LEVEL.config);
    assert.deepEqual(spans(tokenizer, tokenizer.encode("a <mask> the")), [
      ["a", 0, 1],
      ["<mask>", 2, 8],
      [" the", 8, 12],
    ]);
  });

  test("BPE with an end-of-word suffix (</w>), whitespace pre-tokenizer and lowercasing; [UNK] punctuation", () => {
    const vocab: Record<string, number> = { "<unk>": 0 };
    for (const letter of "abcdefghijklmnopqrstuvwxyz") {
      vocab[letter] = Object.keys(vocab).length;
      vocab[`${letter}</w>`] = Object.keys(vocab).length;
    }
    const merges = [
      ["h", "e"],
      ["l", "l"],
      ["he", "ll"],
      ["hell", "o</w>"],
      ["t", "h"],
      ["th", "e</w>"],
    ];
    for (const [a, b] of merges) vocab[`${a}${b}`] = Object.keys(vocab).length;
    const tokenizer = TextTokenizer.fromJson(
      {
        version: "1.0",
        added_tokens: [{ id: 0, content: "<unk>", special: true }],
        normalizer: { type: "Lowercase" },
        pre_tokenizer: { type: "Whitespace" },
        post_processor: null,
        decoder: { type: "BPEDecoder", suffix: "</w>" },
        model: { type: "BPE", vocab, merges, end_of_word_suffix: "</w>", unk_token: "<unk>" },
      },
      { eos_token: "<unk>" },
    );
    assert.equal(tokenizer.type, "BPE (lowercased)");
    assert.deepEqual(spans(tokenizer, tokenizer.encode("Hello  the\tworld, HELLO!")), [
      ["hello", 0, 5],
      ["the", 7, 10],
      ["w", 11, 12],
      ["o", 12, 13],
      ["r", 13, 14],
      ["l", 14, 15],
      ["d", 15, 16],
      ["<unk>", 16, 17],
      ["hello", 18, 23],
      ["<unk>", 23, 24],
    ]);
  });

  test("empty and whitespace-only text", () => {
    for (const files of [BYTE_LEVEL, LLAMA_SP, BERT, UNIGRAM]) {
      const tokenizer = load(files);
      assert.deepEqual(tokenizer.encode(""), { ids: [], offsets: [] }, files.name);
      const blank = " \n\t ";
      assertOffsetInvariants(blank, tokenizer.encode(blank), false, files.name);
    }
    assert.deepEqual(load(BERT).encode("   \n "), { ids: [], offsets: [] });
  });
});

describe("tokenText and decode", () => {
  test('tokenText keeps whitespace, strips ## and ▁, gives "" for byte fragments and unknown ids', () => {
    const byteLevel = load(BYTE_LEVEL);
    assert.equal(byteLevel.tokenText(byteLevel.tokenId("Ġworld") as number), " world");
    assert.equal(byteLevel.tokenText(byteLevel.tokenId("ĊĊ") as number), "\n\n");
    assert.equal(byteLevel.tokenText(byteLevel.tokenId("ðŁ") as number), "");
    assert.equal(byteLevel.tokenText(byteLevel.prefixToken.id), "<|endoftext|>");
    assert.equal(byteLevel.tokenText(-1), "");
    assert.equal(byteLevel.tokenText(1e9), "");
    assert.equal(byteLevel.tokenText(1.5), "");
    const llama = load(LLAMA_SP);
    assert.equal(llama.tokenText(llama.tokenId("▁world") as number), " world");
    assert.equal(llama.tokenText(llama.tokenId("<0x0A>") as number), "\n");
    assert.equal(llama.tokenText(llama.tokenId("<0xF0>") as number), "");
    assert.equal(llama.tokenText(llama.tokenId("▁▁") as number), "  ");
    const bert = load(BERT);
    assert.equal(bert.tokenText(bert.tokenId("##ing") as number), "ing");
    assert.equal(bert.tokenText(bert.tokenId("[UNK]") as number), "[UNK]");
  });

  test("decode uses clean_up_tokenization_spaces false, so text round-trips", () => {
    const tokenizer = load(BYTE_LEVEL);
    const text = "Hello , world . It 's";
    assert.equal(tokenizer.decode(tokenizer.encode(text).ids), text);
    assert.equal(tokenizer.decode([]), "");
    assert.throws(() => tokenizer.decode([tokenizer.vocabSize]), /outside the vocabulary/);
    assert.throws(() => tokenizer.decode([-1]), RangeError);
  });
});

const FUZZ_TOKENIZERS: Array<{ files: TokenizerFiles; coverAll: boolean; byteLevelReference: boolean }> = [
  { files: BYTE_LEVEL, coverAll: true, byteLevelReference: true },
  { files: LLAMA_SP, coverAll: true, byteLevelReference: false },
  { files: BERT, coverAll: false, byteLevelReference: false },
  { files: UNIGRAM, coverAll: false, byteLevelReference: false },
  { files: BYTE_LEVEL_NFKC_LOWER, coverAll: false, byteLevelReference: false },
  { files: BYTE_LEVEL_REWRITING, coverAll: false, byteLevelReference: false },
];

/** Texts per tokenizer, and the seed; change them for a longer local run (FUZZ_ITERATIONS=20000 FUZZ_SEED=7 node --test …). */
const FUZZ_ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 400);
const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

describe("fuzz: random Unicode keeps the offset invariants", () => {
  const cases = [...FUZZ_TOKENIZERS];
  for (const model of MODELS) {
    if (model.files !== null) {
      const byteLevel = model.name.startsWith("lens-gpt2");
      cases.push({ files: model.files, coverAll: true, byteLevelReference: byteLevel });
    }
  }
  for (const { files, coverAll, byteLevelReference } of cases) {
    test(`${files.name}: ${FUZZ_ITERATIONS} random texts (seeded)`, () => {
      const tokenizer = load(files);
      const reference = library(files);
      const specials = new Set((Array.isArray(files.json.added_tokens) ? (files.json.added_tokens as Array<{ content: string }>) : []).map((t) => t.content));
      const random = uniformRandom(FUZZ_SEED + files.name.length);
      for (let i = 0; i < FUZZ_ITERATIONS; i++) {
        const text = randomText(random, 40);
        const encoded = tokenizer.encode(text);
        const expected = reference.encode(text, { add_special_tokens: false });
        assert.deepEqual(encoded.ids, expected.ids, `${files.name}: ids equal the library's for ${JSON.stringify(text)}`);
        assertOffsetInvariants(text, encoded, coverAll, files.name);
        if (coverAll) {
          const joined = encoded.offsets.map(([s, e]) => text.slice(s, e)).join("");
          assert.equal(joined, text, `${files.name}: the ranges tile the text`);
        }
        if (byteLevelReference) {
          assert.deepEqual(encoded.offsets, byteLevelReferenceOffsets(text, expected.tokens, specials), `${files.name}: ${JSON.stringify(text)}`);
          if (encoded.ids.length > 0) assert.equal(tokenizer.decode(encoded.ids), wellFormed(text));
        }
      }
    });
  }
});

describe("fuzz: realistic text through normalizing tokenizers lands each token on its own text", () => {
  const pieces = [...WORDS, ...WHITESPACE_RUNS, ",", ".", "!", "'", "-", "中文", "日本", "Ångström", "ΟΔΟΣ", "e\u0301", "ＡＢＣ", "①", "ﬁ"];
  for (const files of [BERT, UNIGRAM, BYTE_LEVEL_NFKC_LOWER]) {
    test(`${files.name}: ${FUZZ_ITERATIONS} texts of words, punctuation and whitespace (seeded)`, () => {
      const tokenizer = load(files);
      const random = uniformRandom(FUZZ_SEED + 7 * files.name.length);
      for (let i = 0; i < FUZZ_ITERATIONS; i++) {
        const count = Math.floor(random() * 20);
        let text = "";
        for (let k = 0; k < count; k++) text += pieces[Math.floor(random() * pieces.length)] as string;
        assertRangesSpellTokens(tokenizer, text, files.name);
      }
    });
  }
});

describe("real model tokenizers (models/, built by the model kit)", () => {
  for (const { name, files } of MODELS) {
    test(`${name}: hand-checked offsets and round trip`, () => {
      if (files === null) throw new Error(`models/${name}/tokenizer.json is missing; rebuild it with \`npm run models\`.`);
      const tokenizer = load(files as TokenizerFiles);
      const text = "Hello, wörld!\r\n😀 中文 e\u0301 <|endoftext|> end";
      const encoded = tokenizer.encode(text);
      assertOffsetInvariants(text, encoded, true, name);
      assert.equal(encoded.offsets.map(([s, e]) => text.slice(s, e)).join(""), text);
      // The emoji's first token holds all of it; its continuation tokens are empty at its end.
      const emojiStart = text.indexOf("😀");
      const emojiTokens = encoded.offsets.filter(([s, e]) => (s === emojiStart && e === emojiStart + 2) || (s === e && s === emojiStart + 2));
      assert.ok(emojiTokens.length >= 2, `${name}: 😀 is split into byte tokens`);
      if (name.startsWith("lens-gpt2")) {
        assert.equal(tokenizer.type, "byte-level BPE");
        assert.equal(tokenizer.prefixToken.kind, "eos");
        assert.equal(tokenizer.decode(encoded.ids), text);
        const special = encoded.ids.indexOf(tokenizer.prefixToken.id);
        assert.deepEqual(encoded.offsets[special], [text.indexOf("<|endoftext|>"), text.indexOf("<|endoftext|>") + 13]);
      } else {
        assert.equal(tokenizer.type, "SentencePiece BPE (byte fallback)");
        assert.deepEqual(tokenizer.prefixToken, { id: tokenizer.tokenId("<s>"), text: "<s>", kind: "bos" });
      }
    });
  }
});

describe("long input", () => {
  /** ~1 MB on one line: words, punctuation, CJK and emoji, no newline. */
  function oneMegabyteLine(): string {
    const random = uniformRandom(42);
    const words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog,", "and", "42", "émigrés", "中文", "😀", "x=y+1;", "return"];
    const parts: string[] = [];
    let length = 0;
    while (length < 1_000_000) {
      const word = words[Math.floor(random() * words.length)] as string;
      parts.push(word);
      length += word.length + 1;
    }
    return parts.join(" ");
  }

  const line = oneMegabyteLine();
  // The full megabyte through one byte-level and one SentencePiece tokenizer (the real ones when built); a fifth of it
  // through the others, to keep the suite quick.
  const bpe4k = MODELS.find((m) => m.name === "lens-gpt2-bpe4k")?.files ?? null;
  const llama = MODELS.find((m) => m.name === "lens-llama-sp")?.files ?? null;
  const candidates: Array<[TokenizerFiles, number]> = [
    [bpe4k ?? BYTE_LEVEL, line.length],
    [llama ?? LLAMA_SP, line.length],
    [BERT, 200_000],
    [UNIGRAM, 200_000],
  ];
  for (const [files, length] of candidates) {
    test(`${files.name}: a ${length === line.length ? "~1 MB" : `${length / 1000} kB`} single line encodes with valid offsets`, (t) => {
      const text = line.slice(0, length);
      const tokenizer = load(files);
      const started = process.hrtime.bigint();
      const encoded = tokenizer.encode(text);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      t.diagnostic(
        `${files.name}: ${text.length} characters, ${encoded.ids.length} tokens in ${seconds.toFixed(2)} s (${Math.round(text.length / seconds / 1000)}k characters/s)`,
      );
      assertOffsetInvariants(text, encoded, files === bpe4k || files === llama || files === BYTE_LEVEL || files === LLAMA_SP, files.name);
    });
  }

  test("Unigram: a 150k-character word encodes (the library's own encode overflows the call stack)", () => {
    const word = "abcdefghij".repeat(15_000);
    assert.throws(() => library(UNIGRAM).encode(word, { add_special_tokens: false }), RangeError);
    const encoded = load(UNIGRAM).encode(word);
    assert.equal(encoded.ids.length, word.length);
    assertOffsetInvariants(word, encoded, true, "unigram word");
  });

  test("SentencePiece word split gives the library's ids on long text", () => {
    for (const files of [LLAMA_SP, UNIGRAM, ...MODELS.filter((m) => m.name === "lens-llama-sp" && m.files !== null).map((m) => m.files as TokenizerFiles)]) {
      const text = line.slice(0, 50_000) + "  double  spaces\n\nand\tmore   ";
      assert.deepEqual(load(files).encode(text).ids, library(files).encode(text, { add_special_tokens: false }).ids, files.name);
    }
  });
});

describe("UTF-8 helpers", () => {
  test("byte length and encoding agree with Buffer and TextEncoder, lone surrogates as U+FFFD", () => {
    for (const text of ["", "abc", "é", "😀", "a\ud800b", "\udc00", "中文\r\n", "\ud83d\ude00\ud83d"]) {
      assert.equal(utf8ByteLength(text), Buffer.byteLength(text, "utf8"), JSON.stringify(text));
      assert.deepEqual(Array.from(utf8Encode(text)), Array.from(new TextEncoder().encode(text)), JSON.stringify(text));
    }
  });

  test("decodeCompleteCharacters drops fragments but keeps a real U+FFFD", () => {
    assert.equal(decodeCompleteCharacters(Uint8Array.of(0xf0, 0x9f)), "");
    assert.equal(decodeCompleteCharacters(Uint8Array.of(0x20, 0xf0, 0x9f, 0x98, 0x80, 0x98)), " 😀");
    assert.equal(decodeCompleteCharacters(utf8Encode("\ufffd")), "\ufffd");
  });
});
