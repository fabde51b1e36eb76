/**
 * Bad input in a real VS Code (issue 9): what the user sees when a document cannot be scored or leaves nothing to
 * score. An empty document shows "—" for its perplexity in the status bar (never NaN or Infinity); a document with
 * NUL characters is refused as binary in one sentence; a document over the size limit is refused or truncated as
 * the setting says, and the user is told in one sentence.
 */
import * as assert from "assert";
import * as vscode from "vscode";
import { ui, skipWithoutUi, notificationWith, activateExtension, STATUS_ITEM } from "../uiBridge";

async function openUntitled(content: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument({ language: "markdown", content });
  return vscode.window.showTextDocument(doc);
}

describe("Bad input in the editor", () => {
  before(async () => {
    await activateExtension();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand("notifications.clearAll");
    await vscode.commands.executeCommand("notifications.hideList");
    const config = vscode.workspace.getConfiguration("perplexityLens");
    await config.update("maxDocumentSize", undefined, vscode.ConfigurationTarget.Global);
    await config.update("oversizedDocuments", undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
  });

  it("an empty document: the status bar shows — for its perplexity, never NaN or Infinity", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    await openUntitled("");
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    // Earlier tests may leave another document's figures in the status bar for a moment: wait for this one's.
    const seen: string[] = [];
    const status = await ui.until(
      "the status bar item showing — for the empty document's perplexity",
      async () => {
        const items = await ui.query(STATUS_ITEM);
        const text = items[0]?.text ?? "";
        seen.push(text);
        return /ppl\s+—/.test(text) ? text : undefined;
      },
      180_000,
    );
    assert.match(status, /ppl\s+—/);
    for (const text of seen) assert.doesNotMatch(text, /NaN|Infinity/);
  });

  it("a document with NUL characters is refused as binary in one sentence", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    await openUntitled("PNG\u0000\u0000\u0000binary data");
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    const toast = await notificationWith("looks binary");
    assert.match(toast, /The text contains NUL characters, so it looks binary and is not scored\./);
  });

  it("a document over maxDocumentSize with oversizedDocuments = refuse is not scored, and the user is told why", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    const config = vscode.workspace.getConfiguration("perplexityLens");
    await config.update("maxDocumentSize", 1000, vscode.ConfigurationTarget.Global);
    await config.update("oversizedDocuments", "refuse", vscode.ConfigurationTarget.Global);
    await openUntitled("word ".repeat(1000));
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    const toast = await notificationWith("more than the limit");
    assert.match(toast, /has 5,000 characters, more than the limit of 1,000 \(setting perplexityLens\.maxDocumentSize\), so it was not scored\./);
  });

  it("with oversizedDocuments = truncate, the first maxDocumentSize characters are scored and the user is told", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    const config = vscode.workspace.getConfiguration("perplexityLens");
    await config.update("maxDocumentSize", 1000, vscode.ConfigurationTarget.Global);
    await config.update("oversizedDocuments", "truncate", vscode.ConfigurationTarget.Global);
    await openUntitled("word ".repeat(1000));
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    const toast = await notificationWith("are scored");
    assert.match(toast, /has 5,000 characters; only the first 1,000 are scored/);
  });
});
