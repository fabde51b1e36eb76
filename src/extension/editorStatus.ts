/**
 * Which editor the status bar describes and what it says about a selection: the active editor, except that
 * focusing an output pane (itself a text editor) keeps showing the document the user was working in.
 */
import * as vscode from "vscode";
import { computeMetrics } from "../core/metrics";
import type { Metrics } from "../core/types";
import type { DocumentScoreState } from "./documentScoreState";

/** URI schemes scored automatically (`autoScoreLanguages`); output panes, git views and the like are not. */
export const AUTO_SCORE_SCHEMES = new Set(["file", "untitled", "vscode-remote", "vscode-vfs"]);

/** Text editors that are not documents the user edits: the status bar ignores them. */
const NON_DOCUMENT_SCHEMES = new Set(["output", "debug", "vscode-terminal"]);

export function statusEditor(): vscode.TextEditor | undefined {
  const active = vscode.window.activeTextEditor;
  if (active && !NON_DOCUMENT_SCHEMES.has(active.document.uri.scheme)) return active;
  return vscode.window.visibleTextEditors.find((editor) => !NON_DOCUMENT_SCHEMES.has(editor.document.uri.scheme));
}

/** The active selection's own metrics, from the current result; undefined when empty or not current. */
export function selectionMetrics(editor: vscode.TextEditor, state: DocumentScoreState): Metrics | undefined {
  const selection = editor.selection;
  if (selection.isEmpty || !state.result || state.stale) return undefined;
  const document = editor.document;
  const start = document.offsetAt(selection.start) - state.baseOffset;
  const end = document.offsetAt(selection.end) - state.baseOffset;
  if (end <= 0 || start >= state.scoredText.length) return undefined;
  const metrics = computeMetrics(state.scoredText, state.result.tokens, {
    start: Math.max(0, start),
    end: Math.min(state.scoredText.length, end),
  });
  return metrics.scoredTokens > 0 ? metrics : undefined;
}
