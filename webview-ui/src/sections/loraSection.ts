/**
 * The LoRA section: every adapter the loaded model can use (rank, alpha, target modules, the domain it was trained on)
 * with an on/off switch and a scale slider, how the adapters reach the model (feed or merge), and the current document's
 * token perplexity and bits per byte with and without the active adapters side by side.
 *
 * The controls only post `setAdapter`; what they show always comes back from the extension (the same state the command
 * palette and the status bar read), so the panel and the palette cannot disagree.
 */
import type { AdapterComparisonView, AdapterRow, AdaptersView, PerplexityFigures, WebviewToExtMessage } from "../../../src/protocol/webview";
import { emptyState, h } from "../dom";
import { fixed, integer, significant } from "../format";
import type { PanelData, PanelSection, SectionContext } from "./section";

/** The slider's range; scale 0 is off (the adapter stays loaded but adds nothing). */
export const SCALE_MIN = 0;
export const SCALE_MAX = 2;
export const SCALE_STEP = 0.05;

/** "1.00": a scale as the slider shows it. */
export function scaleText(scale: number): string {
  return scale.toFixed(2);
}

/** "legal ×0.5" (×1 left out), as the status bar names active adapters. */
export function adapterLabel(adapter: { name: string; scale: number }): string {
  return adapter.scale === 1 ? adapter.name : `${adapter.name} ×${adapter.scale}`;
}

/** The message the switch posts: on with the row's scale (1 when it sits at 0), or off. */
export function switchMessage(row: AdapterRow, on: boolean): WebviewToExtMessage {
  return { type: "setAdapter", data: { id: row.id, enabled: on, scale: on && row.scale === 0 ? 1 : row.scale } };
}

/** The message the slider posts on release: the adapter in the set with that scale (0 keeps it in, but off). */
export function sliderMessage(row: AdapterRow, scale: number): WebviewToExtMessage {
  const clamped = Math.min(SCALE_MAX, Math.max(SCALE_MIN, Math.round(scale / SCALE_STEP) * SCALE_STEP));
  return { type: "setAdapter", data: { id: row.id, enabled: true, scale: Number(clamped.toFixed(2)) } };
}

/** Relative change from `base` to `value` as "−12.3%"; "" when either is missing. */
export function relativeChange(base: number | null, value: number | null): string {
  if (base === null || value === null || base === 0) return "";
  const change = (value - base) / base;
  const sign = change < 0 ? "−" : change > 0 ? "+" : "±";
  return `${sign}${(Math.abs(change) * 100).toFixed(1)}%`;
}

const modeDescription: Record<AdaptersView["mode"], string> = {
  feed: "feed: the graph takes LoRA inputs, so a switch replaces input tensors and rebuilds no session",
  merge: "merge: scale · (α/r) · B·A is added into the weights and the session is rebuilt (costs about a model load)",
  none: "not applied yet: the first switch chooses feed (graph LoRA inputs) or merge (weights patched)",
};

function adapterItem(row: AdapterRow, context: SectionContext, switching: boolean): HTMLElement {
  const toggle = h("vscode-checkbox", { toggle: true, class: "lora-switch", "aria-label": `${row.name}: ${row.enabled ? "on" : "off"}` });
  toggle.checked = row.enabled;
  toggle.label = row.name;
  toggle.addEventListener("change", () => context.post(switchMessage(row, toggle.checked)));

  const sliderId = `lora-scale-${encodeURIComponent(row.path).replace(/%/g, "_")}`;
  const value = h("output", { class: "lora-scale-value", for: sliderId }, scaleText(row.scale));
  const slider = h("input", {
    id: sliderId,
    class: "lora-scale",
    type: "range",
    min: SCALE_MIN,
    max: SCALE_MAX,
    step: SCALE_STEP,
    value: Math.min(SCALE_MAX, Math.max(SCALE_MIN, row.scale)),
    "aria-label": `scale of ${row.name}`,
  });
  slider.addEventListener("input", () => {
    value.textContent = scaleText(Number(slider.value));
  });
  slider.addEventListener("change", () => context.post(sliderMessage(row, Number(slider.value))));

  return h(
    "li",
    { class: `lora-adapter${row.enabled ? " lora-on" : ""}`, "data-adapter": row.name, "aria-busy": switching ? "true" : undefined },
    h(
      "div",
      { class: "lora-head" },
      toggle,
      h("span", { class: "note" }, `r = ${row.rank} · α = ${significant(row.alpha, 3)} · scaling α/r = ${significant(row.alpha / Math.max(1, row.rank), 3)}`),
    ),
    row.description ? h("p", { class: "lora-description" }, row.description) : null,
    h("p", { class: "note" }, "targets: ", h("code", undefined, row.targetModules.join(", ") || "none listed")),
    h("div", { class: "lora-scale-row" }, h("label", { for: sliderId, class: "note" }, "scale"), slider, value),
  );
}

