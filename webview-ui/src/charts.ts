/**
 * Small inline SVG charts. Colours come from CSS classes in panel.css that use VS Code's theme
 * variables (charts.*, foreground, borders), so light, dark and high-contrast themes own them.
 * Every chart has a text alternative (aria-label) and a <title> per mark for hover details.
 */
import type { RankBucketBar, RescoreRecord, SurprisalHistogram } from "../../src/protocol/webview";
import { s } from "./dom";
import { clockTime, integer, millis, percent } from "./format";

/**
 * Charts are drawn at the pixel width they are shown at (the panel redraws them when it is resized),
 * so text and lines stay 1:1 in a narrow side bar and in a wide editor tab alike.
 */
function chartRoot(width: number, height: number, label: string, className: string): SVGSVGElement {
  return s("svg", {
    class: `chart ${className}`,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
    preserveAspectRatio: "xMinYMin meet",
  });
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

/** Vertical bars: tokens per surprisal bin (bits), with the mean marked. */
export function surprisalHistogramChart(histogram: SurprisalHistogram, width: number): SVGSVGElement {
  const height = 130;
  const left = 34;
  const right = 6;
  const top = 8;
  const bottom = 22;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const maxCount = niceMax(Math.max(0, ...histogram.bins.map((bin) => bin.count)));
  const binCount = histogram.bins.length;
  const binWidth = plotWidth / binCount;
  const summary = histogram.bins
    .filter((bin) => bin.count > 0)
    .map((bin) => `${bin.fromBits}${bin.toBits === null ? "+" : `–${bin.toBits}`} bits: ${bin.count}`)
    .join(", ");
  const svg = chartRoot(width, height, `Histogram of token surprisal in bits. ${summary || "No scored tokens."}`, "histogram");

  // Axes and gridlines.
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotHeight * (1 - fraction);
    svg.append(s("line", { class: fraction === 0 ? "axis" : "grid", x1: left, x2: width - right, y1: y, y2: y }));
    svg.append(s("text", { class: "tick", x: left - 4, y: y + 3, "text-anchor": "end" }, integer(maxCount * fraction)));
  }

  histogram.bins.forEach((bin, i) => {
    const barHeight = (bin.count / maxCount) * plotHeight;
    const x = left + i * binWidth;
    const range = bin.toBits === null ? `≥ ${bin.fromBits} bits` : `${bin.fromBits}–${bin.toBits} bits`;
    svg.append(
      s(
        "rect",
        { class: "bar", x: x + 0.5, y: top + plotHeight - barHeight, width: Math.max(0, binWidth - 1), height: barHeight },
        s("title", undefined, `${range}: ${integer(bin.count)} tokens`),
      ),
    );
  });

  // X ticks at bin edges, thinned so labels do not collide.
  const every = Math.max(1, Math.ceil(binCount / 10));
  for (let i = 0; i <= binCount; i += every) {
    const last = histogram.bins[binCount - 1];
    const label = i === binCount && last?.toBits === null ? "" : String(i * histogram.binWidthBits);
    svg.append(s("text", { class: "tick", x: left + i * binWidth, y: height - bottom + 11, "text-anchor": "middle" }, label));
  }
  const lastBin = histogram.bins[binCount - 1];
  if (lastBin?.toBits === null) {
    svg.append(s("text", { class: "tick", x: left + (binCount - 0.5) * binWidth, y: height - bottom + 11, "text-anchor": "middle" }, `${lastBin.fromBits}+`));
  }
  svg.append(s("text", { class: "axis-label", x: left + plotWidth / 2, y: height - 1, "text-anchor": "middle" }, "surprisal of a token (bits)"));

  if (histogram.meanBits !== null) {
    const span = binCount * histogram.binWidthBits;
    const x = left + Math.min(1, histogram.meanBits / span) * plotWidth;
    svg.append(
      s("line", { class: "mean", x1: x, x2: x, y1: top, y2: top + plotHeight }, s("title", undefined, `mean ${histogram.meanBits.toFixed(2)} bits`)),
      s("text", { class: "mean-label", x: x + 3, y: top + 8 }, "mean"),
    );
  }
  return svg;
}

