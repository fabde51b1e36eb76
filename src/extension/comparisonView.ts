/**
 * What the panel's comparison view gets from a comparison: the whole metrics and verdict, and the side-by-side part
 * cut to the first `maxCharacters` characters (a byte model has one token per byte, so a long document would
 * otherwise post hundreds of thousands of tokens per model to the webview). No `vscode`.
 */
import type { Comparison } from "../core/comparisonData";
import type { ComparisonView } from "../protocol/webview";

/** Characters shown side by side; the table and the verdict cover the whole text. */
export const COMPARISON_VIEW_CHARACTERS = 20_000;

/** The cut is moved back off a low surrogate so a character is never split. */
function cutPoint(text: string, maxCharacters: number): number {
  if (text.length <= maxCharacters) return text.length;
  let cut = maxCharacters;
  const unit = text.charCodeAt(cut);
  if (cut > 0 && unit >= 0xdc00 && unit <= 0xdfff) cut--;
  return cut;
}

export function buildComparisonView(
  source: { docUri: string; fileName: string; scope: ComparisonView["scope"] },
  text: string,
  comparison: Comparison,
  comparedAt: number,
  maxCharacters = COMPARISON_VIEW_CHARACTERS,
): ComparisonView {
  const cut = cutPoint(text, maxCharacters);
  const shown = text.slice(0, cut);
  const entries = comparison.entries.map((entry) => ({
    ...entry,
    tokens:
      cut === text.length
        ? entry.tokens
        : entry.tokens.filter((t) => t.start < cut || (t.start === cut && t.end === cut && cut > 0)).map((t) => ({ ...t, end: Math.min(t.end, cut) })),
  }));
  return { ...source, text: shown, characters: text.length, comparison: { ...comparison, entries }, comparedAt };
}
