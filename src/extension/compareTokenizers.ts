/**
 * "Perplexity Lens: Compare Tokenizers": the document (or the selection) scored by two or more models, and split by
 * tokenizer-only folders, in the engine worker (so the editor never blocks); the result goes to the panel's
 * comparison view, opened as an editor tab (the side-by-side columns need the width).
 *
 * The worker keeps the configured model loaded and loads the others in sessions of their own, one at a time,
 * releasing each after the comparison. The quick pick remembers the last choice per workspace.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { isEngineError } from "../core/engineError";
import { EDITOR_SIZE_SETTINGS, describeSizeLimit, limitDocumentSize } from "../core/documentSizeLimit";
import type { ComparisonTarget } from "../core/compare";
import type { Comparison } from "../core/comparisonData";
import { listComparisonCandidates, type ComparisonCandidate } from "./comparisonTargets";
import { buildComparisonView } from "./comparisonView";
import { withProgressNotification } from "./progressNotification";
import { comparisonOptionsFrom } from "./config";
import { registerGuardedCommand } from "./guardedCommand";
import type { LensContext } from "./ctx";
import type { ComparisonView } from "../protocol/webview";

export const COMPARE_TOKENIZERS_COMMAND = "perplexityLens.compareTokenizers";

/** workspaceState key of the folders picked last time. */
const LAST_PICK_KEY = "perplexityLens.compareTokenizers.lastPick";

/** The built-in demonstration: same architecture and corpus, different tokenizers. */
const DEMONSTRATION_PAIR = ["lens-gpt2-bpe4k", "lens-gpt2-byte"];

interface CandidatePick extends vscode.QuickPickItem {
  candidate?: ComparisonCandidate;
}

/** Registers the command and the panel's "compare" request; both live as long as the extension. */
export function registerCompareTokenizers(ctx: LensContext): void {
  registerGuardedCommand(ctx, COMPARE_TOKENIZERS_COMMAND, (args?: unknown): Promise<ComparisonView | undefined> =>
    compareTokenizers(ctx, parseCommandArguments(args)),
  );
  ctx.register(ctx.panel.onDidRequestComparison(() => void vscode.commands.executeCommand(COMPARE_TOKENIZERS_COMMAND)));
}

/**
 * Arguments a keybinding or another extension may pass instead of picking: `{ "targets": ["lens-gpt2-bpe4k",
 * "/abs/tokenizer-folder", …] }` — names of offered models or absolute folder paths. Anything else is ignored (the
 * quick pick is shown).
 */
export interface CompareTokenizersArguments {
  targets: string[];
}

function parseCommandArguments(args: unknown): CompareTokenizersArguments | undefined {
  if (typeof args !== "object" || args === null) return undefined;
  const targets = (args as { targets?: unknown }).targets;
  return Array.isArray(targets) && targets.every((t) => typeof t === "string") ? { targets: targets as string[] } : undefined;
}

/** The candidates the arguments name (by name or absolute path), in their order; one sentence when one is unknown. */
async function targetsFromArguments(ctx: LensContext, args: CompareTokenizersArguments): Promise<ComparisonCandidate[]> {
  const candidates = await listComparisonCandidates(ctx.embeddedModelsRoot, ctx.config.modelFolders);
  return args.targets.map((wanted) => {
    const found = candidates.find((c) => c.name === wanted || c.path === wanted);
    if (found) return found;
    if (path.isAbsolute(wanted)) return { name: path.basename(wanted), path: wanted, kind: "model" as const, source: "folder" as const };
    throw new Error(`Compare Tokenizers: "${wanted}" is neither an offered model or tokenizer nor an absolute folder path.`);
  });
}

/** Which candidates start picked: the last choice, else the model in use and the other of the demonstration pair. */
function initiallyPicked(candidates: readonly ComparisonCandidate[], lastPick: readonly string[] | undefined, currentPath: string | undefined): Set<string> {
  const available = new Set(candidates.map((c) => c.path));
  const remembered = (lastPick ?? []).filter((p) => available.has(p));
  if (remembered.length >= 2) return new Set(remembered);
  const picked = new Set<string>();
  if (currentPath !== undefined && available.has(currentPath)) picked.add(currentPath);
  for (const name of DEMONSTRATION_PAIR) {
    if (picked.size >= 2) break;
    const match = candidates.find((c) => c.source === "embedded" && c.name === name);
    if (match) picked.add(match.path);
  }
  return picked;
}

