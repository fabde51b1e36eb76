/**
 * The command palette commands (category "Perplexity Lens"). Each handler is a small function of the
 * context; failures are logged and shown with actions, never thrown into VS Code's generic error.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { CONFIG_KEYS, CONFIG_SECTION } from "./config";
import { COMMANDS, type LensContext } from "./ctx";
import { listModels, type ModelEntry } from "./modelCatalog";
import { setLoraScale, toggleLoraAdapter } from "./loraCommands";
import { registerGuardedCommand } from "./guardedCommand";
import { toCsv, toScoreReport } from "./scoreExport";

export function registerCommands(ctx: LensContext): void {
  const command = (id: string, handler: () => unknown): void => registerGuardedCommand(ctx, id, handler);
  command(COMMANDS.scoreDocument, () => scoreDocument(ctx));
  command(COMMANDS.scoreSelection, () => scoreSelection(ctx));
  command(COMMANDS.toggleLiveScoring, () => toggleLiveScoring(ctx));
  command(COMMANDS.toggleHighlights, () => ctx.setHighlightsVisible(!ctx.highlightsVisible));
  command(COMMANDS.clearHighlights, () => ctx.scorer.releaseAll());
  command(COMMANDS.selectModel, () => selectModel(ctx));
  command(COMMANDS.showPanel, () => ctx.panel.reveal());
  command(COMMANDS.openPanelInTab, () => ctx.panel.showAsTab());
  command(COMMANDS.exportTokenScores, () => exportTokenScores(ctx));
  command(COMMANDS.showLog, () => ctx.log.show());
  command(COMMANDS.toggleLoraAdapter, () => toggleLoraAdapter(ctx));
  command(COMMANDS.setLoraScale, () => setLoraScale(ctx));
}

function activeEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) void vscode.window.showInformationMessage("Open a text document to score it with Perplexity Lens.");
  return editor;
}

async function scoreDocument(ctx: LensContext): Promise<void> {
  const editor = activeEditor();
  if (!editor) return;
  ctx.resumeAfterUserAction();
  if (!ctx.highlightsVisible) ctx.setHighlightsVisible(true);
  await ctx.scorer.score(editor.document, "command");
}

/** Scores the selected text on its own, as if it were a document (its perplexity without the text before it). */
async function scoreSelection(ctx: LensContext): Promise<void> {
  const editor = activeEditor();
  if (!editor) return;
  if (editor.selection.isEmpty) {
    void vscode.window.showInformationMessage("Select some text first: Score Selection scores only the selection.");
    return;
  }
  ctx.resumeAfterUserAction();
  if (!ctx.highlightsVisible) ctx.setHighlightsVisible(true);
  const document = editor.document;
  const scope = { start: document.offsetAt(editor.selection.start), end: document.offsetAt(editor.selection.end) };
  await ctx.scorer.score(document, "selection", scope);
}

async function toggleLiveScoring(ctx: LensContext): Promise<void> {
  const section = vscode.workspace.getConfiguration(CONFIG_SECTION);
  const key = CONFIG_KEYS.liveScoring;
  const inspected = section.inspect<boolean>(key);
  // Change the value where it is set, so the toggle is not hidden by a workspace value.
  const target = inspected?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  const enable = !ctx.config.liveScoring;
  ctx.resumeAfterUserAction();
  await section.update(key, enable, target);
  vscode.window.setStatusBarMessage(`Perplexity Lens: live scoring ${enable ? "on" : "off"}`, 3000);
}

interface ModelPick extends vscode.QuickPickItem {
  model?: ModelEntry;
  addFolder?: boolean;
}

