/**
 * Hover on a scored token: its text, log-probability, probability, rank, entropy, context length and
 * the model's top alternatives (formatted by the pure `tokenHover.ts`).
 */
import * as vscode from "vscode";
import type { DocumentScoreState } from "./documentScoreState";
import { formatTokenHover } from "./tokenHover";

export class TokenHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly stateOf: (document: vscode.TextDocument) => DocumentScoreState | undefined,
    private readonly highlightsVisible: () => boolean,
  ) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    if (!this.highlightsVisible()) return undefined;
    const state = this.stateOf(document);
    if (!state?.result) return undefined;
    const found = state.tokenAt(document.offsetAt(position));
    if (!found) return undefined;
    let markdown = formatTokenHover(found.token, state.model?.vocabSize);
    if (state.stale) markdown += "\n\n*The document changed since this was scored.*";
    const range = new vscode.Range(document.positionAt(found.placed.start), document.positionAt(found.placed.end));
    return new vscode.Hover(new vscode.MarkdownString(markdown), range);
  }
}
