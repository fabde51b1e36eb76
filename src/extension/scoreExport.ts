/**
 * Export Token Scores: the command line's `score --json` object (ScoreReport) or a CSV table.
 * Pure: no `vscode`, unit-tested.
 */
import type { MethodInfo, Metrics, ModelInfo, ScoreReport, TokenScore } from "../core/types";

export function toScoreReport(
  model: Pick<ModelInfo, "name" | "path" | "architecture" | "vocabSize" | "contextLength" | "parameters">,
  result: { method: MethodInfo; metrics: Metrics; tokens: TokenScore[] },
): ScoreReport {
  return {
    model: {
      name: model.name,
      path: model.path,
      architecture: model.architecture,
      vocabSize: model.vocabSize,
      contextLength: model.contextLength,
      parameters: model.parameters,
    },
    method: result.method,
    metrics: result.metrics,
    tokens: result.tokens,
  };
}

/** RFC 4180 field: quoted when it holds a comma, quote, line break or edge whitespace. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "number" ? (Number.isFinite(value) ? String(value) : "") : value;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per token; the top-k alternatives become columns top1_text, top1_logprob, … . */
export function toCsv(tokens: readonly TokenScore[]): string {
  const k = tokens.reduce((max, token) => Math.max(max, token.top.length), 0);
  const header = ["index", "id", "text", "start", "end", "logprob", "prob", "rank", "entropy", "context_length"];
  for (let i = 1; i <= k; i++) header.push(`top${i}_id`, `top${i}_text`, `top${i}_logprob`);
  const rows = [header.join(",")];
  tokens.forEach((token, index) => {
    const fields = [
      csvField(index),
      csvField(token.id),
      csvField(token.text),
      csvField(token.start),
      csvField(token.end),
      csvField(token.logprob),
      csvField(token.prob),
      csvField(token.rank),
      csvField(token.entropy),
      csvField(token.contextLength),
    ];
    for (let i = 0; i < k; i++) {
      const alternative = token.top[i];
      fields.push(csvField(alternative?.id), csvField(alternative?.text), csvField(alternative?.logprob));
    }
    rows.push(fields.join(","));
  });
  return rows.join("\r\n") + "\r\n";
}
