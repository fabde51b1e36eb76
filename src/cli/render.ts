/**
 * Text, CSV and table output of the command line.
 */
import type { ModelInfo, ScoreReport, TokenScore } from "../core/types";
import type { AdapterInfo } from "../core/lora/adapterTypes";
import { surprisalBits } from "../core/surprisal";

/** ANSI 256-colour foreground by surprisal: green (expected) → yellow → orange → red (surprising). */
export function surprisalColor(bits: number): number {
  if (bits < 1) return 35;
  if (bits < 3) return 114;
  if (bits < 6) return 184;
  if (bits < 10) return 208;
  return 196;
}

/** The text with each token's characters coloured by its surprisal; text between tokens is left plain. */
export function colourText(text: string, tokens: readonly TokenScore[], color: boolean): string {
  if (!color) return text;
  let out = "";
  let cursor = 0;
  for (const t of tokens) {
    if (t.end <= t.start || t.start < cursor) continue;
    out += text.slice(cursor, t.start);
    const piece = text.slice(t.start, t.end);
    out += t.logprob === null ? `\x1b[2m${piece}\x1b[0m` : `\x1b[38;5;${surprisalColor(surprisalBits(t.logprob))}m${piece}\x1b[0m`;
    cursor = t.end;
  }
  return out + text.slice(cursor);
}

/** What the command line prints for a figure that does not exist (text that leaves nothing to score), as the editor does. */
export const NO_VALUE = "—";

function fmt(value: number | null, digits = 4): string {
  if (value === null) return NO_VALUE;
  if (Math.abs(value) >= 1e6) return value.toExponential(3);
  return value.toFixed(digits);
}

function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
}

export function summaryTable(report: ScoreReport): string {
  const m = report.metrics;
  const b = m.rankBuckets;
  return table([
    ["model", `${report.model.name} (${report.model.architecture}, vocabulary ${report.model.vocabSize})`],
    ["method", `${report.method.method}, window ${report.method.window}, stride ${report.method.stride}, prefix ${report.method.prefix}`],
    ...(report.method.adapters && report.method.adapters.length > 0
      ? [["LoRA adapters", report.method.adapters.map((a) => `${a.name} × ${a.scale}`).join(", ")] as [string, string]]
      : []),
    ["tokens", `${m.tokens} (${m.scoredTokens} scored)`],
    ["bytes / words", `${m.bytes} / ${m.words}`],
    ["NLL (nats)", fmt(m.nll)],
    ["token perplexity", fmt(m.tokenPerplexity)],
    ["word perplexity", fmt(m.wordPerplexity)],
    ["byte perplexity", fmt(m.bytePerplexity)],
    ["bits per byte", fmt(m.bitsPerByte)],
    ["NLL std. error", fmt(m.nllStdErr)],
    ["rank top-10/100/1000/rest", `${b.top10} / ${b.top100} / ${b.top1000} / ${b.rest}`],
  ]);
}

function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csv(report: ScoreReport): string {
  const lines = ["index,id,text,start,end,logprob,prob,rank,entropy,context_length,top"];
  report.tokens.forEach((t, i) => {
    const top = t.top.map((a) => `${a.text}:${a.logprob.toFixed(6)}`).join(" | ");
    lines.push([i, t.id, t.text, t.start, t.end, t.logprob, t.prob, t.rank, t.entropy, t.contextLength ?? null, top].map(csvField).join(","));
  });
  return lines.join("\n") + "\n";
}

function bytesText(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function infoText(info: ModelInfo): string {
  return table([
    ["model", `${info.name} (${info.path})`],
    ["architecture", `${info.architecture} (model_type ${info.modelType})`],
    ["layers / heads / kv heads", `${info.numLayers} / ${info.numHeads} / ${info.numKvHeads}`],
    ["hidden size / head dim", `${info.hiddenSize} / ${info.headDim}`],
    ["parameters (counted)", info.parameters.toLocaleString("en-US")],
    ["parameters (12·n_layer·d²)", info.parametersEstimate.toLocaleString("en-US")],
    ["FLOPs per token (≈2·params)", info.flopsPerToken.toLocaleString("en-US")],
    ["context length", String(info.contextLength)],
    ["vocabulary", `${info.vocabSize} (${info.tokenizerType} tokenizer)`],
    ["KV bytes per token", `${info.kvBytesPerToken} (${info.kvDtype})`],
    ["LoRA inputs", info.loraInputs ? "yes (adapters are fed without reloading)" : "no"],
    ["files", info.files.map((f) => `${f.name} ${bytesText(f.bytes)}`).join(", ")],
  ]);
}

/** The `adapters` command: one block per adapter (name, rank, alpha, targets, description, folder), then any problems. */
export function adaptersText(info: ModelInfo, catalog: { adapters: AdapterInfo[]; problems: string[] }): string {
  const lines = [
    `LoRA adapters for ${info.name} (${info.loraInputs ? "fed to the graph's LoRA inputs, no reload" : "merged into the weights, session rebuilt"}):`,
  ];
  if (catalog.adapters.length === 0) lines.push("  (none found)");
  for (const a of catalog.adapters) {
    lines.push(`  ${a.name}`);
    lines.push(
      table([
        ["rank / alpha", `${a.rank} / ${a.alpha}`],
        ["targets", a.targetModules.join(", ")],
        ["description", a.description || "(none)"],
        ["base model", a.baseModel || "(not stated)"],
        ["folder", a.path],
      ]).replace(/^/gm, "  "),
    );
  }
  for (const p of catalog.problems) lines.push(`  problem: ${p}`);
  return lines.join("\n");
}
