/**
 * `perplexity-lens compare FILE|- --model DIR --model DIR … [--json] [--method M] [--window N] [--stride N]`:
 * the same text scored by two or more models (or split by tokenizer-only folders), printed as one table with the
 * fairness sentence, or as JSON (an array of {model, method, metrics}, `score --json` without tokens, with
 * charsPerToken, bytesPerToken and nllBits added to metrics). The method defaults are those of `score`, so a model's
 * column equals what `score` prints for it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { compareModels, comparisonReports, formatPerplexity, type Comparison, type ComparisonOptions, type ComparisonTarget } from "../core/compare";
import { DEFAULT_SCORE_OPTIONS } from "../core/engine";
import { EngineError } from "../core/engineError";
import type { OversizedPolicy } from "../core/documentSizeLimit";
import { DEFAULT_MAX_DOCUMENT_SIZE, LIMITS } from "../core/limits";
import { UsageError as CompareUsageError, integer, splitFlag } from "./args";
import { readLimitedInput } from "./readInput";
import { NO_VALUE } from "./render";

export const COMPARE_USAGE = `  compare FILE|- --model DIR --model DIR …
                        Score the same text with two or more models (or split it with tokenizer-only folders) and
                        print tokens, characters and bytes per token, token/word/byte perplexity, bits per byte and
                        NLL side by side, with which comparison is fair. --model takes a folder or an embedded
                        model's name; --json prints an array of {model, method, metrics}.`;

/** Usage errors of `compare` are the command line's usage errors (exit status 2). */
export { UsageError as CompareUsageError } from "./args";

export interface CompareArgs {
  file: string;
  models: string[];
  options: ComparisonOptions;
  json: boolean;
  threads: number;
  maxDocumentSize: number;
  oversizedDocuments: OversizedPolicy;
  verbose: boolean;
}

/** Arguments after the word `compare`. */
export function parseCompareArgs(argv: readonly string[]): CompareArgs {
  const args: CompareArgs = {
    file: "",
    models: [],
    options: { method: DEFAULT_SCORE_OPTIONS.method, window: 0, stride: 0 },
    json: false,
    threads: 1,
    maxDocumentSize: DEFAULT_MAX_DOCUMENT_SIZE,
    oversizedDocuments: "truncate",
    verbose: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = splitFlag(arg);
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case "--model": {
        const v = value();
        if (v === undefined || v === "") throw new CompareUsageError("--model needs a folder or an embedded model's name.");
        args.models.push(v);
        break;
      }
      case "--method": {
        const v = value();
        if (v !== "sliding" && v !== "rolling") throw new CompareUsageError(`--method must be sliding or rolling, not "${v ?? ""}".`);
        args.options.method = v;
        break;
      }
      case "--window":
        args.options.window = integer("--window", value(), LIMITS.window);
        break;
      case "--stride":
        args.options.stride = integer("--stride", value(), LIMITS.stride);
        break;
      case "--threads":
        args.threads = integer("--threads", value(), LIMITS.threads);
        break;
      case "--max-document-size":
        args.maxDocumentSize = integer("--max-document-size", value(), LIMITS.maxDocumentSize);
        break;
      case "--oversized-documents": {
        const v = value();
        if (v !== "truncate" && v !== "refuse") throw new CompareUsageError(`--oversized-documents must be truncate or refuse, not "${v ?? ""}".`);
        args.oversizedDocuments = v;
        break;
      }
      case "--json":
        args.json = true;
        break;
      case "--verbose":
        args.verbose = true;
        break;
      case "--no-color":
        break;
      default:
        if (arg.startsWith("-") && arg !== "-") throw new CompareUsageError(`Unknown option ${arg} for compare (see --help).`);
        positional.push(arg);
    }
  }
  const file = positional.shift();
  if (file === undefined) throw new CompareUsageError("compare needs a file, or - for standard input.");
  if (positional.length > 0) throw new CompareUsageError(`Unexpected argument "${positional[0]}".`);
  if (args.models.length < 2) throw new CompareUsageError(`compare needs at least two --model folders, not ${args.models.length}.`);
  args.file = file;
  return args;
}