export interface BarPart {
  value: number;
  /** CSS class that colours the part. */
  className: string;
  label: string;
}

/** One horizontal bar split into parts (GLTR buckets, reused vs recomputed). */
export function stackedBar(parts: readonly BarPart[], ariaLabel: string, width: number): SVGSVGElement {
  const height = 14;
  const total = parts.reduce((sum, part) => sum + part.value, 0);
  const svg = chartRoot(width, height, ariaLabel, "stacked");
  svg.append(s("rect", { class: "track", x: 0, y: 0, width, height, rx: 2 }));
  let x = 0;
  for (const part of parts) {
    if (total <= 0 || part.value <= 0) continue;
    const partWidth = (part.value / total) * width;
    svg.append(
      s(
        "rect",
        { class: `part ${part.className}`, x, y: 0, width: partWidth, height },
        s("title", undefined, `${part.label}: ${integer(part.value)} (${percent(part.value / total)})`),
      ),
    );
    x += partWidth;
  }
  return svg;
}

export function gltrBar(bars: readonly RankBucketBar[], width: number): SVGSVGElement {
  const label = `GLTR rank buckets: ${bars.map((bar) => `${bar.label} ${integer(bar.count)} (${percent(bar.fraction)})`).join(", ")}`;
  return stackedBar(
    bars.map((bar) => ({ value: bar.count, className: `gltr-${bar.bucket}`, label: bar.label })),
    label,
    width,
  );
}

/** One column per rescore: the share of tokens reused (bottom) and recomputed (top), oldest left. */
export function reuseHistoryChart(records: readonly RescoreRecord[], capacity: number, width: number): SVGSVGElement {
  const height = 70;
  const left = 30;
  const top = 4;
  const bottom = 4;
  const plotWidth = width - left;
  const plotHeight = height - top - bottom;
  const slots = Math.max(capacity, records.length, 1);
  const slot = plotWidth / slots;
  const reused = records.reduce((sum, r) => sum + r.tokensReused, 0);
  const all = records.reduce((sum, r) => sum + r.tokensReused + r.tokensRecomputed, 0);
  const svg = chartRoot(
    width,
    height,
    `Tokens reused per rescore over the last ${records.length} rescores: ${percent(all > 0 ? reused / all : null)} reused overall.`,
    "reuse-history",
  );
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotHeight * (1 - fraction);
    svg.append(s("line", { class: fraction === 0 ? "axis" : "grid", x1: left, x2: width, y1: y, y2: y }));
    svg.append(s("text", { class: "tick", x: left - 4, y: y + 3, "text-anchor": "end" }, `${fraction * 100}%`));
  }
  records.forEach((record, i) => {
    const total = record.tokensReused + record.tokensRecomputed;
    const x = left + (slots - records.length + i) * slot + 0.5;
    const barWidth = Math.max(1, slot - 1);
    const reusedHeight = total > 0 ? (record.tokensReused / total) * plotHeight : 0;
    const tip =
      `${record.document} at ${clockTime(record.at)}: ${integer(record.tokensReused)} reused, ` +
      `${integer(record.tokensRecomputed)} recomputed in ${millis(record.millis)} (full ≈ ${millis(record.fullRescoreMillisEstimate)})`;
    const group = s("g", undefined, s("title", undefined, tip));
    group.append(s("rect", { class: "part recomputed", x, y: top, width: barWidth, height: total > 0 ? plotHeight - reusedHeight : 0 }));
    group.append(s("rect", { class: "part reused", x, y: top + plotHeight - reusedHeight, width: barWidth, height: reusedHeight }));
    svg.append(group);
  });
  return svg;
}
