/**
 * Character offsets of tokens in the ORIGINAL text, rebuilt from what each token stands for, because
 * @huggingface/tokenizers returns ids and token strings but no offsets.
 *
 * How: every token is given the UTF-8 bytes of the (normalized) text it stands for (its "surface"); the bytes of
 * all tokens are decoded as one stream, each character being credited to the token holding its first byte, so a
 * character split across tokens belongs to the first of them and a token that only continues it has no characters.
 * Those characters are then matched against the text in one forward pass:
 * - exact matches first (byte-level BPE without a normalizer always matches exactly, lone surrogates being U+FFFD);
 * - else both sides are compared case- and accent-folded with NFKD, so lowercasing, NFC/NFKC and accent stripping
 *   still align;
 * - whitespace the token has but the text lacks (SentencePiece's prepended "▁") is skipped in the token, and
 *   whitespace, control and format characters the text has but the tokens lack (BERT's pre-tokenizer) are skipped
 *   in the text;
 * - an unknown token ([UNK], <unk>) takes the span of text it replaced, found by a rule of its tokenizer family;
 * - anything still unexplained is resynchronised by a bounded look-ahead, so the pass stays linear.
 * Finally, non-whitespace characters no token claimed (a dropped control character, a combining mark folded away)
 * are given to the token before them (or the first token), so together the ranges cover every non-whitespace
 * character. Ranges never overlap, follow token order, and never split a surrogate pair.
 */

import { Utf8ChunkDecoder } from "./utf8";
import { foldCodePoint, isBertPunctuation, isCjkCodePoint, isDroppedCharacter, isJsWhitespaceUnit, isWhitespaceCodePoint } from "./characterTables";

/** What one token stands for. */
export interface TokenSurface {
  /** UTF-8 bytes of the (normalized) text this token stands for; may be a fragment of a character. */
  bytes: Uint8Array;
  /** An unknown token ([UNK]): its bytes are its own spelling, which the text may not contain. */
  unknown: boolean;
}

/**
 * How an unknown token's span is found when the text does not literally contain its spelling:
 * - "pretoken": it replaced one whole BERT pre-token (a run of characters up to whitespace or punctuation,
 *   or one punctuation or CJK character), as WordPiece emits one [UNK] per word it cannot split;
 * - "untilNextToken": it replaced a run of characters up to whitespace or the first character of the next token
 *   (BPE/Unigram `unk`, with `fuse_unk` one per run).
 */
export type UnknownSpanRule = "pretoken" | "untilNextToken";

/** How far a mismatch may skip ahead in the text to find the token's next character again. */
const RESYNC_LOOKAHEAD = 64;
/** How far a mismatch may skip ahead in the token's own characters (the token has characters the text lacks). */
const RESYNC_TOKEN_LOOKAHEAD = 8;
const REPLACEMENT_CHARACTER = 0xfffd;

/** UTF-16 [start, end) of each token in `text`. */
export function alignTokenOffsets(text: string, surfaces: readonly TokenSurface[], unknownSpanRule: UnknownSpanRule): Array<[number, number]> {
  const tokenCount = surfaces.length;
  const offsets: Array<[number, number]> = new Array(tokenCount);
  if (tokenCount === 0) return offsets;
  const { codePoints, charStart } = decodeSurfaces(surfaces);
  const matcher = new TextMatcher(text, codePoints, charStart, surfaces, unknownSpanRule);
  for (let t = 0; t < tokenCount; t++) offsets[t] = matcher.alignToken(t);
  coverUnclaimedCharacters(text, offsets);
  return offsets;
}

