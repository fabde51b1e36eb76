import type { CacheView } from "../../../src/protocol/webview";
import { reuseHistoryChart, stackedBar } from "../charts";
import { emptyState, facts, h } from "../dom";
import { bytes, fixed, integer, millis, percent } from "../format";
import type { PanelData, PanelSection, SectionContext } from "./section";

/** Capacity of the host's RescoreHistory: the chart keeps a slot for each. */
const historySlots = 40;

/** The KV cache, live: size and its formula, tensor shapes, budget, the last rescore and the reuse history. */
export const cacheSection: PanelSection = {
  id: "cache",
  heading: "KV cache",
  dependsOn: ["cache", "model"],
  describe: (data) => (data.cache ? `${integer(data.cache.stats.tokensCached)} tokens · ${bytes(data.cache.stats.bytesHeld)}` : ""),
  render(data: PanelData, context: SectionContext): Node {
    const cache = data.cache;
    if (!cache) return emptyState("No cache statistics yet: they appear with the first scored document.");
    const stats = cache.stats;
    const budgetFraction = stats.budgetBytes > 0 ? stats.bytesHeld / stats.budgetBytes : null;
    const budget = h("vscode-progress-bar", { class: "budget", "aria-label": "KV-cache budget used" });
    budget.max = 1;
    budget.value = Math.min(1, budgetFraction ?? 0);

    return h(
      "div",
      { class: "section-body" },
      cache.reason ? h("p", { class: "notice", role: "status" }, `Cache reset: ${cache.reason}`) : null,
      facts([
        ["tokens cached", integer(stats.tokensCached)],
        ["bytes held", bytes(stats.bytesHeld), bytesFormula(cache)],
        ["per layer", layerShape(stats.layerShape), data.model ? `a key and a value tensor in each of ${data.model.numLayers} layers` : null],
        [
          "budget",
          budgetFraction === null ? "no budget" : `${percent(budgetFraction)} of ${bytes(stats.budgetBytes)}`,
          budgetFraction === null ? null : budget,
        ],
        ["hit rate", percent(stats.hitRate), `${integer(stats.tokensReused)} reused · ${integer(stats.tokensRecomputed)} recomputed since the engine started`],
        ["evictions", integer(stats.evictions)],
        stats.lastReset ? ["last reset", stats.lastReset] : null,
      ]),
      h("h3", undefined, "Last rescore"),
      lastRescore(cache, context.chartWidth),
      h("h3", undefined, "Reuse per rescore"),
      history(cache, context.chartWidth),
    );
  },
};

function layerShape(shape: readonly number[]): string {
  return shape.length > 0 ? `[${shape.join(", ")}]` : "—";
}

/** 2 · layers · kv_heads · head_dim · tokens · dtype size, with this model's numbers. */
function bytesFormula(cache: CacheView): Node {
  const b = cache.bytes;
  if (!b) return document.createTextNode("2 · layers · kv_heads · head_dim · tokens · dtype size (model not known yet)");
  const formula = h(
    "span",
    { class: "formula" },
    h("span", { title: "a key and a value per layer" }, "2"),
    " · ",
    h("span", { title: "layers" }, `${b.layers} layers`),
    " · ",
    h("span", { title: "key/value heads" }, `${b.kvHeads} kv_heads`),
    " · ",
    h("span", { title: "head dimension" }, `${b.headDim} head_dim`),
    " · ",
    h("span", { title: "tokens cached" }, `${integer(b.tokens)} tokens`),
    " · ",
    h("span", { title: "bytes per element" }, `${b.dtypeBytes} B (${b.dtype})`),
    ` = ${integer(b.bytes)} B`,
  );
  const agrees = b.bytes === cache.stats.bytesHeld;
  return h(
    "span",
    undefined,
    formula,
    agrees ? null : h("span", { class: "warning" }, ` — the engine counts ${integer(cache.stats.bytesHeld)} B from its tensors`),
  );
}

function lastRescore(cache: CacheView, chartWidth: number): Node {
  const r = cache.lastRescore;
  if (!r) return emptyState("No rescore yet.");
  const speedup = r.millis > 0 ? r.fullRescoreMillisEstimate / r.millis : null;
  return h(
    "div",
    undefined,
    stackedBar(
      [
        { value: r.tokensReused, className: "reused", label: "reused from the cache" },
        { value: r.tokensRecomputed, className: "recomputed", label: "recomputed" },
      ],
      `Last rescore: ${r.tokensReused} tokens reused, ${r.tokensRecomputed} recomputed`,
      chartWidth,
    ),
    h(
      "ul",
      { class: "legend" },
      h("li", undefined, h("span", { class: "swatch reused", "aria-hidden": "true" }), `${integer(r.tokensReused)} reused`),
      h("li", undefined, h("span", { class: "swatch recomputed", "aria-hidden": "true" }), `${integer(r.tokensRecomputed)} recomputed`),
    ),
    facts([
      ["took", millis(r.millis)],
      ["full rescore", `≈ ${millis(r.fullRescoreMillisEstimate)}`, speedupNote(speedup)],
    ]),
  );
}

function history(cache: CacheView, chartWidth: number): Node {
  if (cache.history.length === 0) return emptyState("No rescores yet.");
  const totals = cache.historyTotals;
  return h(
    "div",
    undefined,
    reuseHistoryChart(cache.history, historySlots, chartWidth),
    h(
      "p",
      { class: "caption" },
      `${totals.rescores === 1 ? "The one rescore so far" : `Last ${totals.rescores} rescores`}: ${percent(totals.reuseFraction)} of tokens reused; ` +
        `${millis(totals.millis)} spent against ≈ ${millis(totals.fullRescoreMillisEstimate)} without the cache` +
        (totals.speedup !== null ? ` (${speedupNote(totals.speedup)}).` : "."),
    ),
  );
}

/** "6.4× faster with the cache" (or slower, when reusing cost more than it saved). */
function speedupNote(speedup: number | null): string | null {
  if (speedup === null) return null;
  return speedup >= 1 ? `${fixed(speedup, 1)}× faster with the cache` : `${fixed(1 / speedup, 1)}× slower with the cache`;
}
