/**
 * Token highlights and inline perplexity annotations. The decoration types are created once (one per
 * surprisal level, one per GLTR bucket, one for annotations) and recreated only when the opacity
 * setting changes; each redraw hands VS Code a list of ranges per type.
 *
 * Colours are theme colours declared in the manifest's `contributes.colors`, so themes own them. With an
 * opacity below 1 the theme colour is mixed with transparency in CSS (`color-mix` over the
 * `--vscode-<id>` variable VS Code defines for every theme colour), which keeps the theme in charge.
 */
import * as vscode from "vscode";
import type { ColorMode, LensConfig } from "./config";
import type { DocumentScoreState } from "./documentScoreState";
import { GLTR_BUCKETS, SURPRISAL_LEVELS, gltrBucket, surprisalLevel } from "../core/surprisal";

/** Above this many tokens only those near the visible part of the editor are decorated. */
const FULL_DOCUMENT_TOKEN_LIMIT = 20_000;
/** Lines decorated above and below the visible ranges when windowing. */
const WINDOW_MARGIN_LINES = 400;

const GLTR_COLOR_IDS: Record<(typeof GLTR_BUCKETS)[number], string> = {
  top10: "perplexityLens.gltrTop10",
  top100: "perplexityLens.gltrTop100",
  top1000: "perplexityLens.gltrTop1000",
  rest: "perplexityLens.gltrRest",
};

function themeBackground(colorId: string, opacity: number): string | vscode.ThemeColor {
  if (opacity >= 1) return new vscode.ThemeColor(colorId);
  const percent = Math.round(Math.max(0, Math.min(1, opacity)) * 100);
  return `color-mix(in srgb, var(--vscode-${colorId.replace(/\./g, "-")}) ${percent}%, transparent)`;
}

export class TokenDecorations implements vscode.Disposable {
  private surprisalTypes: vscode.TextEditorDecorationType[] = [];
  private gltrTypes: vscode.TextEditorDecorationType[] = [];
  private readonly annotationType: vscode.TextEditorDecorationType;
  private opacity = -1;
  /** The document offsets each editor was last decorated for, when windowed. */
  private readonly decoratedWindows = new WeakMap<vscode.TextEditor, { start: number; end: number }>();