/** Decodes all token bytes as one UTF-8 stream; token t owns codePoints[charStart[t] .. charStart[t + 1]). */
function decodeSurfaces(surfaces: readonly TokenSurface[]): { codePoints: Int32Array; charStart: Int32Array } {
  let totalBytes = 0;
  for (const surface of surfaces) totalBytes += surface.bytes.length;
  const codePoints = new Int32Array(totalBytes + 1);
  const charStart = new Int32Array(surfaces.length + 1);
  let count = 0;
  let current = 0;
  const emit = (codePoint: number, owner: number): void => {
    codePoints[count++] = codePoint;
    // A character completed in a later token belongs to `owner`; the tokens after it that only continued
    // the character own nothing, so they start after it.
    for (let u = owner + 1; u <= current; u++) charStart[u] = count;
  };
  const decoder = new Utf8ChunkDecoder();
  for (let t = 0; t < surfaces.length; t++) {
    current = t;
    charStart[t] = count;
    decoder.push((surfaces[t] as TokenSurface).bytes, t, emit);
  }
  current = surfaces.length - 1;
  decoder.finish(emit);
  charStart[surfaces.length] = count;
  return { codePoints, charStart };
}

class TextMatcher {
  private position = 0;
  /** Folded characters of a text character that an earlier token began and later tokens may continue. */
  private carried: readonly number[] = [];
  private carriedIndex = 0;
  private readonly length: number;

  constructor(
    private readonly text: string,
    private readonly codePoints: Int32Array,
    private readonly charStart: Int32Array,
    private readonly surfaces: readonly TokenSurface[],
    private readonly unknownSpanRule: UnknownSpanRule,
  ) {
    this.length = text.length;
  }

  alignToken(t: number): [number, number] {
    const first = this.charStart[t] as number;
    const end = this.charStart[t + 1] as number;
    if (this.carriedIndex >= this.carried.length) {
      const exactEnd = this.matchExactly(first, end);
      if (exactEnd >= 0) {
        const range: [number, number] = [this.position, exactEnd];
        this.position = exactEnd;
        return range;
      }
    }
    if ((this.surfaces[t] as TokenSurface).unknown) {
      this.carried = [];
      this.carriedIndex = 0;
      return this.alignUnknown(t);
    }
    return this.alignFolded(first, end);
  }

