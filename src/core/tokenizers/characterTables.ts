/**
 * Character classes the tokenizers and the offset alignment agree on: JavaScript's `\s`, what BERT-style
 * normalizers drop or split on, and the folded comparison form of a character. One definition each, used by the
 * offset alignment (offsetAlignment.ts), the highlights (which skip whitespace) and the word counts.
 */

const REPLACEMENT_CHARACTER = 0xfffd;

/** JavaScript's `\s` (every such character is in the BMP, so one UTF-16 unit suffices). */
export function isJsWhitespaceUnit(unit: number): boolean {
  if (unit <= 0x20) return unit === 0x20 || (unit >= 0x09 && unit <= 0x0d);
  if (unit < 0xa0) return false;
  return (
    unit === 0xa0 ||
    unit === 0x1680 ||
    (unit >= 0x2000 && unit <= 0x200a) ||
    unit === 0x2028 ||
    unit === 0x2029 ||
    unit === 0x202f ||
    unit === 0x205f ||
    unit === 0x3000 ||
    unit === 0xfeff
  );
}

export function isWhitespaceCodePoint(codePoint: number): boolean {
  return codePoint <= 0xffff && isJsWhitespaceUnit(codePoint);
}

const DROPPED_CHARACTER = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\uFFFD]$/u;

/** Control, format, private-use, unassigned characters and U+FFFD: what BERT's clean_text and similar drop. */
export function isDroppedCharacter(codePoint: number): boolean {
  if (codePoint < 0x80) return codePoint < 0x20 || codePoint === 0x7f;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return true;
  return DROPPED_CHARACTER.test(String.fromCodePoint(codePoint));
}

const UNICODE_PUNCTUATION = /^\p{P}$/u;

/** BERT's `_is_punctuation`: ASCII symbols and punctuation, and Unicode category P*. */
export function isBertPunctuation(codePoint: number): boolean {
  if ((codePoint >= 33 && codePoint <= 47) || (codePoint >= 58 && codePoint <= 64)) return true;
  if ((codePoint >= 91 && codePoint <= 96) || (codePoint >= 123 && codePoint <= 126)) return true;
  return codePoint >= 0x80 && UNICODE_PUNCTUATION.test(String.fromCodePoint(codePoint));
}

/** BERT's `_is_chinese_char` (CJK Unified Ideographs blocks). */
export function isCjkCodePoint(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const ASCII_FOLDS: ReadonlyArray<readonly number[]> = Array.from({ length: 128 }, (_, c) => [c >= 0x41 && c <= 0x5a ? c + 0x20 : c]);
const FOLD_CACHE = new Map<number, readonly number[]>();
const FOLD_CACHE_LIMIT = 65536;
const COMBINING_MARKS = /\p{M}/gu;
const GREEK_FINAL_SIGMA = 0x3c2;
const GREEK_SMALL_SIGMA = 0x3c3;

/**
 * The comparison form of one character: NFKD, lowercased, NFKD again, combining marks removed, final sigma as
 * sigma. It is coarser than any normalizer a tokenizer applies (lowercase, NFC/NFKC, accent stripping), so a
 * character and its normalized form fold alike.
 */
export function foldCodePoint(codePoint: number): readonly number[] {
  if (codePoint < 0x80) return ASCII_FOLDS[codePoint] as readonly number[];
  const cached = FOLD_CACHE.get(codePoint);
  if (cached !== undefined) return cached;
  const folded: number[] = [];
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) {
    folded.push(REPLACEMENT_CHARACTER);
  } else {
    const form = String.fromCodePoint(codePoint).normalize("NFKD").toLowerCase().normalize("NFKD").replace(COMBINING_MARKS, "");
    for (const character of form) {
      const c = character.codePointAt(0) as number;
      folded.push(c === GREEK_FINAL_SIGMA ? GREEK_SMALL_SIGMA : c);
    }
  }
  if (FOLD_CACHE.size >= FOLD_CACHE_LIMIT) FOLD_CACHE.clear();
  FOLD_CACHE.set(codePoint, folded);
  return folded;
}
