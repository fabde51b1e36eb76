/**
 * The status bar's text and tooltip, as plain strings. Pure: no `vscode`, unit-tested.
 */
import type { MethodInfo, Metrics, RescoreInfo } from "../core/types";
import { formatNumber } from "./tokenHover";

/** Perplexity with three significant figures (1.87, 23.4, 412, 12 345); "—" when undefined. */
export function formatPerplexity(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value >= 1000) return Math.round(value).toLocaleString("en-US");
  return value.toPrecision(3);
}

export function formatBitsPerByte(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "—" : value.toFixed(3);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "ppl 23.4 · 1.234 bpb": the short form the status bar shows. */
export function shortMetrics(metrics: Pick<Metrics, "tokenPerplexity" | "bitsPerByte">): string {
  return `ppl ${formatPerplexity(metrics.tokenPerplexity)} · ${formatBitsPerByte(metrics.bitsPerByte)} bpb`;
}

/** "sliding, window 512, stride 256, prefix eos:<|endoftext|>" */
export function shortMethod(method: MethodInfo): string {
  const parts = [method.method, `window ${method.window}`];
  if (method.method === "sliding") parts.push(`stride ${method.stride}`);
  if (method.prefix) parts.push(`prefix ${method.prefix}`);
  return parts.join(", ");
}

/** A Markdown table of every metric, for tooltips. */
export function metricsTable(metrics: Metrics, heading = "Metric"): string {
  const row = (name: string, value: string): string => `| ${name} | ${value} |`;
  const stderr = metrics.nllStdErr === null ? "" : ` ± ${formatNumber(metrics.nllStdErr)}`;
  const meanNll = metrics.scoredTokens > 0 ? metrics.nll / metrics.scoredTokens : null;
  return [
    `| ${heading} | |`,
    "|---|--:|",
    row("Token perplexity", formatPerplexity(metrics.tokenPerplexity)),
    row("Word perplexity", formatPerplexity(metrics.wordPerplexity)),
    row("Byte perplexity", metrics.bytePerplexity === null ? "—" : formatNumber(metrics.bytePerplexity, 4)),
    row("Bits per byte", formatBitsPerByte(metrics.bitsPerByte)),
    row("Mean NLL per token", meanNll === null ? "—" : `${formatNumber(meanNll)}${stderr} nats`),
    row("Tokens (scored)", `${metrics.tokens} (${metrics.scoredTokens})`),
    row("Words · bytes", `${metrics.words} · ${metrics.bytes}`),
    row(
      "GLTR top-10 / 100 / 1000 / rest",
      `${metrics.rankBuckets.top10} / ${metrics.rankBuckets.top100} / ${metrics.rankBuckets.top1000} / ${metrics.rankBuckets.rest}`,
    ),
  ].join("\n");
}

/** "reused 812 tokens, recomputed 14 in 9 ms (a full rescore ≈ 120 ms)" */
export function describeRescore(rescore: RescoreInfo): string {
  const total = rescore.tokensReused + rescore.tokensRecomputed;
  if (rescore.tokensReused === 0) return `scored ${total} tokens in ${Math.round(rescore.millis)} ms`;
  return `reused ${rescore.tokensReused} cached tokens, recomputed ${rescore.tokensRecomputed} in ${Math.round(rescore.millis)} ms (a full rescore ≈ ${Math.round(rescore.fullRescoreMillisEstimate)} ms)`;
}
