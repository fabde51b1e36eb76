/**
 * What the extension knows about one document's scoring: the last result applied, the text it
 * describes, and where its tokens and inline annotations lie in the document now (moved by edits made
 * since). Pure apart from the `vscode.Uri` type: no `vscode` at run time.
 */
import type * as vscode from "vscode";
import type { ModelInfo, TokenScore } from "../core/types";
import type { ScoreResult } from "../protocol/engine";
import { mapRangesThroughEdits, type OffsetRange, type TextEdit } from "./rangeMapping";
import { visibleSpan } from "./highlightSpan";

/** A token's range in the document now, with the part of it that gets a colour. */
export interface PlacedToken extends OffsetRange {
  /** Index into `result.tokens`. */
  index: number;
  /** The coloured part: [start + visibleLead, start + visibleLead + visibleLength); length 0 = not coloured. */
  visibleLead: number;
  visibleLength: number;
}

/** An inline perplexity shown after `end` (the span's last character). */
export interface PlacedAnnotation extends OffsetRange {
  label: string;
}

export class DocumentScoreState {
  result: ScoreResult | undefined;
  /** The model that produced `result`. */
  model: ModelInfo | undefined;
  /** The text `result` describes (the whole document, a selection, or the first maxDocumentSize characters). */
  scoredText = "";
  /** Document offset of `scoredText[0]` when the result was applied. */
  baseOffset = 0;
  /** The part of the document being scored, in document offsets now; undefined = the whole document. */
  scope: OffsetRange | undefined;
  /** Set when the document was longer than the limit and only its start was scored. */
  truncatedFrom: number | undefined;
  tokens: PlacedToken[] = [];
  annotations: PlacedAnnotation[] = [];
  /** The document changed since `result` was applied; ranges were moved, a rescore may be pending. */
  stale = false;
  /** A score request for this document is in flight or waiting for the debounce. */
  scoring = false;
  /** One sentence when the last scoring failed. */
  error: string | undefined;
  /** Whether the user was told this document is truncated (told once per document). */
  truncationNoticeShown = false;

  constructor(readonly uri: vscode.Uri) {}

  get key(): string {
    return this.uri.toString();
  }

  /** Takes a result for `scoredText`, which starts at document offset `baseOffset`. */
  apply(result: ScoreResult, scoredText: string, baseOffset: number, model: ModelInfo): void {
    this.result = result;
    this.model = model;
    this.scoredText = scoredText;
    this.baseOffset = baseOffset;
    this.stale = false;
    this.error = undefined;
    this.tokens = result.tokens.map((token, index) => placeToken(token, index, scoredText, baseOffset));
  }

  /** Moves tokens, annotations and the scope through edits (VS Code's contentChanges, in order). */
  applyEdits(edits: readonly TextEdit[]): void {
    if (edits.length === 0) return;
    this.tokens = mapRangesThroughEdits(this.tokens, edits);
    this.annotations = mapRangesThroughEdits(this.annotations, edits);
    if (this.scope) this.scope = mapScopeThroughEdits(this.scope, edits);
    this.stale = true;
  }

  /** The token whose range holds `offset`, by binary search (tokens are sorted and do not overlap). */
  tokenAt(offset: number): { token: TokenScore; placed: PlacedToken } | undefined {
    let low = 0;
    let high = this.tokens.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const placed = this.tokens[middle];
      if (!placed) break;
      if (offset < placed.start) high = middle - 1;
      else if (offset >= placed.end) low = middle + 1;
      else {
        const token = this.result?.tokens[placed.index];
        return token ? { token, placed } : undefined;
      }
    }
    return undefined;
  }

  clear(): void {
    this.result = undefined;
    this.tokens = [];
    this.annotations = [];
    this.stale = false;
    this.error = undefined;
  }
}

function placeToken(token: TokenScore, index: number, text: string, baseOffset: number): PlacedToken {
  const visible = visibleSpan(text, token.start, token.end);
  return {
    start: token.start + baseOffset,
    end: token.end + baseOffset,
    index,
    visibleLead: visible ? visible.start - token.start : 0,
    visibleLength: visible ? visible.end - visible.start : 0,
  };
}

/**
 * A scored selection grows and shrinks with edits inside it (unlike a token, which an edit invalidates):
 * edits before it shift it, edits inside it change its length, an edit that covers it leaves it empty.
 */
export function mapScopeThroughEdits(scope: OffsetRange, edits: readonly TextEdit[]): OffsetRange {
  let { start, end } = scope;
  for (const edit of edits) {
    const editEnd = edit.offset + edit.deletedLength;
    const mapOffset = (offset: number, leanAfter: boolean): number => {
      if (offset < edit.offset || (offset === edit.offset && !leanAfter)) return offset;
      if (offset >= editEnd) return offset + edit.insertedLength - edit.deletedLength;
      return leanAfter ? edit.offset + edit.insertedLength : edit.offset;
    };
    start = mapOffset(start, false);
    end = Math.max(start, mapOffset(end, true));
  }
  return { start, end };
}
