import type { DocumentView } from "../../../src/protocol/webview";
import { gltrBar, surprisalHistogramChart } from "../charts";
import { emptyState, facts, h } from "../dom";
import { clockTime, fixed, integer, percent, significant, visibleToken } from "../format";
import type { PanelData, PanelSection, SectionContext } from "./section";
import { natsToBits } from "../../../src/protocol/display";

/** Token, word and byte perplexity, bits per byte, NLL, the method, and the surprisal charts of the last scored document. */
export const documentSection: PanelSection = {
  id: "document",
  heading: "Document",
  dependsOn: ["document"],
  describe: (data) => data.document?.fileName ?? "",
  render(data: PanelData, context: SectionContext): Node {
    const doc = data.document;
    if (!doc) {
      return emptyState(
        "Nothing scored yet.",
        "Open a text document: Perplexity Lens scores it with the local model, and this section shows its perplexity, a histogram of surprisal and the most surprising tokens.",
      );
    }
    return h(
      "div",
      { class: "section-body" },
      h("p", { class: "caption" }, `${doc.fileName} · scored by ${doc.modelName} at ${clockTime(doc.scoredAt)} (version ${doc.version})`),
      metricTiles(doc),
      nllFacts(doc),
      h("p", { class: "method" }, doc.stats.methodDescription),
      h("h3", undefined, "Surprisal per token"),
      surprisalHistogramChart(doc.stats.histogram, context.chartWidth),
      h(
        "p",
        { class: "caption" },
        `mean ${fixed(doc.stats.histogram.meanBits)} bits · median ${fixed(doc.stats.histogram.medianBits)} bits · max ${fixed(doc.stats.histogram.maxBits)} bits · ${integer(doc.stats.histogram.scoredTokens)} tokens`,
      ),
      h("h3", undefined, "Rank of each token among the model's predictions (GLTR)"),
      gltrBar(doc.stats.rankBars, context.chartWidth),
      h(
        "ul",
        { class: "legend" },
        ...doc.stats.rankBars.map((bar) =>
          h(
            "li",
            undefined,
            h("span", { class: `swatch gltr-${bar.bucket}`, "aria-hidden": "true" }),
            `${bar.label}: ${integer(bar.count)} (${percent(bar.fraction)})`,
          ),
        ),
      ),
      h("h3", undefined, "Most surprising tokens"),
      surprisingTokenList(doc, context),
    );
  },
};

function metricTiles(doc: DocumentView): HTMLElement {
  const m = doc.metrics;
  const tile = (label: string, value: number | null, title: string) =>
    h("div", { class: "tile", title }, h("div", { class: "tile-value" }, significant(value, 4)), h("div", { class: "tile-label" }, label));
  return h(
    "div",
    { class: "tiles" },
    tile("token perplexity", m.tokenPerplexity, "exp(NLL / scored tokens)"),
    tile("word perplexity", m.wordPerplexity, "exp(NLL / words), words split on whitespace"),
    tile("byte perplexity", m.bytePerplexity, "exp(NLL / UTF-8 bytes)"),
    tile("bits per byte", m.bitsPerByte, "NLL / (UTF-8 bytes · ln 2)"),
  );
}

function nllFacts(doc: DocumentView): HTMLElement {
  const m = doc.metrics;
  const meanNll = m.scoredTokens > 0 ? m.nll / m.scoredTokens : null;
  return facts([
    ["NLL", `${significant(m.nll, 6)} nats`, `${fixed(natsToBits(m.nll), 1)} bits in total`],
    ["per token", `${fixed(meanNll, 3)} ± ${fixed(m.nllStdErr, 3)} nats`, "mean ± standard error"],
    ["tokens", `${integer(m.scoredTokens)} scored of ${integer(m.tokens)}`],
    ["words · bytes", `${integer(m.words)} · ${integer(m.bytes)}`],
  ]);
}

function surprisingTokenList(doc: DocumentView, context: SectionContext): HTMLElement {
  if (doc.stats.mostSurprising.length === 0) return emptyState("No scored tokens.");
  const list = h("ol", { class: "surprising" });
  for (const token of doc.stats.mostSurprising) {
    const reveal = () => context.post({ type: "revealToken", data: { docId: doc.docId, index: token.index } });
    list.append(
      h(
        "li",
        undefined,
        h(
          "button",
          {
            type: "button",
            class: "token-button",
            title: `Reveal in the editor (characters ${token.start}–${token.end})`,
            onclick: reveal,
          },
          h("code", { class: "token" }, visibleToken(token.text)),
          h("span", { class: "bits" }, `${fixed(token.surprisalBits, 1)} bits`),
          h(
            "span",
            { class: "detail" },
            `p ${significant(token.prob, 2)}`,
            token.rank !== null ? ` · rank ${integer(token.rank)}` : "",
            token.expected !== null ? " · expected " : "",
            token.expected !== null ? h("code", { class: "token" }, visibleToken(token.expected)) : null,
          ),
        ),
      ),
    );
  }
  return list;
}
