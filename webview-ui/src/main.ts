/**
 * Entry of the panel's webview bundle (dist/webview/webview.js). Imports only the web components the
 * panel uses, so the bundle stays small.
 */
import "@vscode-elements/elements/dist/vscode-checkbox/index.js";
import "@vscode-elements/elements/dist/vscode-collapsible/index.js";
import "@vscode-elements/elements/dist/vscode-progress-bar/index.js";
import "./panel.css";
import { PanelApp } from "./panelApp";
import { postToExtension, readPersistedState, writePersistedState } from "./vscodeApi";

function start(): void {
  const root = document.getElementById("app");
  if (!root) throw new Error("the panel's HTML has no #app element");
  const app = new PanelApp(root, { post: postToExtension, save: writePersistedState }, readPersistedState());
  window.addEventListener("message", (event: MessageEvent<unknown>) => app.receive(event.data));
  window.addEventListener("error", (event) => postToExtension({ type: "webviewError", data: { message: String(event.message) } }));
  // Only now is the listener installed: the extension holds its posts until it hears this.
  postToExtension({ type: "ready", data: {} });
}

start();
