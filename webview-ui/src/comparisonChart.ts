/**
 * Token perplexity (log scale) against bits per byte, one point per compared model, with each tokenizer's curve
 * token perplexity = 2^(bits per byte × bytes per token) dashed through its point: models on the same vertical line are
 * equally good per byte however far apart their token perplexities are. Colours from panel.css (theme variables).
 */
import type { ComparisonEntry } from "../../src/protocol/webview";
import { s } from "./dom";
import { fixed, significant } from "./format";

function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

export function comparisonChart(entries: readonly ComparisonEntry[], width: number): SVGSVGElement {
  const height = 180;
  const left = 42;
  const right = 10;
  const top = 10;
  const bottom = 28;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const points = entries
    .map((entry, i) => ({ entry, i, bpb: entry.metrics.bitsPerByte, ppl: entry.metrics.tokenPerplexity, bpt: entry.metrics.bytesPerToken }))
    .filter((p): p is { entry: ComparisonEntry; i: number; bpb: number; ppl: number; bpt: number | null } => p.bpb !== null && p.ppl !== null && p.ppl > 0);
  const label =
    points.length === 0
      ? "No model was scored, so there is nothing to plot."
      : `Token perplexity against bits per byte: ${points.map((p) => `${p.entry.model.name} ${fixed(p.bpb, 3)} bits per byte, token perplexity ${significant(p.ppl, 4)}`).join("; ")}.`;
  const svg = s("svg", {
    class: "chart comparison-chart",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
    preserveAspectRatio: "xMinYMin meet",
  });
  if (points.length === 0) return svg;

  const xMax = niceCeiling(Math.max(...points.map((p) => p.bpb)) * 1.1);
  const decadeMax = Math.max(1, Math.ceil(Math.log10(Math.max(...points.map((p) => p.ppl)) * 1.5)));
  const decadeMin = Math.min(decadeMax - 1, Math.max(0, Math.floor(Math.log10(Math.min(...points.map((p) => p.ppl))))));
  const x = (bpb: number): number => left + (bpb / xMax) * plotWidth;
  const y = (ppl: number): number => top + plotHeight * (1 - (Math.log10(ppl) - decadeMin) / (decadeMax - decadeMin));

  for (let d = decadeMin; d <= decadeMax; d++) {
    const yy = y(10 ** d);
    svg.append(s("line", { class: d === decadeMin ? "axis" : "grid", x1: left, x2: width - right, y1: yy, y2: yy }));
    svg.append(s("text", { class: "tick", x: left - 4, y: yy + 3, "text-anchor": "end" }, d <= 3 ? String(10 ** d) : `1e${d}`));
  }
  const step = xMax / 4;
  const tickDecimals = Number.isInteger(step) ? 0 : Number.isInteger(step * 10) ? 1 : 2;
  for (let k = 0; k <= 4; k++) {
    const value = step * k;
    svg.append(s("line", { class: k === 0 ? "axis" : "grid", x1: x(value), x2: x(value), y1: top, y2: top + plotHeight }));
    svg.append(s("text", { class: "tick", x: x(value), y: top + plotHeight + 12, "text-anchor": "middle" }, fixed(value, tickDecimals)));
  }
  svg.append(s("text", { class: "axis-label", x: left + plotWidth / 2, y: height - 2, "text-anchor": "middle" }, "bits per byte (comparable)"));
  svg.append(
    s(
      "text",
      { class: "axis-label", x: 10, y: top + plotHeight / 2, "text-anchor": "middle", transform: `rotate(-90 10 ${top + plotHeight / 2})` },
      "token perplexity",
    ),
  );

  // Each tokenizer's curve through its point, inside the plot.
  const pplMin = 10 ** decadeMin;
  const pplMax = 10 ** decadeMax;
  for (const p of points) {
    if (p.bpt === null || p.bpt <= 0) continue;
    const coordinates: string[] = [];
    for (let k = 0; k <= 48; k++) {
      const bpb = (xMax * k) / 48;
      const ppl = 2 ** (bpb * p.bpt);
      if (ppl < pplMin || ppl > pplMax) continue;
      coordinates.push(`${x(bpb).toFixed(1)},${y(ppl).toFixed(1)}`);
    }
    if (coordinates.length >= 2) svg.append(s("polyline", { class: `cmp-curve cmp-series-${p.i % 6}`, points: coordinates.join(" ") }));
  }
  // Labels of points close together are pushed apart vertically (12 px), so names never print over each other.
  const labelY = new Map<number, number>();
  const placed: Array<{ x: number; y: number }> = [];
  for (const p of [...points].sort((a, b) => y(a.ppl) - y(b.ppl))) {
    let ly = y(p.ppl) + 3;
    while (placed.some((q) => Math.abs(q.x - x(p.bpb)) < 120 && Math.abs(q.y - ly) < 12)) ly += 12;
    placed.push({ x: x(p.bpb), y: ly });
    labelY.set(p.i, ly);
  }
  for (const p of points) {
    const cx = x(p.bpb);
    const cy = y(p.ppl);
    const anchorEnd = cx > left + plotWidth * 0.7;
    svg.append(
      s(
        "g",
        undefined,
        s(
          "title",
          undefined,
          `${p.entry.model.name}: ${fixed(p.bpb, 3)} bits per byte, token perplexity ${significant(p.ppl, 4)}, ${fixed(p.bpt, 2)} bytes per token`,
        ),
        s("circle", { class: `cmp-point cmp-series-${p.i % 6}`, cx, cy, r: 4 }),
        s(
          "text",
          { class: "tick cmp-point-label", x: anchorEnd ? cx - 7 : cx + 7, y: labelY.get(p.i) ?? cy + 3, "text-anchor": anchorEnd ? "end" : "start" },
          p.entry.model.name,
        ),
      ),
    );
  }
  return svg;
}
