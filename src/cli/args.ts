/**
 * Command-line arguments of `perplexity-lens` (hand-parsed: two commands, a dozen flags, no dependency).
 */
import * as path from "node:path";
import type { OversizedPolicy } from "../core/documentSizeLimit";
import { DEFAULT_MAX_DOCUMENT_SIZE, LIMITS, type Bounds } from "../core/limits";
import type { WindowMethod } from "../core/types";

export class UsageError extends Error {}

export const USAGE = `Usage: perplexity-lens <command> [options]

Commands:
  score FILE|-          Score a text file (or standard input) and print per-token surprisal and perplexity.
  info                  Describe a model: architecture, parameters, FLOPs per token, context, vocabulary, KV bytes.
  adapters              List the model's LoRA adapters (its adapters/ folder and --adapter-dir folders): rank, targets, description.
  compare FILE|- --model DIR --model DIR …
                        Score the same text with two or more models (or split it with folders holding only a
                        tokenizer.json) and print tokens, characters and bytes per token, token/word/byte perplexity,
                        bits per byte and NLL side by side, with which comparison is fair. --model also takes an
                        embedded model's name; --json prints an array of {model, method, metrics}.

Options:
  --model DIR           Hugging Face model folder with config.json, tokenizer.json and an ONNX graph
                        (default: the embedded model lens-gpt2-bpe4k).
  --method M            sliding (Hugging Face, with a stride) or rolling (lm-evaluation-harness); default sliding.
  --window N            Tokens per window including the prefix token (default 0: the model's context length).
  --stride N            Sliding-window stride (default 0: window / 2).
  --top K               Alternatives reported per token, ${LIMITS.topK.min} to ${LIMITS.topK.max} (default 5).
  --json                Print one JSON object (the ScoreReport schema) instead of coloured text.
  --csv                 Print one CSV row per token.
  --no-color            Do not colour the text (also when NO_COLOR is set or output is not a terminal).
  --adapter NAME[:S]    Score with the LoRA adapter in the model's adapters/NAME at scale S (default 1); repeatable,
                        several adapters add up. Scale 0 loads it but leaves it off.
  --adapter-dir DIR[:S] Score with the PEFT adapter in folder DIR (adapter_config.json, adapter_model.safetensors);
                        repeatable. With the adapters command: also list the adapters in DIR.
  --threads N           onnxruntime intra-op threads, ${LIMITS.threads.min} to ${LIMITS.threads.max} (default 1).
  --max-document-size N Characters (UTF-16 code units) scored at most, ${LIMITS.maxDocumentSize.min} to ${LIMITS.maxDocumentSize.max}
                        (default ${DEFAULT_MAX_DOCUMENT_SIZE}); a longer text is cut or refused as --oversized-documents says.
  --oversized-documents truncate|refuse
                        What to do with a text over --max-document-size: score its beginning (default, with a
                        warning on standard error) or refuse it.
  --verbose             Log engine steps to standard error.
  -h, --help            Show this help.

Exit status: 0 on success, 1 when scoring or loading fails, 2 for a usage error.`;

/** An adapter asked for on the command line: a name under the model's adapters/ or a folder path, and its scale. */
export interface CliAdapter {
  name: string;
  path?: string;
  scale: number;
}

export interface CliArgs {
  command: "score" | "info" | "adapters" | "help";
  file: string | null;
  model: string | null;
  method: WindowMethod;
  window: number;
  stride: number;
  topK: number;
  format: "text" | "json" | "csv";
  maxDocumentSize: number;
  oversizedDocuments: OversizedPolicy;
  color: boolean;
  threads: number;
  verbose: boolean;
  /** --adapter and --adapter-dir in the order given. */
  adapters: CliAdapter[];
}

/** "NAME[:SCALE]" → name and scale; the suffix is a scale only when it parses as a finite number (so C:\dir stays a path). */
function splitScale(flag: string, value: string): { target: string; scale: number } {
  const colon = value.lastIndexOf(":");
  const suffix = colon >= 0 ? value.slice(colon + 1) : "";
  if (colon > 0 && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(suffix)) {
    const scale = Number(suffix);
    if (!Number.isFinite(scale)) throw new UsageError(`${flag} has a scale that is not a finite number: "${suffix}".`);
    return { target: value.slice(0, colon), scale };
  }
  return { target: value, scale: 1 };
}