/** A --model value: an existing folder, else the name of an embedded model under `modelsDir`. */
export function resolveCompareTarget(value: string, modelsDir: string): ComparisonTarget {
  if (fs.existsSync(value)) return { path: path.resolve(value), source: "folder" };
  const embedded = path.join(modelsDir, value);
  if (!/[\\/]/.test(value) && fs.existsSync(embedded)) return { path: embedded, source: "embedded" };
  throw new EngineError("badInput", `The model folder ${path.resolve(value)} does not exist (and ${value} is not an embedded model's name).`);
}

function fmt(value: number | null, digits: number): string {
  if (value === null) return NO_VALUE;
  if (Math.abs(value) >= 1e6) return value.toExponential(3);
  return value.toFixed(digits);
}

function perplexity(value: number | null): string {
  return value === null ? NO_VALUE : formatPerplexity(value);
}

/** Wraps a paragraph at `width` columns. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) lines.push(line);
  return lines.join("\n");
}

/** The comparison table (one column per model), the method, and the fairness sentence. */
export function comparisonTable(comparison: Comparison): string {
  const entries = comparison.entries;
  const rows: Array<[string, ...string[]]> = [
    ["", ...entries.map((e) => e.model.name)],
    ["tokenizer", ...entries.map((e) => `${e.model.tokenizerType}, ${e.model.vocabSize}`)],
    ["tokens", ...entries.map((e) => String(e.metrics.tokens))],
    ["characters per token", ...entries.map((e) => fmt(e.metrics.charsPerToken, 3))],
    ["bytes per token", ...entries.map((e) => fmt(e.metrics.bytesPerToken, 3))],
    ["token perplexity", ...entries.map((e) => perplexity(e.metrics.tokenPerplexity))],
    ["word perplexity", ...entries.map((e) => perplexity(e.metrics.wordPerplexity))],
    ["byte perplexity", ...entries.map((e) => fmt(e.metrics.bytePerplexity, 4))],
    ["bits per byte", ...entries.map((e) => fmt(e.metrics.bitsPerByte, 4))],
    ["NLL (bits)", ...entries.map((e) => fmt(e.metrics.nllBits, 1))],
    ["window / stride", ...entries.map((e) => (e.method === null ? "tokenizer only" : `${e.method.method} ${e.method.window} / ${e.method.stride}`))],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ")
      .trimEnd(),
  );
  const header = `${comparison.characters} characters, ${comparison.bytes} bytes, ${comparison.words} words`;
  return [header, "", ...lines.map((l) => `  ${l}`), "", wrap(comparison.verdict.sentence, 100)].join("\n");
}

/**
 * Runs `compare` with the arguments after the word; `modelsDir` is the embedded models' folder. Returns the exit
 * status: 0, 1 (loading or scoring failed) or 2 (usage), with one sentence on stderr.
 */
export async function runCompareCommand(argv: readonly string[], modelsDir: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    out.write(
      `Usage: perplexity-lens compare FILE|- --model DIR --model DIR … [--json] [--method sliding|rolling] [--window N] [--stride N] [--threads N] [--max-document-size N] [--oversized-documents truncate|refuse]\n\n${COMPARE_USAGE}\n`,
    );
    return 0;
  }
  let args: CompareArgs;
  try {
    args = parseCompareArgs(argv);
  } catch (e) {
    if (e instanceof CompareUsageError) {
      process.stderr.write(`perplexity-lens: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  try {
    const text = readLimitedInput(args.file, "compared", args.maxDocumentSize, args.oversizedDocuments);
    const targets = args.models.map((m) => resolveCompareTarget(m, modelsDir));
    const comparison = await compareModels(text, targets, args.options, {
      threads: args.threads,
      logger: { log: (level, message) => (args.verbose ? process.stderr.write(`${level}: ${message}\n`) : undefined) },
    });
    out.write(args.json ? JSON.stringify(comparisonReports(comparison)) + "\n" : comparisonTable(comparison) + "\n");
    return 0;
  } catch (e) {
    const message = e instanceof EngineError ? e.message : `Unexpected failure: ${e instanceof Error ? e.message : String(e)}.`;
    process.stderr.write(`perplexity-lens: ${message}\n`);
    return 1;
  }
}
