/**
 * Compare Tokenizers in a real VS Code: the command (with the embedded pair passed as arguments, so no quick pick)
 * runs in the engine worker and returns what the panel shows; the numbers obey bits per byte = NLL / (bytes · ln 2);
 * the palette lists the command; and the panel's comparison view shows the table, the verdict and one column of
 * tokens per model.
 */
import * as assert from "assert";
import * as path from "path";
import * as vscode from "vscode";
import { ui, skipWithoutUi } from "../uiBridge";
import type { ComparisonView } from "../../../src/protocol/webview";

const COMMAND = "perplexityLens.compareTokenizers";

describe("Compare Tokenizers", () => {
  let view: ComparisonView | undefined;

  it("compares the embedded pair on prose.md in the engine worker", async function () {
    this.timeout(180_000);
    const folder = vscode.workspace.workspaceFolders?.find((f) => path.basename(f.uri.fsPath) === "sample-workspace");
    assert.ok(folder, "the sample workspace is open");
    const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, "prose.md"));
    await vscode.window.showTextDocument(document);
    view = await vscode.commands.executeCommand<ComparisonView | undefined>(COMMAND, { targets: ["lens-gpt2-bpe4k", "lens-gpt2-byte"] });
    assert.ok(view, "the command returned the comparison");
    const text = document.getText();
    const bytes = Buffer.byteLength(text, "utf8");
    assert.strictEqual(view.characters, text.length);
    assert.strictEqual(view.comparison.bytes, bytes);
    const [bpe, byte] = view.comparison.entries;
    assert.ok(bpe && byte);
    assert.deepStrictEqual([bpe.model.name, byte.model.name], ["lens-gpt2-bpe4k", "lens-gpt2-byte"]);
    assert.strictEqual(byte.metrics.tokens, bytes, "the byte model has one token per byte");
    for (const entry of view.comparison.entries) {
      const m = entry.metrics;
      assert.ok(m.bitsPerByte !== null && Math.abs(m.bitsPerByte - m.nll / (bytes * Math.LN2)) < 1e-9, `${entry.model.name} bits per byte`);
    }
    assert.ok(byte.metrics.tokenPerplexity! < bpe.metrics.tokenPerplexity!, "per token the byte model looks better");
    assert.match(view.comparison.verdict.sentence, /Token perplexity is not comparable/);
  });

  it("is in the command palette under Perplexity Lens", async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes(COMMAND));
  });

  it("shows the table, the verdict and a column per model in the panel", async function () {
    skipWithoutUi(this);
    this.timeout(90_000);
    assert.ok(view, "the comparison ran");
    const frame = { frame: "fake.html" };
    assert.ok(await ui.waitFor(".cmp-table", { ...frame, timeoutMs: 30_000 }), "the comparison table did not render");
    const verdict = await ui.query(".verdict", frame);
    assert.ok(
      verdict.some((v) => v.text.includes("bits per byte")),
      `verdict: ${verdict.map((v) => v.text).join(" | ")}`,
    );
    const heads = await ui.query(".cmp-column-head strong", frame);
    assert.deepStrictEqual(heads.map((h) => h.text).slice(0, 2), ["lens-gpt2-bpe4k", "lens-gpt2-byte"]);
    const tokens = await ui.query(".cmp-column:nth-child(2) .cmp-token", { ...frame, limit: 5, styles: ["background-color"] });
    assert.ok(tokens.length > 0, "the byte model's column has tokens");
    await ui.screenshot("compare-tokenizers");
  });
});
