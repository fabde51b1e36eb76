import * as vscode from "vscode";
import { describeInvalidMessage, isWebviewToExtMessage, type ExtToWebviewMessage, type WebviewToExtMessage } from "../../protocol/webview";

/**
 * One webview showing the panel (the side-bar view or an editor tab). Holds back every post until the
 * webview says `ready` (posts before that are lost: the page's listener is not installed yet), and
 * passes on only messages that pass validation.
 */
export class WebviewConnection implements vscode.Disposable {
  private ready = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    readonly webview: vscode.Webview,
    /** Where the webview lives, for log lines: "view" or "tab". */
    readonly label: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly onMessage: (message: WebviewToExtMessage, connection: WebviewConnection) => void,
  ) {
    this.subscriptions.push(webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)));
  }

  get isReady(): boolean {
    return this.ready;
  }

  /**
   * The webview's page went away (a view hidden without retainContextWhenHidden): hold posts until
   * the reloaded page says `ready` again and gets everything anew.
   */
  pageUnloaded(): void {
    this.ready = false;
  }

  /** Posts if the webview is ready; returns whether it was posted. */
  post(message: ExtToWebviewMessage): boolean {
    if (!this.ready) return false;
    this.webview.postMessage(message).then(
      (delivered) => {
        if (!delivered) this.log.debug(`[panel] ${this.label}: ${message.type} not delivered (webview hidden or gone)`);
      },
      (error: unknown) => this.log.warn(`[panel] ${this.label}: posting ${message.type} failed: ${String(error)}`),
    );
    return true;
  }

  private receive(raw: unknown): void {
    if (!isWebviewToExtMessage(raw)) {
      this.log.warn(`[panel] ${this.label}: ignored a message from the webview: ${describeInvalidMessage(raw, "toExtension")}`);
      return;
    }
    // A reloaded webview says ready again and must get everything anew.
    if (raw.type === "ready") this.ready = true;
    this.onMessage(raw, this);
  }

  dispose(): void {
    this.ready = false;
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
