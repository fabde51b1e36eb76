/**
 * Which part of a token the editor colours. Pure: no `vscode`, unit-tested. (The surprisal levels and GLTR buckets
 * the colours stand for are src/core/surprisal.ts.)
 */
import { isJsWhitespaceUnit } from "../core/tokenizers/characterTables";

/**
 * The part of [start, end) of `text` that is worth colouring: the token without its leading and trailing
 * whitespace (a GPT-2 token " the" is drawn over "the"). Null when nothing visible is left, so
 * whitespace-only tokens get no colour that would suggest the whitespace itself was surprising.
 */
export function visibleSpan(text: string, start: number, end: number): { start: number; end: number } | null {
  let s = Math.max(0, start);
  let e = Math.min(text.length, end);
  while (s < e && isJsWhitespaceUnit(text.charCodeAt(s))) s++;
  while (e > s && isJsWhitespaceUnit(text.charCodeAt(e - 1))) e--;
  return s < e ? { start: s, end: e } : null;
}
