/**
 * The spans that get an inline perplexity annotation: paragraphs, lines, or function-sized blocks.
 * Pure: no `vscode`, unit-tested. Offsets are UTF-16 code units; each span runs from its first to just
 * past its last non-whitespace character, so the annotation sits right after the span's last character.
 */
import type { AnnotationGranularity } from "./config";
import type { OffsetRange } from "./rangeMapping";

interface Line {
  start: number;
  /** End of the line's text, before its line break. */
  end: number;
  /** Offset of the first non-whitespace character, or -1 for a blank line. */
  firstVisible: number;
  /** Offset just past the last non-whitespace character, or -1 for a blank line. */
  endVisible: number;
  indent: number;
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const lineBreak = /\r\n|\r|\n/g;
  let start = 0;
  for (;;) {
    const match = lineBreak.exec(text);
    const end = match ? match.index : text.length;
    const body = text.slice(start, end);
    const leading = body.length - body.trimStart().length;
    const trimmedLength = body.trim().length;
    const blank = trimmedLength === 0;
    lines.push({
      start,
      end,
      firstVisible: blank ? -1 : start + leading,
      endVisible: blank ? -1 : start + leading + trimmedLength,
      indent: blank ? 0 : leading,
    });
    if (!match) break;
    start = match.index + match[0].length;
  }
  return lines;
}

/** A closing line (`}`, `)`, `]`, `end`, `fi`, …) at the top level still belongs to the block it closes. */
const CLOSING_LINE = /^\s*(?:[}\])]|end\b|fi\b|done\b|esac\b|<\/)/;

export function lineSpans(text: string): OffsetRange[] {
  return splitLines(text)
    .filter((line) => line.firstVisible >= 0)
    .map((line) => ({ start: line.firstVisible, end: line.endVisible }));
}

/** Runs of non-blank lines separated by blank lines. */
export function paragraphSpans(text: string): OffsetRange[] {
  const spans: OffsetRange[] = [];
  let current: OffsetRange | null = null;
  for (const line of splitLines(text)) {
    if (line.firstVisible < 0) {
      if (current) spans.push(current);
      current = null;
    } else if (current) {
      current.end = line.endVisible;
    } else {
      current = { start: line.firstVisible, end: line.endVisible };
    }
  }
  if (current) spans.push(current);
  return spans;
}

/**
 * Function-sized blocks: a block starts at a top-level (unindented) line that follows a blank line or an
 * indented line; indented lines, blank lines inside indented bodies and top-level closing lines continue
 * it. For prose this gives paragraphs; for code, one block per top-level definition.
 */
export function blockSpans(text: string): OffsetRange[] {
  const spans: OffsetRange[] = [];
  let current: OffsetRange | null = null;
  let blankSinceLast = false;
  let previousIndented = false;
  for (const line of splitLines(text)) {
    if (line.firstVisible < 0) {
      blankSinceLast = true;
      continue;
    }
    const topLevel = line.indent === 0;
    const closes = CLOSING_LINE.test(text.slice(line.start, line.end));
    const startsBlock = !current || (topLevel && !closes && (blankSinceLast || previousIndented));
    if (startsBlock) {
      if (current) spans.push(current);
      current = { start: line.firstVisible, end: line.endVisible };
    } else if (current) {
      current.end = line.endVisible;
    }
    blankSinceLast = false;
    previousIndented = !topLevel;
  }
  if (current) spans.push(current);
  return spans;
}

export function annotationSpans(text: string, granularity: AnnotationGranularity): OffsetRange[] {
  switch (granularity) {
    case "line":
      return lineSpans(text);
    case "paragraph":
      return paragraphSpans(text);
    case "block":
      return blockSpans(text);
    case "off":
      return [];
  }
}

/**
 * Groups tokens (sorted, not overlapping) by span in one pass: a span's tokens are those that end after
 * its start and start before its end (a GPT-2 token " The" whose space precedes the paragraph counts).
 * Returns, per span (sorted, not overlapping), the index range [from, to) of its tokens.
 */
export function tokensPerSpan(tokens: readonly OffsetRange[], spans: readonly OffsetRange[]): { from: number; to: number }[] {
  const groups: { from: number; to: number }[] = [];
  let index = 0;
  for (const span of spans) {
    while (index < tokens.length && (tokens[index]?.end ?? Infinity) <= span.start) index++;
    const from = index;
    while (index < tokens.length && (tokens[index]?.start ?? Infinity) < span.end) index++;
    groups.push({ from, to: index });
  }
  return groups;
}
