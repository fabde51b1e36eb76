/**
 * perplexity-lens: the command line. Uses src/core directly (no worker: nothing else shares the event loop).
 *   perplexity-lens score FILE|- [--model DIR] [--method sliding|rolling] [--window N] [--stride N] [--top K] [--json|--csv] [--no-color]
 *   perplexity-lens info [--model DIR]
 *   perplexity-lens compare FILE|- --model DIR --model DIR … [--json] [--method M] [--window N] [--stride N]   (compareCommand.ts)
 *   perplexity-lens score FILE --adapter NAME[:SCALE] … --adapter-dir DIR[:SCALE] …   (LoRA adapters; see args.ts)
 *   perplexity-lens adapters [--model DIR] [--adapter-dir DIR] [--json]
 * Exit 0 on success; otherwise one sentence on stderr and exit 1 (failure) or 2 (usage).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Engine } from "../core/engine";
import { EngineError } from "../core/engineError";
import type { ScoreReport } from "../core/types";
import { parseArgs, UsageError, USAGE, type CliArgs } from "./args";
import { runCompareCommand } from "./compareCommand";
import { readLimitedInput } from "./readInput";
import { adaptersText, colourText, csv, infoText, summaryTable } from "./render";

export const DEFAULT_MODEL_NAME = "lens-gpt2-bpe4k";

/**
 * The embedded default model, found from this file's folder upward (dist/cli.js → ../models; out/src/cli → ../../../models),
 * so `node dist/cli.js` works right after `npm ci && npm run build`.
 */
export function defaultModelDir(from = __dirname): string {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, "models", DEFAULT_MODEL_NAME);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve(from, "..", "models", DEFAULT_MODEL_NAME);
}

async function run(args: CliArgs, out: NodeJS.WriteStream): Promise<void> {
  const modelDir = args.model ?? defaultModelDir();
  const engine = new Engine({
    threads: args.threads,
    logger: { log: (level, message) => (args.verbose ? process.stderr.write(`${level}: ${message}\n`) : undefined) },
  });
  try {
    const text = args.command === "score" ? readLimitedInput(args.file!, "scored", args.maxDocumentSize, args.oversizedDocuments) : "";
    const info = await engine.loadModel(modelDir, { source: args.model === null ? "embedded" : "folder", threads: args.threads });
    if (args.command === "info") {
      out.write((args.format === "json" ? JSON.stringify(info, null, 2) : infoText(info)) + "\n");
      return;
    }
    if (args.command === "adapters") {
      const catalog = engine.listAdapters(args.adapters.flatMap((a) => (a.path !== undefined ? [a.path] : [])));
      out.write(
        (args.format === "json" ? JSON.stringify({ model: info.name, loraInputs: info.loraInputs, ...catalog }, null, 2) : adaptersText(info, catalog)) + "\n",
      );
      return;
    }
    if (args.adapters.length > 0) await engine.setAdapters(args.adapters);
    const result = await engine.score("cli", text, { method: args.method, window: args.window, stride: args.stride, topK: args.topK });
    const report: ScoreReport = {
      model: {
        name: info.name,
        path: info.path,
        architecture: info.architecture,
        vocabSize: info.vocabSize,
        contextLength: info.contextLength,
        parameters: info.parameters,
      },
      method: result.method,
      metrics: result.metrics,
      tokens: result.tokens,
    };
    if (args.format === "json") out.write(JSON.stringify(report) + "\n");
    else if (args.format === "csv") out.write(csv(report));
    else {
      const color = args.color && !process.env["NO_COLOR"] && out.isTTY === true;
      out.write(colourText(text, result.tokens, color) + (text.endsWith("\n") ? "" : "\n") + "\n" + summaryTable(report) + "\n");
    }
  } finally {
    await engine.dispose();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "compare") return runCompareCommand(argv.slice(1), path.dirname(defaultModelDir()));
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`perplexity-lens: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (args.command === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  try {
    await run(args, process.stdout);
    return 0;
  } catch (e) {
    const message = e instanceof EngineError ? e.message : `Unexpected failure: ${e instanceof Error ? e.message : String(e)}.`;
    process.stderr.write(`perplexity-lens: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