  constructor(config: LensConfig) {
    this.annotationType = vscode.window.createTextEditorDecorationType({
      after: {
        color: new vscode.ThemeColor("perplexityLens.inlineAnnotationForeground"),
        margin: "0 0 0 2em",
        fontStyle: "italic",
      },
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    this.updateStyle(config);
  }

  /** Recreates the colour types if the opacity changed; returns whether it did (callers then redraw). */
  updateStyle(config: LensConfig): boolean {
    if (config.opacity === this.opacity) return false;
    this.disposeColorTypes();
    this.opacity = config.opacity;
    for (let level = 0; level < SURPRISAL_LEVELS; level++) {
      const colorId = `perplexityLens.surprisal${level}`;
      this.surprisalTypes.push(
        vscode.window.createTextEditorDecorationType({
          backgroundColor: themeBackground(colorId, config.opacity),
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
          // The two most surprising levels also mark the scroll bar, so they can be found in a long file.
          ...(level >= SURPRISAL_LEVELS - 2 ? { overviewRulerColor: new vscode.ThemeColor(colorId), overviewRulerLane: vscode.OverviewRulerLane.Right } : {}),
        }),
      );
    }
    for (const bucket of GLTR_BUCKETS) {
      const colorId = GLTR_COLOR_IDS[bucket];
      this.gltrTypes.push(
        vscode.window.createTextEditorDecorationType({
          backgroundColor: themeBackground(colorId, config.opacity),
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
          ...(bucket === "rest" ? { overviewRulerColor: new vscode.ThemeColor(colorId), overviewRulerLane: vscode.OverviewRulerLane.Right } : {}),
        }),
      );
    }
    return true;
  }

  /** Draws `state` in `editor`, or clears the editor when there is nothing to show. */
  render(editor: vscode.TextEditor, state: DocumentScoreState | undefined, config: LensConfig, visible: boolean): void {
    if (!visible || !state?.result) {
      this.clear(editor);
      return;
    }
    const document = editor.document;
    const window = this.windowFor(editor, state.tokens.length);
    const mode: ColorMode = config.colorMode;
    const levels = mode === "gltr" ? GLTR_BUCKETS.length : SURPRISAL_LEVELS;
    const rangesByLevel: vscode.Range[][] = Array.from({ length: levels }, () => []);
    const tokens = state.result.tokens;
    const first = window ? lowerBound(state.tokens, window.start) : 0;
    for (let i = first; i < state.tokens.length; i++) {
      const placed = state.tokens[i];
      if (!placed) break;
      if (window && placed.start > window.end) break;
      if (placed.visibleLength === 0) continue;
      const token = tokens[placed.index];
      if (!token) continue;
      const level = mode === "gltr" ? gltrBucket(token.rank) : surprisalLevel(token.logprob);
      if (level === null) continue;
      const start = placed.start + placed.visibleLead;
      rangesByLevel[level]?.push(new vscode.Range(document.positionAt(start), document.positionAt(start + placed.visibleLength)));
    }
    const active = mode === "gltr" ? this.gltrTypes : this.surprisalTypes;
    const inactive = mode === "gltr" ? this.surprisalTypes : this.gltrTypes;
    active.forEach((type, level) => editor.setDecorations(type, rangesByLevel[level] ?? []));
    for (const type of inactive) editor.setDecorations(type, []);

    const annotations: vscode.DecorationOptions[] =
      config.annotationGranularity === "off"
        ? []
        : state.annotations.map((annotation) => {
            const at = document.positionAt(annotation.end);
            return { range: new vscode.Range(at, at), renderOptions: { after: { contentText: annotation.label } } };
          });
    editor.setDecorations(this.annotationType, annotations);
  }

  /** Whether `editor` scrolled outside the part decorated for it, so it needs a redraw. */
  needsRedrawAfterScroll(editor: vscode.TextEditor): boolean {
    const decorated = this.decoratedWindows.get(editor);
    if (!decorated) return false;
    const visible = visibleOffsets(editor, 0);
    return visible.start < decorated.start || visible.end > decorated.end;
  }

  clear(editor: vscode.TextEditor): void {
    for (const type of [...this.surprisalTypes, ...this.gltrTypes, this.annotationType]) editor.setDecorations(type, []);
    this.decoratedWindows.delete(editor);
  }

  dispose(): void {
    this.disposeColorTypes();
    this.annotationType.dispose();
  }

  private windowFor(editor: vscode.TextEditor, tokenCount: number): { start: number; end: number } | undefined {
    if (tokenCount <= FULL_DOCUMENT_TOKEN_LIMIT) {
      this.decoratedWindows.delete(editor);
      return undefined;
    }
    const window = visibleOffsets(editor, WINDOW_MARGIN_LINES);
    this.decoratedWindows.set(editor, window);
    return window;
  }

  private disposeColorTypes(): void {
    for (const type of [...this.surprisalTypes, ...this.gltrTypes]) type.dispose();
    this.surprisalTypes = [];
    this.gltrTypes = [];
  }
}

function visibleOffsets(editor: vscode.TextEditor, marginLines: number): { start: number; end: number } {
  const document = editor.document;
  const ranges = editor.visibleRanges;
  const firstLine = Math.max(0, (ranges[0]?.start.line ?? 0) - marginLines);
  const lastLine = Math.min(document.lineCount - 1, (ranges[ranges.length - 1]?.end.line ?? 0) + marginLines);
  return {
    start: document.offsetAt(new vscode.Position(firstLine, 0)),
    end: document.offsetAt(document.lineAt(lastLine).range.end),
  };
}

/** Index of the first token ending after `offset`. */
function lowerBound(tokens: readonly { end: number }[], offset: number): number {
  let low = 0;
  let high = tokens.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((tokens[middle]?.end ?? Infinity) <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
}
