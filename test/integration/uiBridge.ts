/**
 * In-host client of the UI bridge that the code-server test shim serves (scripts/lib/uiBridge.js,
 * which documents the protocol and why the bridge exists). Tests running inside the extension host
 * use it to look at the live workbench: decorations in the editor DOM with their computed styles,
 * hovers, the status bar, the panel's webview frames, and screenshots.
 *
 * When the suite runs in desktop VS Code (VSCODE_PATH) there is no bridge: `ui.available` is false
 * and UI checks call `skipWithoutUi(this)`.
 */
import * as assert from "assert";
import * as http from "http";
import * as path from "path";
import * as vscode from "vscode";
import type { Context } from "mocha";

export interface ElementInfo {
  text: string;
  className: string;
  styles: Record<string, string>;
}

export interface FrameFilter {
  /** Only frames whose URL contains this string (webview content sits in nested iframes). */
  frame?: string;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: string };

function post(url: string, body: object): Promise<Reply> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { "content-type": "application/json", "content-length": data.length }, timeout: 120_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          try {
            resolve(JSON.parse(text) as Reply);
          } catch {
            reject(new Error(`UI bridge answered ${res.statusCode ?? "?"}: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("UI bridge timed out")));
    req.end(data);
  });
}

export class UiBridge {
  constructor(private readonly url: string | undefined) {}

  get available(): boolean {
    return this.url !== undefined;
  }

  private async call<T>(op: string, args: object = {}): Promise<T> {
    if (!this.url) throw new Error("no UI bridge in this host (desktop VS Code); guard the test with skipWithoutUi(this)");
    const reply = await post(this.url, { op, ...args });
    if (!reply.ok) throw new Error(`UI ${op}: ${reply.error}`);
    return reply.value as T;
  }

  /** Saves test-output/<name>.png and returns its path. */
  screenshot(name: string): Promise<string> {
    return this.call("screenshot", { name });
  }

  /** Evaluates a JavaScript expression in the page (or the first frame matching `frame`). */
  evaluate<T>(expression: string, where: FrameFilter = {}): Promise<T> {
    return this.call("evaluate", { expression, ...where });
  }

  /** Elements matching `selector`, with the computed values of `styles`. */
  query(selector: string, opts: FrameFilter & { styles?: string[]; limit?: number } = {}): Promise<ElementInfo[]> {
    return this.call("query", { selector, ...opts });
  }

  /** Waits until `selector` matches; false when it did not within `timeoutMs`. */
  waitFor(selector: string, opts: FrameFilter & { timeoutMs?: number; state?: "attached" | "visible" } = {}): Promise<boolean> {
    return this.call("waitFor", { selector, ...opts });
  }

  press(keys: string): Promise<void> {
    return this.call("press", { keys });
  }

  type(text: string): Promise<void> {
    return this.call("type", { text });
  }

  click(selector: string, opts: FrameFilter & { index?: number } = {}): Promise<void> {
    return this.call("click", { selector, ...opts });
  }

  hover(selector: string, opts: FrameFilter & { index?: number } = {}): Promise<void> {
    return this.call("hover", { selector, ...opts });
  }

  frames(): Promise<{ name: string; url: string }[]> {
    return this.call("frames");
  }

  /**
   * Opens a quick input with `keys` (F1: command palette, Control+P: Quick Open), types `text` and
   * clicks the first row containing `rowText`. The palette fills in asynchronously (contributed
   * commands appear once the extension host has scanned the extensions), so on a busy machine it is
   * reopened a few times before giving up.
   */
  async pick(keys: string, text: string, rowText: string = text, attempts = 4): Promise<void> {
    const row = `.quick-input-widget .quick-input-list .monaco-list-row:has-text(${JSON.stringify(rowText)})`;
    for (let i = 1; ; i++) {
      await this.press("Escape");
      await this.press(keys);
      if (await this.waitFor(".quick-input-widget input", { state: "visible", timeoutMs: 5_000 })) {
        await this.type(text);
        if (await this.waitFor(row, { state: "visible", timeoutMs: 8_000 })) {
          await this.click(row);
          return;
        }
      }
      if (i >= attempts) throw new Error(`no quick-input row with ${JSON.stringify(rowText)} after typing ${JSON.stringify(text)}`);
    }
  }

  /** Runs a command from the palette by its full title, e.g. "Perplexity Lens: Score Document". */
  runCommand(title: string): Promise<void> {
    return this.pick("F1", title);
  }

  /** Opens a workspace file through Quick Open (Ctrl+P). */
  quickOpen(fileName: string): Promise<void> {
    return this.pick("Control+P", fileName);
  }

  /** Polls `probe` until it returns a value that is not undefined, or throws after `timeoutMs`. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export const ui = new UiBridge(process.env.PERPLEXITY_LENS_UI_BRIDGE);

/** Skips the current test when the host has no UI bridge (desktop VS Code). */
export function skipWithoutUi(ctx: Context): void {
  if (!ui.available) ctx.skip();
}

/**
 * The text of the first notification (toast or notification centre) that contains `fragment`: the
 * notification centre is opened so that notifications shown while toasts are hidden are seen too.
 */
export async function notificationWith(fragment: string, timeoutMs = 90_000): Promise<string> {
  return ui.until(
    `a notification saying "${fragment}"`,
    async () => {
      await vscode.commands.executeCommand("notifications.showList");
      const texts = await ui.evaluate<string[]>(`Array.from(document.querySelectorAll(".notification-list-item-message")).map((e) => e.textContent || "")`);
      return texts.find((text) => text.includes(fragment));
    },
    timeoutMs,
  );
}

/** The extension under test. */
export const EXTENSION_ID = "perplexity-lens.perplexity-lens";

/** The extension's status bar item (its id is "<extension id>.<item id>"). */
export const STATUS_ITEM = `[id="${EXTENSION_ID}.perplexityLens.status"]`;

/** Activates the extension under test; resolves to it and to what activate returned (the test hooks, when on). */
export async function activateExtension<T = unknown>(): Promise<{ extension: vscode.Extension<T>; hooks: T }> {
  const extension = vscode.extensions.getExtension<T>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not among ${vscode.extensions.all.map((e) => e.id).join(", ")}`);
  const hooks = await extension.activate();
  return { extension, hooks };
}

/** The path of `name` in the first workspace folder (the sample workspace). */
export function workspaceFile(name: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, "no workspace folder");
  return path.join(folder.uri.fsPath, name);
}

/**
 * The status bar text once scoring has settled ("ppl 63.3 · 1.679 bpb", not a spinner or "~"), and `accept` holds
 * for it; waits up to three minutes (a busy 2-core machine scores slowly).
 */
export function settledStatus(accept: (text: string) => boolean = () => true): Promise<string> {
  return ui.until(
    "a settled perplexity in the status bar",
    async () => {
      const text = (await ui.query(STATUS_ITEM))[0]?.text ?? "";
      return /ppl\s+[\d,.]+/.test(text) && !/~|scoring|loading/.test(text) && accept(text) ? text : undefined;
    },
    180_000,
  );
}
