import * as crypto from "node:crypto";
import * as vscode from "vscode";

/** Folder (under the extension) whose files the webview may load: the webview bundle and its CSS. */
export function webviewResourceRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, "dist", "webview");
}

/** Options every panel webview gets: scripts on, and nothing loadable outside dist/webview. */
export function panelWebviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: [webviewResourceRoot(extensionUri)] };
}

/**
 * The panel's HTML. Content-Security-Policy `default-src 'none'`: the script runs only with this
 * page's nonce, styles come only from the extension's dist/webview (plus the constructable
 * stylesheets the web components adopt, which CSP does not govern), images only inline SVG/data.
 * No remote content of any kind.
 */
export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const root = webviewResourceRoot(extensionUri);
  const scriptUri = webview.asWebviewUri(vscode.Uri.joinPath(root, "webview.js"));
  const styleUri = webview.asWebviewUri(vscode.Uri.joinPath(root, "panel.css"));
  const nonce = crypto.randomBytes(16).toString("base64");
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${styleUri.toString()}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script nonce="${nonce}" src="${scriptUri.toString()}"></script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
