import * as vscode from "vscode";

export function activate(_context: vscode.ExtensionContext): void {
  // The VS Code layer is built in src/extension (see issue "In the editor").
}

export function deactivate(): void {}
