/**
 * Re-encoding only the changed end of a text, for tokenizers where that provably gives the same tokens as encoding
 * the whole text (encoding 16k characters costs ~50 ms, a fifth of an incremental rescore of 4k tokens).
 *
 * It applies to byte-level BPE whose pre-tokenizer is GPT-2's regex (ByteLevel with use_regex) or that has no merges
 * (every byte its own token), without normalizers. Such a tokenizer encodes each pre-token on its own, and the regex
 * always ends a match before a non-space character that follows a newline (no pattern takes a newline as a prefix).
 * So the encoding restarts cleanly at a line start that lies before the first changed character: tokens before it
 * are the previous text's, tokens from it are those of the suffix encoded alone. As a check, the suffix's first
 * tokens before the change must equal the previous tokens there; otherwise the whole text is encoded.
 */
import type { EncodedText } from "./tokenizers/textTokenizer";

/** Characters kept between the restart point and the first change (the regex looks ahead by one). */
const MARGIN = 16;

export interface PreviousEncoding {
  text: string;
  encoded: EncodedText;
}

export function supportsIncrementalEncoding(tokenizerJson: Record<string, unknown>): boolean {
  if (tokenizerJson["normalizer"] !== null && tokenizerJson["normalizer"] !== undefined) return false;
  const model = tokenizerJson["model"] as { type?: unknown; merges?: unknown } | undefined;
  if (!model || model.type !== "BPE") return false;
  const pre = tokenizerJson["pre_tokenizer"] as { type?: unknown; use_regex?: unknown } | null | undefined;
  if (!pre || pre.type !== "ByteLevel") return false;
  const noMerges = Array.isArray(model.merges) && model.merges.length === 0;
  return pre.use_regex === true || noMerges;
}

/**
 * Encodes `text`, reusing `previous` up to a line start before the first change. `encodeText` encodes a whole string.
 * Returns the encoding and how many leading tokens were taken from the previous one.
 */
export function encodeIncrementally(
  text: string,
  previous: PreviousEncoding | undefined,
  encodeText: (s: string) => EncodedText,
): { encoded: EncodedText; tokensKept: number } {
  if (previous === undefined) return { encoded: encodeText(text), tokensKept: 0 };
  const old = previous.text;
  const limit = Math.min(old.length, text.length);
  let changed = 0;
  while (changed < limit && old.charCodeAt(changed) === text.charCodeAt(changed)) changed++;
  if (changed === old.length && changed === text.length)
    return { encoded: { ids: [...previous.encoded.ids], offsets: previous.encoded.offsets.map(([a, b]) => [a, b]) }, tokensKept: previous.encoded.ids.length };
  const { ids, offsets } = previous.encoded;
  // The last previous token that starts a line (after "\n", with a non-space first character) at least MARGIN
  // characters before the change, and that follows a token ending exactly there.
  let cut = -1;
  for (let c = ids.length - 1; c > 0; c--) {
    const start = offsets[c]![0];
    if (start > changed - MARGIN) continue;
    const before = offsets[c - 1]!;
    if (old.charCodeAt(start - 1) === 10 && !/\s/.test(old[start] ?? " ") && before[1] === start && before[0] < start && offsets[c]![1] > start) {
      cut = c;
      break;
    }
  }
  if (cut <= 0) return { encoded: encodeText(text), tokensKept: 0 };
  const start = offsets[cut]![0];
  const suffix = encodeText(text.slice(start));
  // Check: the suffix's tokens that end before the change must be the previous tokens there.
  let checked = 0;
  for (let i = 0; cut + i < ids.length && i < suffix.ids.length; i++) {
    const previousOffsets = offsets[cut + i]!;
    if (previousOffsets[1] > changed - 1) break;
    const suffixOffsets = suffix.offsets[i]!;
    if (suffix.ids[i] !== ids[cut + i] || suffixOffsets[0] + start !== previousOffsets[0] || suffixOffsets[1] + start !== previousOffsets[1])
      return { encoded: encodeText(text), tokensKept: 0 };
    checked++;
  }
  if (checked === 0) return { encoded: encodeText(text), tokensKept: 0 };
  return {
    encoded: {
      ids: [...ids.slice(0, cut), ...suffix.ids],
      offsets: [
        ...offsets.slice(0, cut).map(([a, b]): [number, number] => [a, b]),
        ...suffix.offsets.map(([a, b]): [number, number] => [a + start, b + start]),
      ],
    },
    tokensKept: cut,
  };
}