/** `--flag=value` → ["--flag", "value"]; anything else → [arg, undefined]. */
export function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf("=");
  return arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
}

/**
 * An integer option within `bounds` (src/core/limits.ts: the same bounds as the setting it stands for), or a
 * UsageError naming the flag. Out of bounds is refused, never clamped, as the settings refuse it.
 */
export function integer(flag: string, value: string | undefined, bounds: Bounds): number {
  if (value === undefined) throw new UsageError(`${flag} needs a value.`);
  if (!/^\d+$/.test(value) || Number(value) < bounds.min || Number(value) > bounds.max)
    throw new UsageError(`${flag} must be an integer from ${bounds.min} to ${bounds.max}, not "${value}".`);
  return Number(value);
}

/** The sentence for --json and --csv given together, in either order. */
export const FORMAT_CONFLICT = "--json and --csv cannot be used together.";

export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = {
    command: "help",
    file: null,
    model: null,
    method: "sliding",
    window: 0,
    stride: 0,
    topK: 5,
    format: "text",
    maxDocumentSize: DEFAULT_MAX_DOCUMENT_SIZE,
    oversizedDocuments: "truncate",
    color: true,
    threads: 1,
    verbose: false,
    adapters: [],
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = splitFlag(arg);
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case "-h":
      case "--help":
        return { ...args, command: "help" };
      case "--model": {
        const v = value();
        if (v === undefined || v === "") throw new UsageError("--model needs a folder.");
        args.model = v;
        break;
      }
      case "--method": {
        const v = value();
        if (v !== "sliding" && v !== "rolling") throw new UsageError(`--method must be sliding or rolling, not "${v ?? ""}".`);
        args.method = v;
        break;
      }
      case "--window":
        args.window = integer("--window", value(), LIMITS.window);
        break;
      case "--stride":
        args.stride = integer("--stride", value(), LIMITS.stride);
        break;
      case "--top":
        args.topK = integer("--top", value(), LIMITS.topK);
        break;
      case "--threads":
        args.threads = integer("--threads", value(), LIMITS.threads);
        break;
      case "--max-document-size":
        args.maxDocumentSize = integer("--max-document-size", value(), LIMITS.maxDocumentSize);
        break;
      case "--oversized-documents": {
        const v = value();
        if (v !== "truncate" && v !== "refuse") throw new UsageError(`--oversized-documents must be truncate or refuse, not "${v ?? ""}".`);
        args.oversizedDocuments = v;
        break;
      }
      case "--json":
      case "--csv": {
        const format = flag === "--json" ? "json" : "csv";
        if (args.format !== "text" && args.format !== format) throw new UsageError(FORMAT_CONFLICT);
        args.format = format;
        break;
      }
      case "--no-color":
        args.color = false;
        break;
      case "--verbose":
        args.verbose = true;
        break;
      case "--adapter": {
        const v = value();
        if (v === undefined || v === "")
          throw new UsageError("--adapter needs an adapter name (a folder under the model's adapters/), optionally with :SCALE.");
        const { target, scale } = splitScale("--adapter", v);
        if (target === "" || /[\\/]/.test(target))
          throw new UsageError(`--adapter takes a name under the model's adapters/, not "${target}" (use --adapter-dir for a folder).`);
        args.adapters.push({ name: target, scale });
        break;
      }
      case "--adapter-dir": {
        const v = value();
        if (v === undefined || v === "") throw new UsageError("--adapter-dir needs a folder.");
        const { target, scale } = splitScale("--adapter-dir", v);
        args.adapters.push({ name: path.basename(path.resolve(target)), path: path.resolve(target), scale });
        break;
      }
      default:
        if (arg.startsWith("-") && arg !== "-") throw new UsageError(`Unknown option ${arg} (see --help).`);
        positional.push(arg);
    }
  }
  const command = positional.shift();
  if (command === undefined || command === "help") return { ...args, command: "help" };
  if (command === "score") {
    const file = positional.shift();
    if (file === undefined) throw new UsageError("score needs a file to score, or - for standard input.");
    args.file = file;
  } else if (command !== "info" && command !== "adapters") throw new UsageError(`Unknown command "${command}" (expected score, info or adapters).`);
  if (positional.length > 0) throw new UsageError(`Unexpected argument "${positional[0]}".`);
  args.command = command;
  return args;
}