  /** Text position after matching codePoints[first..end) exactly at the current position, or -1. */
  private matchExactly(first: number, end: number): number {
    const text = this.text;
    let p = this.position;
    for (let k = first; k < end; k++) {
      if (p >= this.length) return -1;
      let c = text.charCodeAt(p);
      let width = 1;
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = p + 1 < this.length ? text.charCodeAt(p + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          width = 2;
        } else {
          c = REPLACEMENT_CHARACTER;
        }
      }
      if (c !== this.codePoints[k]) return -1;
      p += width;
    }
    return p;
  }

  /** The tolerant match: folded comparison, skipped whitespace, bounded resynchronisation. */
  private alignFolded(first: number, end: number): [number, number] {
    const target = this.foldedTokenCharacters(first, end);
    if (target.length === 0) {
      // Combining marks only (e.g. the U+0307 that lowercasing "İ" adds): they own the marks at this position, if
      // the text has any here; otherwise they came from normalizing the character before, and own nothing.
      this.carried = [];
      this.carriedIndex = 0;
      const start = this.position;
      while (this.position < this.length) {
        const codePoint = readCodePoint(this.text, this.position);
        if (isWhitespaceCodePoint(codePoint) || foldCodePoint(codePoint).length > 0) break;
        this.position += codePoint > 0xffff ? 2 : 1;
      }
      return [start, this.position];
    }
    let k = 0;
    // Continue a text character that an earlier token began (e.g. "ﬁ" folded to "fi", split "f" | "i").
    if (this.carriedIndex < this.carried.length) {
      while (k < target.length && this.carriedIndex < this.carried.length && target[k] === this.carried[this.carriedIndex]) {
        k++;
        this.carriedIndex++;
      }
      if (k < target.length) {
        this.carried = [];
        this.carriedIndex = 0;
      }
      if (k === target.length) return [this.position, this.position];
    }
    let start = -1;
    while (k < target.length && this.position < this.length) {
      const codePoint = readCodePoint(this.text, this.position);
      const width = codePoint > 0xffff ? 2 : 1;
      const character = codePoint >= 0xd800 && codePoint <= 0xdfff ? REPLACEMENT_CHARACTER : codePoint;
      if (character === target[k]) {
        if (start < 0) start = this.position;
        this.position += width;
        k++;
        continue;
      }
      const folded = foldCodePoint(character);
      if (isWhitespaceCodePoint(target[k] as number) && folded[0] !== target[k]) {
        // Whitespace the normalizer added (SentencePiece's "▁" prefix) where the text has none: skip it in the
        // token rather than a text character that the next token may stand for.
        k++;
        continue;
      }
      if (folded.length === 0) {
        // Folds to nothing (a combining mark): inside the token, or left for coverUnclaimedCharacters.
        this.position += width;
        continue;
      }
      const matched = commonPrefixLength(folded, target, k);
      if (matched === folded.length || (matched > 0 && k + matched === target.length)) {
        if (start < 0) start = this.position;
        this.position += width;
        k += matched;
        if (matched < folded.length) {
          this.carried = folded;
          this.carriedIndex = matched;
        }
        continue;
      }
      if (isWhitespaceCodePoint(character) || isDroppedCharacter(character)) {
        this.position += width; // whitespace or a control character the pre-tokenizer or normalizer dropped
        continue;
      }
      const resumeAt = this.findAhead(target[k] as number);
      const tokenResumeAt = resumeAt >= 0 ? -1 : findInTarget(target, k + 1, folded[0] as number);
      if (resumeAt >= 0) {
        this.position = resumeAt; // the text has characters the tokens lack
      } else if (tokenResumeAt >= 0) {
        k = tokenResumeAt; // the token has characters the text lacks
      } else {
        // Unexplained substitution (e.g. a Replace normalizer): one text character for one token character.
        if (start < 0) start = this.position;
        this.position += width;
        k++;
      }
    }
    return start < 0 ? [this.position, this.position] : [start, this.position];
  }

  /**
   * Position of the first character after the current one, within the look-ahead, whose folded form starts with
   * `wanted`, or -1. (Starting after the current character guarantees progress.)
   */
  private findAhead(wanted: number): number {
    let p = this.position + (readCodePoint(this.text, this.position) > 0xffff ? 2 : 1);
    for (let step = 0; step < RESYNC_LOOKAHEAD && p < this.length; step++) {
      const codePoint = readCodePoint(this.text, p);
      const character = codePoint >= 0xd800 && codePoint <= 0xdfff ? REPLACEMENT_CHARACTER : codePoint;
      if (character === wanted || foldCodePoint(character)[0] === wanted) return p;
      p += codePoint > 0xffff ? 2 : 1;
    }
    return -1;
  }

  private alignUnknown(t: number): [number, number] {
    const text = this.text;
    // Whitespace, dropped characters and combining marks left over from the token before are not its span
    // (coverUnclaimedCharacters gives the latter two to that token).
    while (this.position < this.length) {
      const codePoint = readCodePoint(text, this.position);
      if (!isWhitespaceCodePoint(codePoint) && !isDroppedCharacter(codePoint) && foldCodePoint(codePoint).length > 0) break;
      this.position += codePoint > 0xffff ? 2 : 1;
    }
    const start = this.position;
    if (this.position >= this.length) return [start, start];
    const firstCodePoint = readCodePoint(text, this.position);
    this.position += firstCodePoint > 0xffff ? 2 : 1;
    if (this.unknownSpanRule === "pretoken") {
      if (isBertPunctuation(firstCodePoint) || isCjkCodePoint(firstCodePoint)) return [start, this.position];
      while (this.position < this.length) {
        const codePoint = readCodePoint(text, this.position);
        if (isWhitespaceCodePoint(codePoint) || isBertPunctuation(codePoint) || isCjkCodePoint(codePoint)) break;
        this.position += codePoint > 0xffff ? 2 : 1;
      }
      return [start, this.position];
    }
    const next = this.nextTokenFirstCharacter(t);
    while (this.position < this.length) {
      const codePoint = readCodePoint(text, this.position);
      if (isWhitespaceCodePoint(codePoint)) break;
      if (next >= 0 && (codePoint === next || foldCodePoint(codePoint)[0] === next)) break;
      this.position += codePoint > 0xffff ? 2 : 1;
    }
    return [start, this.position];
  }

  /** First non-whitespace folded character of the next tokens (looking a few tokens ahead), or -1. */
  private nextTokenFirstCharacter(t: number): number {
    for (let u = t + 1; u < Math.min(t + 8, this.surfaces.length); u++) {
      const first = this.charStart[u] as number;
      const end = this.charStart[u + 1] as number;
      for (let k = first; k < end; k++) {
        const codePoint = this.codePoints[k] as number;
        if (isWhitespaceCodePoint(codePoint)) continue;
        return foldCodePoint(codePoint)[0] ?? codePoint;
      }
    }
    return -1;
  }

  private foldedTokenCharacters(first: number, end: number): number[] {
    const folded: number[] = [];
    for (let k = first; k < end; k++) {
      for (const c of foldCodePoint(this.codePoints[k] as number)) folded.push(c);
    }
    return folded;
  }
}

