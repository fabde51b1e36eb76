/**
 * Score Document as a user runs it: from the command palette, on a sample file, looking at what the
 * workbench shows (token highlights in the editor DOM, the status bar), and checking the numbers
 * against the command line's for the same file.
 */
import * as assert from "assert";
import * as path from "path";
import { execFile } from "child_process";
import * as vscode from "vscode";
import { ui, skipWithoutUi, activateExtension, workspaceFile, STATUS_ITEM } from "../uiBridge";

/** VS Code gives a status bar item the element id `<extension id>.<item id>`. */

interface CliToken {
  text: string;
  start: number;
  end: number;
  logprob: number | null;
}

interface CliReport {
  metrics: { tokenPerplexity: number; bitsPerByte: number; scoredTokens: number };
  tokens: CliToken[];
}

/** Runs the bundled command line (dist/cli.js) with the extension host's own Node. */
function cliScore(extensionPath: string, file: string): Promise<CliReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(extensionPath, "dist", "cli.js"), "score", file, "--json"],
      // Desktop VS Code's execPath is Electron: make it behave as Node.
      { env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`cli score failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as CliReport);
      },
    );
  });
}

/** "ppl 1,357 · 4.181 bpb" → { ppl: 1357, bpb: 4.181 } */
function parseStatus(text: string): { ppl: number; bpb: number } | undefined {
  const m = /ppl\s+([\d,.]+)(?:\s*·\s*([\d.]+)\s*bpb)?/.exec(text);
  if (!m?.[1]) return undefined;
  return { ppl: Number(m[1].replace(/,/g, "")), bpb: m[2] ? Number(m[2]) : NaN };
}

describe("Score Document in the editor", () => {
  let file: string;
  let extensionPath: string;

  before(async () => {
    extensionPath = (await activateExtension()).extension.extensionPath;
    file = workspaceFile("surprising.md");
  });

  it("highlights tokens and shows the command line's perplexity in the status bar", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    const cli = cliScore(extensionPath, file);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    await ui.runCommand("Perplexity Lens: Score Document");

    // The status bar item shows the document's perplexity once scoring is done.
    const status = await ui.until(
      "the perplexity in the status bar",
      async () => {
        const items = await ui.query(STATUS_ITEM);
        const parsed = items[0] ? parseStatus(items[0].text) : undefined;
        return parsed && !/~/.test(items[0]?.text ?? "") ? parsed : undefined;
      },
      180_000,
    );

    // Token highlights: background decorations in the editor's overlay layer, in several colours.
    const highlights = await ui.query(".monaco-editor .view-overlays .cdr[class*='TextEditorDecorationType']", {
      styles: ["background-color"],
      limit: 2000,
    });
    const colours = new Set(highlights.map((h) => h.styles["background-color"]).filter((c) => c && !/rgba\(0, 0, 0, 0\)|transparent/.test(c)));
    assert.ok(highlights.length >= 50, `only ${highlights.length} highlighted ranges`);
    assert.ok(colours.size >= 3, `highlights use ${colours.size} colours: ${[...colours].join(", ")}`);
    await ui.screenshot("score-document");

    const expected = (await cli).metrics;
    // The status bar rounds to about four significant digits.
    const rel = Math.abs(status.ppl - expected.tokenPerplexity) / expected.tokenPerplexity;
    assert.ok(rel < 0.005, `status bar ppl ${status.ppl}, command line ${expected.tokenPerplexity}`);
    if (!Number.isNaN(status.bpb)) assert.ok(Math.abs(status.bpb - expected.bitsPerByte) < 0.002, `bpb ${status.bpb} vs ${expected.bitsPerByte}`);
  });

  it("shows log-probability and the top alternatives in the hover, as the command line computes them", async function () {
    skipWithoutUi(this);
    this.timeout(240_000);
    const cli = cliScore(extensionPath, file);
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    await ui.until(
      "the perplexity in the status bar",
      async () => {
        const items = await ui.query(STATUS_ITEM);
        return items[0] && parseStatus(items[0].text) && !/~/.test(items[0].text) ? true : undefined;
      },
      180_000,
    );

    // A token of the garbled line, as the command line splits it.
    const offset = doc.getText().indexOf("blorp");
    assert.ok(offset > 0);
    const token = (await cli).tokens.find((t) => t.start <= offset + 1 && offset + 1 < t.end);
    assert.ok(token && token.logprob !== null, "the command line has no scored token there");
    const position = doc.positionAt(offset + 1);
    editor.selection = new vscode.Selection(position, position);
    // What a keyboard user does (Ctrl+K Ctrl+I); a mouse hover shows the same widget.
    await vscode.commands.executeCommand("editor.action.showHover");
    const hover = await ui.until(
      "the Perplexity Lens hover",
      async () => {
        const h = await ui.query(".monaco-hover .hover-contents, .monaco-hover .rendered-markdown", { limit: 20 });
        const text = h.map((x) => x.text).join("\n");
        return /Perplexity Lens/.test(text) ? text : undefined;
      },
      30_000,
    );
    await ui.screenshot("token-hover");
    const shown = token.logprob.toFixed(3).replace("-", "\u2212");
    assert.ok(hover.includes(shown), `hover does not show log p ${shown} of ${JSON.stringify(token.text)}:\n${hover}`);
    assert.match(hover, /alternative/);
    assert.match(hover, /rank/);
    await ui.press("Escape");
  });
});