function figureCell(figures: PerplexityFigures | null, pick: (f: PerplexityFigures) => number | null, digits: number): string {
  if (figures === null) return "…";
  const value = pick(figures);
  return value === null ? "—" : digits > 0 ? fixed(value, digits) : significant(value, 4);
}

function comparisonTable(comparison: AdapterComparisonView): HTMLElement {
  const withLabel = comparison.adapters.map(adapterLabel).join(" + ");
  const rows: Array<[string, (f: PerplexityFigures) => number | null, number]> = [
    ["token perplexity", (f) => f.tokenPerplexity, 0],
    ["bits per byte", (f) => f.bitsPerByte, 3],
  ];
  return h(
    "div",
    { class: "lora-comparison" },
    h("h3", undefined, `${comparison.fileName}: base vs ${withLabel}`),
    h(
      "table",
      { class: "lora-figures" },
      h(
        "thead",
        undefined,
        h(
          "tr",
          undefined,
          h("th", { scope: "col" }, ""),
          h("th", { scope: "col", class: "num" }, "base"),
          h("th", { scope: "col", class: "num", title: withLabel }, "with"),
          h("th", { scope: "col", class: "num" }, "change"),
        ),
      ),
      h(
        "tbody",
        undefined,
        ...rows.map(([label, pick, digits]) =>
          h(
            "tr",
            undefined,
            h("th", { scope: "row" }, label),
            h("td", { class: "num", "data-figure": "base" }, figureCell(comparison.base, pick, digits)),
            h("td", { class: "num", "data-figure": "with" }, figureCell(comparison.withAdapters, pick, digits)),
            h("td", { class: "num" }, comparison.base ? relativeChange(pick(comparison.base), pick(comparison.withAdapters)) : ""),
          ),
        ),
      ),
    ),
    h(
      "p",
      { class: "caption" },
      `Same text (version ${comparison.version}, ${integer(comparison.withAdapters.scoredTokens)} scored tokens), same windows; `,
      comparison.base === null
        ? h("span", { class: comparison.baseNote.endsWith("…") ? "" : "warning" }, comparison.baseNote)
        : comparison.baseNote || "base from a scoring with no adapter on",
      ".",
    ),
  );
}

/** The LoRA adapters: switches, scales, mode, and the document with and without them. */
export const loraSection: PanelSection = {
  id: "lora",
  heading: "LoRA adapters",
  dependsOn: ["adapters"],
  describe: (data) => {
    const on = data.adapters?.adapters.filter((a) => a.enabled) ?? [];
    return on.length === 0 ? (data.adapters?.modelName ? "none on" : "") : on.map(adapterLabel).join(", ");
  },
  render(data: PanelData, context: SectionContext): Node {
    const view = data.adapters;
    if (!view || view.modelName === null) return emptyState("No model loaded yet.", "Score a document to load one; its LoRA adapters are listed here.");
    const body = h("div", { class: "section-body" });
    if (view.switching) body.append(h("vscode-progress-bar", { class: "lora-progress", "aria-label": "switching adapters" }));
    if (view.error) body.append(h("p", { class: "warning", role: "alert" }, view.error));
    if (view.adapters.length === 0) {
      body.append(emptyState(`${view.modelName} has no LoRA adapters in its adapters/ folder or in perplexityLens.adapterFolders.`));
    } else {
      body.append(
        h(
          "p",
          { class: "note lora-mode", "data-mode": view.mode },
          `Applied by ${modeDescription[view.mode]}`,
          view.matchedModules > 0 ? ` · ${view.matchedModules} modules changed` : "",
          ".",
        ),
        h("ul", { class: "lora-list" }, ...view.adapters.map((row) => adapterItem(row, context, view.switching))),
      );
    }
    for (const problem of view.problems) body.append(h("p", { class: "warning" }, problem));
    if (view.comparison) body.append(comparisonTable(view.comparison));
    else if (view.adapters.some((a) => a.enabled))
      body.append(h("p", { class: "caption" }, "Score a document to see its perplexity with and without the adapters."));
    return body;
  },
};
