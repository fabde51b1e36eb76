/**
 * LoRA adapters as a user switches them: from the command palette's multi-select pick, with the
 * status bar's perplexity changing and naming the adapter, and the panel's LoRA switch following.
 */
import * as assert from "assert";
import * as vscode from "vscode";
import { ui, skipWithoutUi, settledStatus, activateExtension, workspaceFile } from "../uiBridge";

const ADAPTER = "markdown-prose";

/** Webview content lives in an inner iframe (fake.html) of an outer one. */
const IN_WEBVIEW = { frame: "fake.html" };

/** Whether the panel's LoRA section shows `name` switched on (its row carries `lora-on`), once it says so. */
function panelSwitch(name: string, on: boolean): Promise<boolean> {
  return ui.until(
    `the panel's ${name} switch ${on ? "on" : "off"}`,
    async () => {
      const rows = await ui.query(`.lora-adapter[data-adapter="${name}"]`, IN_WEBVIEW);
      const row = rows[0];
      if (!row) return undefined;
      return /\blora-on\b/.test(row.className) === on ? true : undefined;
    },
    90_000,
  );
}

const ppl = (status: string): number => Number(/ppl\s+([\d,.]+)/.exec(status)?.[1]?.replace(/,/g, "") ?? NaN);

/** Opens Toggle LoRA Adapter… from the palette and flips `name` in its multi-select list. */
async function toggleFromPalette(name: string): Promise<void> {
  await ui.runCommand("Perplexity Lens: Toggle LoRA Adapter…");
  const row = `.quick-input-widget .quick-input-list .monaco-list-row:has-text(${JSON.stringify(name)})`;
  assert.ok(await ui.waitFor(row, { state: "visible", timeoutMs: 30_000 }), `no ${name} in the adapter list`);
  // In a multi-select pick, clicking a row flips its checkbox; OK accepts the whole selection.
  await ui.click(row);
  await ui.click('.quick-input-widget .monaco-button:has-text("OK")');
}

describe("LoRA adapters", () => {
  let file: string;

  before(async () => {
    await activateExtension();
    file = workspaceFile("prose.md");
  });

  it("toggling an adapter from the command palette changes the status bar's perplexity and the panel's switch", async function () {
    skipWithoutUi(this);
    this.timeout(300_000);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    const base = await settledStatus((t) => !t.includes(ADAPTER));
    await ui.runCommand("Perplexity Lens: Show Panel");
    assert.ok(await ui.waitFor('vscode-collapsible[data-section="lora"]', { ...IN_WEBVIEW, timeoutMs: 60_000 }), "the panel has no LoRA section");
    await panelSwitch(ADAPTER, false);
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);

    await toggleFromPalette(ADAPTER);
    // The adapter's name shows at once; the document is then rescored with it.
    const withAdapter = await settledStatus((t) => t.includes(ADAPTER) && ppl(t) !== ppl(base));
    // The panel shows the same state as the palette.
    assert.ok(await panelSwitch(ADAPTER, true));
    await ui.screenshot("lora-on");

    // And off again: the base model's perplexity comes back.
    await toggleFromPalette(ADAPTER);
    const off = await settledStatus((t) => !t.includes(ADAPTER) && ppl(t) !== ppl(withAdapter));
    assert.ok(Math.abs(ppl(off) - ppl(base)) / ppl(base) < 1e-3, `${base} → ${withAdapter} → ${off}`);
    assert.ok(await panelSwitch(ADAPTER, false));
  });
});
