/**
 * The comparison view (Compare Tokenizers): the table of every compared model's metrics, the fairness sentence, a
 * chart of token perplexity against bits per byte, and the same text split by each tokenizer side by side — token
 * boundaries drawn as thin edges, backgrounds coloured by surprisal with the editor's theme colours
 * (perplexityLens.surprisal0…7), columns that scroll together.
 */
import type { ComparedToken, ComparisonEntry } from "../../../src/protocol/webview";
import type { ComparisonView } from "../../../src/protocol/webview";
import { comparisonChart } from "../comparisonChart";
import { emptyState, h } from "../dom";
import { clockTime, fixed, integer, significant } from "../format";
import type { PanelData, PanelSection, SectionContext } from "./section";

/** Surprisal level of the editor's highlights: 2-bit steps, 8 levels (0–2 bits … 14+ bits). */
export function surprisalLevel(bits: number): number {
  return Math.max(0, Math.min(7, Math.floor(bits / 2)));
}

/** A visible piece of a column: a token's characters, with the byte fragments that continue its last character merged in. */
export interface TokenPiece {
  start: number;
  end: number;
  /** Summed surprisal of the merged tokens; null when unscored. */
  bits: number | null;
  /** Tokens merged into this piece (> 1 when a character is split over several tokens). */
  tokens: number;
  /** Index of the first token. */
  index: number;
}

/** Merges empty-range tokens (continuations of a character split over tokens) into the piece before them. */
export function tokenPieces(tokens: readonly ComparedToken[]): TokenPiece[] {
  const pieces: TokenPiece[] = [];
  tokens.forEach((token, index) => {
    const last = pieces[pieces.length - 1];
    if (token.end <= token.start && last !== undefined) {
      last.tokens++;
      last.bits = last.bits === null || token.bits === null ? (last.bits ?? token.bits) : last.bits + token.bits;
      return;
    }
    if (token.end <= token.start) return;
    pieces.push({ start: token.start, end: token.end, bits: token.bits, tokens: 1, index });
  });
  return pieces;
}

function pieceTitle(text: string, piece: TokenPiece, entry: ComparisonEntry): string {
  const shown = JSON.stringify(text.slice(piece.start, piece.end));
  const which =
    piece.tokens > 1 ? `tokens ${piece.index + 1}–${piece.index + piece.tokens} (one character over ${piece.tokens} tokens)` : `token ${piece.index + 1}`;
  const bits = piece.bits === null ? (entry.method === null ? "tokenizer only" : "not scored") : `${piece.bits.toFixed(2)} bits`;
  return `${shown} · ${which} · ${bits}`;
}

/** One column: the shown text with a span per token piece; text no token covers (skipped whitespace) stays plain. */
function tokenColumn(text: string, entry: ComparisonEntry, position: number): HTMLElement {
  const body = h("div", {
    class: "cmp-text",
    tabindex: 0,
    role: "document",
    "aria-label": `${entry.model.name}: the text split into ${entry.tokens.length} tokens`,
  });
  let cursor = 0;
  const pieces = tokenPieces(entry.tokens);
  pieces.forEach((piece, i) => {
    if (piece.start > cursor) body.append(text.slice(cursor, piece.start));
    const level = piece.bits === null ? null : surprisalLevel(piece.bits);
    const className = `cmp-token ${level === null ? `cmp-unscored cmp-alt${i % 2}` : `surprisal-${level}`}`;
    body.append(h("span", { class: className, title: pieceTitle(text, piece, entry) }, text.slice(Math.max(piece.start, cursor), piece.end)));
    cursor = Math.max(cursor, piece.end);
  });
  if (cursor < text.length) body.append(text.slice(cursor));
  const m = entry.metrics;
  const headline =
    entry.method === null ? `${integer(m.tokens)} tokens · tokenizer only` : `${integer(m.tokens)} tokens · ${fixed(m.bitsPerByte, 3)} bits/byte`;
  return h(
    "div",
    { class: "cmp-column", "data-entry": position },
    h(
      "div",
      { class: "cmp-column-head" },
      h("span", { class: `cmp-swatch cmp-series-${position % 6}`, "aria-hidden": "true" }),
      h("strong", undefined, entry.model.name),
      h("span", { class: "cmp-note" }, headline),
    ),
    body,
  );
}

/** Keeps the columns' scroll positions together (proportionally: the same text wraps alike in equal columns). */
function scrollTogether(columns: readonly HTMLElement[]): void {
  let leader: HTMLElement | null = null;
  let release = 0;
  for (const column of columns) {
    column.addEventListener("scroll", () => {
      if (leader !== null && leader !== column) return;
      leader = column;
      const range = column.scrollHeight - column.clientHeight;
      const fraction = range > 0 ? column.scrollTop / range : 0;
      for (const other of columns) {
        if (other === column) continue;
        other.scrollTop = fraction * (other.scrollHeight - other.clientHeight);
      }
      cancelAnimationFrame(release);
      release = requestAnimationFrame(() => (leader = null));
    });
  }
}