async function selectModel(ctx: LensContext): Promise<void> {
  const config = ctx.config;
  const models = await listModels(ctx.embeddedModelsRoot, config.modelFolders);
  const currentPath = ctx.currentModel?.path;
  const isCurrent = (model: ModelEntry): boolean =>
    currentPath !== undefined ? model.path === currentPath : model.name === config.model || model.path === config.model;
  const items: ModelPick[] = [];
  const embedded = models.filter((m) => m.source === "embedded");
  const folders = models.filter((m) => m.source === "folder");
  const toItem = (model: ModelEntry): ModelPick => ({
    label: `${isCurrent(model) ? "$(check) " : ""}${model.name}`,
    description: [model.modelType, model.source === "embedded" ? "embedded" : undefined].filter(Boolean).join(" · "),
    detail: model.path,
    model,
  });
  if (embedded.length > 0) items.push({ label: "Embedded", kind: vscode.QuickPickItemKind.Separator }, ...embedded.map(toItem));
  if (folders.length > 0) items.push({ label: "Model folders", kind: vscode.QuickPickItemKind.Separator }, ...folders.map(toItem));
  items.push(
    { label: "", kind: vscode.QuickPickItemKind.Separator },
    { label: "$(folder-opened) Add a model folder…", description: "a Hugging Face ONNX model folder, or a folder of them", addFolder: true },
  );
  const picked = await vscode.window.showQuickPick(items, {
    title: "Perplexity Lens: Select Model",
    placeHolder: "Model to score with",
    matchOnDetail: true,
  });
  if (!picked) return;
  const section = vscode.workspace.getConfiguration(CONFIG_SECTION);
  let chosen = picked.model;
  if (picked.addFolder) {
    const folder = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: "Use Model Folder" }))?.[0];
    if (!folder) return;
    const folderPath = folder.fsPath;
    const found = await listModels(ctx.embeddedModelsRoot, [folderPath]);
    const inFolder = found.filter((m) => m.source === "folder");
    if (inFolder.length === 0) {
      void vscode.window.showErrorMessage(`${folderPath} holds no model: a model folder has config.json, tokenizer.json and an .onnx file.`);
      return;
    }
    const modelFolders = section.inspect<string[]>(CONFIG_KEYS.modelFolders)?.globalValue ?? [];
    if (!modelFolders.includes(folderPath)) {
      await section.update(CONFIG_KEYS.modelFolders, [...modelFolders, folderPath], vscode.ConfigurationTarget.Global);
    }
    chosen = inFolder[0];
  }
  if (!chosen) return;
  // Embedded models are stored by name (they move with the extension), others by absolute path.
  const value = chosen.source === "embedded" ? chosen.name : path.resolve(chosen.path);
  await section.update(CONFIG_KEYS.model, value, vscode.ConfigurationTarget.Global);
  ctx.log.info(`[command] model set to ${value}`);
  // The settings change reloads the model and rescores scored documents; load it now if nothing is scored.
  if (ctx.scorer.all().length === 0) {
    ctx.resumeAfterUserAction();
    const { model } = await ctx.readyEngine();
    vscode.window.setStatusBarMessage(`Perplexity Lens: using ${model.name}`, 4000);
  }
}

async function exportTokenScores(ctx: LensContext): Promise<void> {
  const editor = activeEditor();
  if (!editor) return;
  const state = ctx.scorer.get(editor.document.uri);
  if (!state?.result || !state.model) {
    void vscode.window.showInformationMessage("Score the document first (Perplexity Lens: Score Document), then export its token scores.");
    return;
  }
  if (state.stale) {
    const choice = await vscode.window.showWarningMessage(
      "The document changed since it was scored; the export describes the text as it was scored.",
      "Export Anyway",
    );
    if (choice !== "Export Anyway") return;
  }
  const format = await vscode.window.showQuickPick(
    [
      { label: "JSON", description: "the command line's `score --json` object: model, method, metrics, tokens", id: "json" as const },
      { label: "CSV", description: "one row per token with its top-k alternatives", id: "csv" as const },
    ],
    { title: "Perplexity Lens: Export Token Scores", placeHolder: "Format" },
  );
  if (!format) return;
  const source = editor.document.uri;
  const stem = path.posix.basename(source.path).replace(/\.[^.]*$/, "") || "document";
  const defaultName = `${stem}.tokens.${format.id}`;
  const defaultUri =
    source.scheme === "file"
      ? vscode.Uri.joinPath(source, "..", defaultName)
      : vscode.workspace.workspaceFolders?.[0]
        ? vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, defaultName)
        : undefined;
  const target = await vscode.window.showSaveDialog({
    title: "Export Token Scores",
    ...(defaultUri ? { defaultUri } : {}),
    filters: format.id === "json" ? { JSON: ["json"] } : { CSV: ["csv"] },
  });
  if (!target) return;
  const content = format.id === "json" ? JSON.stringify(toScoreReport(state.model, state.result), null, 2) + "\n" : toCsv(state.result.tokens);
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
  ctx.log.info(`[command] exported ${state.result.tokens.length} token scores to ${target.toString()}`);
  const choice = await vscode.window.showInformationMessage(
    `Exported ${state.result.tokens.length} token scores to ${path.posix.basename(target.path)}.`,
    "Open",
  );
  if (choice === "Open") await vscode.window.showTextDocument(target);
}
