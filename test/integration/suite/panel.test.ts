/**
 * The Perplexity Lens panel in the real workbench: its sections render from a scored document, and an
 * edit rescored with the KV cache shows reused tokens in the panel's cache numbers.
 */
import * as assert from "assert";
import * as vscode from "vscode";
import { ui, skipWithoutUi, settledStatus, activateExtension, workspaceFile } from "../uiBridge";

/** Webview content lives in an inner iframe (fake.html) of an outer one. */
const IN_WEBVIEW = { frame: "fake.html" };

async function sectionText(id: string): Promise<string> {
  const found = await ui.query(`vscode-collapsible[data-section="${id}"] .section-content`, IN_WEBVIEW);
  return found.map((f) => f.text).join("\n");
}

/** "1,234 reused" in the cache section's hit-rate row. */
function reusedTokens(cacheText: string): number {
  const m = /([\d,]+)\s+reused/.exec(cacheText);
  return m?.[1] ? Number(m[1].replace(/,/g, "")) : NaN;
}

describe("the panel", () => {
  let file: string;
  let original: string;

  before(async () => {
    await activateExtension();
    file = workspaceFile("prose.md");
    original = Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.file(file))).toString("utf8");
  });

  it("shows the KV-cache, model and document sections of a scored document", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    await settledStatus();
    await ui.runCommand("Perplexity Lens: Show Panel");
    assert.ok(await ui.waitFor('vscode-collapsible[data-section="cache"]', { ...IN_WEBVIEW, timeoutMs: 60_000 }), "the panel did not render");

    const model = await ui.until(
      "the model section",
      async () => {
        const t = await sectionText("model");
        return /lens-gpt2-bpe4k/.test(t) ? t : undefined;
      },
      60_000,
    );
    assert.match(model, /LoRA/);
    const cache = await ui.until(
      "the cache section",
      async () => {
        const t = await sectionText("cache");
        return /tokens cached/.test(t) ? t : undefined;
      },
      60_000,
    );
    assert.match(cache, /hit rate/);
    const document = await sectionText("document");
    assert.ok(document.trim().length > 0, "the document section is empty");
    await ui.screenshot("panel");
  });

  it("shows KV-cache reuse after an edit is rescored", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    await settledStatus();
    await vscode.commands.executeCommand("perplexityLens.showPanel");
    const before = await ui.until(
      "the cache section",
      async () => {
        const t = await sectionText("cache");
        return /reused/.test(t) ? t : undefined;
      },
      60_000,
    );
    const reusedBefore = reusedTokens(before);

    // Type at the end of the document, as a user would, then rescore.
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    editor.selection = new vscode.Selection(end, end);
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One, false);
    await ui.type("\nThe parser also reads environment variables.");
    await ui.until("the edit to reach the document", async () => (doc.getText().includes("environment variables") ? true : undefined));
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    await settledStatus();

    const after = await ui.until(
      "more reused tokens in the cache section",
      async () => {
        const t = await sectionText("cache");
        const n = reusedTokens(t);
        return n > (Number.isNaN(reusedBefore) ? 0 : reusedBefore) ? t : undefined;
      },
      60_000,
    );
    await ui.screenshot("panel-after-edit");
    assert.ok(reusedTokens(after) > 0, after);
  });

  afterEach(async () => {
    // Leave the sample file as it is in the repository (and not dirty) for the tests that follow.
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
    if (!doc || doc.getText() === original) return;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), original);
    await vscode.workspace.applyEdit(edit);
    await doc.save();
  });
});
