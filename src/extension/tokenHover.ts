/**
 * The hover text for one token, as Markdown. Pure: no `vscode`, unit-tested.
 */
import type { TokenScore } from "../core/types";
import { natsToBits, surprisalBits } from "../core/surprisal";
import { visibleWhitespace } from "../core/visibleText";

/** A Markdown code span that survives any backticks and table pipes in `text`. */
export function markdownCode(text: string): string {
  const shown = visibleWhitespace(text).replace(/\|/g, "\\|");
  if (shown === "") return "*(empty)*";
  const longestRun = Math.max(0, ...(shown.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  const pad = shown.startsWith("`") || shown.endsWith("`") ? " " : "";
  return `${fence}${pad}${shown}${pad}${fence}`;
}

export function formatProbability(prob: number): string {
  if (prob >= 0.01) return `${(prob * 100).toFixed(prob >= 0.1 ? 1 : 2)}%`;
  return prob.toExponential(2);
}

export function formatNumber(value: number, digits = 3): string {
  return Number.isFinite(value) ? value.toFixed(digits).replace("-", "−") : "—";
}

/** The hover for `token`; `vocabSize` (when known) is shown with the rank. */
export function formatTokenHover(token: TokenScore, vocabSize?: number): string {
  const lines: string[] = [];
  lines.push(`**Perplexity Lens** · token ${markdownCode(token.text)} (id ${token.id})`, "");
  if (token.logprob === null) {
    lines.push("Not scored: this token was the context for the first prediction or lies beyond the scored text.");
    return lines.join("\n");
  }
  const bits = surprisalBits(token.logprob);
  const prob = token.prob ?? Math.exp(token.logprob);
  lines.push("| | |", "|---|---|");
  lines.push(`| log p | ${formatNumber(token.logprob)} nats (${formatNumber(bits, 2)} bits of surprisal) |`);
  lines.push(`| p | ${formatProbability(prob)} |`);
  if (token.rank !== null) {
    lines.push(`| rank | ${token.rank}${vocabSize ? ` of ${vocabSize}` : ""} |`);
  }
  if (token.entropy !== null) {
    lines.push(`| entropy | ${formatNumber(token.entropy)} nats (${formatNumber(natsToBits(token.entropy), 2)} bits) |`);
  }
  if (token.contextLength !== undefined) {
    lines.push(`| context | ${token.contextLength} tokens |`);
  }
  if (token.top.length > 0) {
    lines.push("", "| # | alternative | p | log p |", "|--:|---|--:|--:|");
    token.top.forEach((alternative, index) => {
      const mark = alternative.id === token.id ? " ◀" : "";
      lines.push(
        `| ${index + 1} | ${markdownCode(alternative.text)}${mark} | ${formatProbability(Math.exp(alternative.logprob))} | ${formatNumber(alternative.logprob)} |`,
      );
    });
  }
  return lines.join("\n");
}