function metricsTable(view: ComparisonView): HTMLTableElement {
  const entries = view.comparison.entries;
  const best = view.comparison.verdict.rankingByBitsPerByte[0];
  const row = (label: string, title: string, cell: (e: ComparisonEntry, i: number) => string, highlightBest = false) =>
    h(
      "tr",
      undefined,
      h("th", { scope: "row", title }, label),
      ...entries.map((e, i) => h("td", { class: highlightBest && i === best && entries.length > 1 ? "best" : undefined }, cell(e, i))),
    );
  return h(
    "table",
    { class: "cmp-table" },
    h(
      "thead",
      undefined,
      h(
        "tr",
        undefined,
        h("th", undefined, ""),
        ...entries.map((e, i) =>
          h(
            "th",
            { scope: "col", title: `${e.model.path}\n${e.model.tokenizerType}, vocabulary ${integer(e.model.vocabSize)}` },
            h("span", { class: `cmp-swatch cmp-series-${i % 6}`, "aria-hidden": "true" }),
            e.model.name,
          ),
        ),
      ),
    ),
    h(
      "tbody",
      undefined,
      row("tokens", "tokens the text is split into", (e) => integer(e.metrics.tokens)),
      row("characters / token", "UTF-16 length of the text / tokens", (e) => fixed(e.metrics.charsPerToken, 2)),
      row("bytes / token", "UTF-8 bytes of the text / tokens", (e) => fixed(e.metrics.bytesPerToken, 2)),
      row("token perplexity", "exp(NLL / tokens): not comparable across tokenizers", (e) => significant(e.metrics.tokenPerplexity, 4)),
      row("word perplexity", "exp(NLL / words), words split on whitespace: comparable", (e) => significant(e.metrics.wordPerplexity, 4)),
      row("byte perplexity", "exp(NLL / UTF-8 bytes): comparable", (e) => significant(e.metrics.bytePerplexity, 4)),
      row("bits per byte", "NLL / (UTF-8 bytes · ln 2): comparable", (e) => fixed(e.metrics.bitsPerByte, 3), true),
      row("NLL (bits)", "total surprisal of the text, NLL / ln 2", (e) => significant(e.metrics.nllBits, 5)),
      row("window", "scoring method, window and stride (tokens)", (e) =>
        e.method === null ? "—" : `${e.method.method} ${e.method.window}/${e.method.stride}`,
      ),
    ),
  );
}

function surprisalLegend(): HTMLElement {
  return h(
    "ul",
    { class: "legend", "aria-label": "surprisal colours" },
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((level) =>
      h("li", undefined, h("span", { class: `swatch surprisal-${level}`, "aria-hidden": "true" }), level === 7 ? "14+ bits" : `${level * 2}–${level * 2 + 2}`),
    ),
  );
}

/**
 * The comparison last drawn (undefined before the first draw, null when there was none), so a comparison that arrives
 * while the panel is open is scrolled into view (it is the last section) and a restored one is not.
 */
let drawnComparedAt: number | null | undefined;

function scrollIntoViewWhenNew(element: HTMLElement, comparedAt: number | null): void {
  const isNew = comparedAt !== null && drawnComparedAt !== undefined && drawnComparedAt !== comparedAt;
  drawnComparedAt = comparedAt;
  if (isNew) requestAnimationFrame(() => (element.closest("vscode-collapsible") ?? element).scrollIntoView({ block: "start" }));
}

export const comparisonSection: PanelSection = {
  id: "comparison",
  heading: "Tokenizer comparison",
  dependsOn: ["comparison"],
  describe: (data) => data.comparison?.fileName ?? "",
  render(data: PanelData, context: SectionContext): Node {
    const compareButton = (label: string) =>
      h("button", { class: "action-button", type: "button", onclick: () => context.post({ type: "compare", data: {} }) }, label);
    const view = data.comparison;
    if (!view) {
      drawnComparedAt = null;
      return h(
        "div",
        undefined,
        emptyState(
          "No comparison yet.",
          "Compare Tokenizers scores the document (or the selection) with two or more models and shows why token perplexity differs between tokenizers while bits per byte compares fairly.",
        ),
        compareButton("Compare Tokenizers…"),
      );
    }
    const c = view.comparison;
    const cut = view.text.length < view.characters;
    const columns = c.entries.map((entry, i) => tokenColumn(view.text, entry, i));
    const grid = h("div", { class: `cmp-columns cmp-columns-${Math.min(columns.length, 4)}` }, ...columns);
    scrollTogether(columns.map((column) => column.querySelector<HTMLElement>(".cmp-text")).filter((el): el is HTMLElement => el !== null));
    const body = h(
      "div",
      { class: "section-body" },
      h(
        "p",
        { class: "caption" },
        `${view.fileName}${view.scope === "selection" ? " (selection)" : ""} · ${integer(view.characters)} characters, ${integer(c.bytes)} bytes, ${integer(c.words)} words · compared at ${clockTime(view.comparedAt)} `,
        compareButton("Compare again…"),
      ),
      h("p", { class: "verdict" }, c.verdict.sentence),
      metricsTable(view),
      h("h3", undefined, "Token perplexity against bits per byte"),
      comparisonChart(c.entries, context.chartWidth),
      h(
        "p",
        { class: "caption" },
        "Dashed: token perplexity = 2^(bits per byte × bytes per token) for each tokenizer — at the same bits per byte, longer tokens mean a higher token perplexity.",
      ),
      h("h3", undefined, "The text, split by each tokenizer"),
      cut
        ? h(
            "p",
            { class: "caption" },
            `Showing the first ${integer(view.text.length)} of ${integer(view.characters)} characters; the table covers the whole text.`,
          )
        : null,
      surprisalLegend(),
      grid,
    );
    scrollIntoViewWhenNew(body, view.comparedAt);
    return body;
  },
};