async function pickTargets(ctx: LensContext): Promise<ComparisonCandidate[] | undefined> {
  const candidates = await listComparisonCandidates(ctx.embeddedModelsRoot, ctx.config.modelFolders);
  if (candidates.length < 2) {
    void vscode.window.showInformationMessage(
      "Compare Tokenizers needs at least two models or tokenizer folders; add folders in the Perplexity Lens: Model Folders setting.",
    );
    return undefined;
  }
  const picked = initiallyPicked(candidates, ctx.extension.workspaceState.get<string[]>(LAST_PICK_KEY), ctx.currentModel?.path);
  const toItem = (c: ComparisonCandidate): CandidatePick => ({
    label: c.name,
    description: [
      c.kind === "tokenizer" ? "tokenizer only" : c.modelType,
      c.source === "embedded" ? "embedded" : undefined,
      c.path === ctx.currentModel?.path ? "in use" : undefined,
    ]
      .filter(Boolean)
      .join(" · "),
    detail: c.path,
    picked: picked.has(c.path),
    candidate: c,
  });
  const groups: Array<[string, ComparisonCandidate[]]> = [
    ["Embedded models", candidates.filter((c) => c.kind === "model" && c.source === "embedded")],
    ["Model folders", candidates.filter((c) => c.kind === "model" && c.source === "folder")],
    ["Tokenizers without a model", candidates.filter((c) => c.kind === "tokenizer")],
  ];
  const items: CandidatePick[] = [];
  for (const [label, group] of groups) if (group.length > 0) items.push({ label, kind: vscode.QuickPickItemKind.Separator }, ...group.map(toItem));
  const chosen = await vscode.window.showQuickPick(items, {
    title: "Perplexity Lens: Compare Tokenizers",
    placeHolder: "Pick two or more models or tokenizers to compare on this text",
    canPickMany: true,
    matchOnDetail: true,
  });
  if (!chosen) return undefined;
  const targets = chosen.flatMap((item) => (item.candidate ? [item.candidate] : []));
  if (targets.length < 2) {
    void vscode.window.showWarningMessage(`Pick at least two models or tokenizers to compare (${targets.length} picked).`);
    return undefined;
  }
  await ctx.extension.workspaceState.update(
    LAST_PICK_KEY,
    targets.map((t) => t.path),
  );
  return targets;
}

/** Runs the comparison and shows it; resolves with what the panel shows (undefined when nothing was compared). */
export async function compareTokenizers(ctx: LensContext, args?: CompareTokenizersArguments): Promise<ComparisonView | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("Open a text document to compare tokenizers on it.");
    return undefined;
  }
  const document = editor.document;
  const scope = editor.selection.isEmpty ? "document" : "selection";
  let text = scope === "selection" ? document.getText(editor.selection) : document.getText();
  if (text.trim().length === 0) {
    void vscode.window.showInformationMessage(`The ${scope} is empty: there is nothing to compare.`);
    return undefined;
  }
  const limit = ctx.config.maxDocumentSize;
  const limited = limitDocumentSize(text, limit, ctx.config.oversizedDocuments);
  const sentence = describeSizeLimit(`The ${scope}`, limited, limit, EDITOR_SIZE_SETTINGS, "compared");
  if (limited.kind === "refused") {
    void vscode.window.showWarningMessage(sentence ?? "");
    return undefined;
  }
  if (limited.kind === "truncated") {
    text = limited.text;
    void vscode.window.showInformationMessage(sentence ?? "");
  }
  const targets = args ? await targetsFromArguments(ctx, args) : await pickTargets(ctx);
  if (!targets) return undefined;
  if (targets.length < 2) throw new Error(`Compare Tokenizers needs at least two models or tokenizers, not ${targets.length}.`);

  const { session } = await ctx.readyEngine();
  const started = Date.now();
  const request = {
    text,
    targets: targets.map((t): ComparisonTarget => ({ path: t.path, name: t.name, source: t.source })),
    options: comparisonOptionsFrom(ctx.config),
  };
  ctx.log.info(`[compare] ${targets.map((t) => t.name).join(", ")} on ${text.length} characters of ${document.uri.toString()} (${request.options.method})`);
  let answer: Comparison;
  try {
    answer = await withProgressNotification("Comparing tokenizers", (signal, onProgress) => session.request("compare", request, { signal, onProgress }), 0);
  } catch (error) {
    if (isEngineError(error) && error.code === "cancelled") {
      ctx.log.info("[compare] cancelled");
      return undefined;
    }
    throw error;
  }
  ctx.log.info(
    `[compare] done in ${Date.now() - started} ms: ${answer.entries.map((e) => `${e.model.name} ${e.metrics.tokens} tokens, ${e.metrics.bitsPerByte?.toFixed(3) ?? "–"} bits/byte`).join("; ")}`,
  );
  const view = buildComparisonView(
    { docUri: document.uri.toString(), fileName: path.posix.basename(document.uri.path) || document.uri.toString(), scope },
    text,
    answer,
    Date.now(),
  );
  ctx.panel.showComparison(view);
  ctx.panel.showAsTab();
  return view;
}