/**
 * Gives non-whitespace characters that no token claimed to the token before them (the first token for those
 * at the very start), keeping ranges ordered and disjoint. Whitespace is JavaScript's `\s`.
 */
function coverUnclaimedCharacters(text: string, offsets: Array<[number, number]>): void {
  let claimedUntil = 0;
  for (let t = 0; t < offsets.length; t++) {
    const range = offsets[t] as [number, number];
    if (range[0] > claimedUntil) {
      const first = firstNonWhitespace(text, claimedUntil, range[0]);
      if (first >= 0) {
        if (t === 0) range[0] = first;
        else (offsets[t - 1] as [number, number])[1] = lastNonWhitespaceEnd(text, claimedUntil, range[0]);
      }
    }
    claimedUntil = range[1];
  }
  const last = offsets[offsets.length - 1];
  if (last !== undefined && firstNonWhitespace(text, claimedUntil, text.length) >= 0) {
    last[1] = lastNonWhitespaceEnd(text, claimedUntil, text.length);
  }
}

function firstNonWhitespace(text: string, from: number, to: number): number {
  for (let p = from; p < to; p++) {
    if (!isJsWhitespaceUnit(text.charCodeAt(p))) return p;
  }
  return -1;
}

/** End (exclusive) of the last non-whitespace character in [from, to), never inside a surrogate pair. */
function lastNonWhitespaceEnd(text: string, from: number, to: number): number {
  for (let p = to - 1; p >= from; p--) {
    if (!isJsWhitespaceUnit(text.charCodeAt(p))) return p + 1;
  }
  return from;
}

/** Code point at a UTF-16 position; a lone surrogate is returned as itself (0xD800–0xDFFF). */
function readCodePoint(text: string, position: number): number {
  const unit = text.charCodeAt(position);
  if (unit >= 0xd800 && unit <= 0xdbff && position + 1 < text.length) {
    const next = text.charCodeAt(position + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00);
  }
  return unit;
}

/** Index of `wanted` in target[from .. from + RESYNC_TOKEN_LOOKAHEAD), or -1. */
function findInTarget(target: readonly number[], from: number, wanted: number): number {
  const end = Math.min(target.length, from + RESYNC_TOKEN_LOOKAHEAD);
  for (let k = from; k < end; k++) if (target[k] === wanted) return k;
  return -1;
}

function commonPrefixLength(folded: readonly number[], target: readonly number[], from: number): number {
  let m = 0;
  while (m < folded.length && from + m < target.length && folded[m] === target[from + m]) m++;
  return m;
}
