/**
 * The status bar item: the active document's token perplexity and bits per byte (or the selection's),
 * a spinner while scoring, a tooltip with every metric and the method; a click opens the panel.
 */
import * as vscode from "vscode";
import type { Metrics, ModelInfo } from "../core/types";
import type { ColorMode } from "./config";
import type { DocumentScoreState } from "./documentScoreState";
import { BITS_PER_LEVEL, SURPRISAL_LEVELS } from "../core/surprisal";
import { describeRescore, metricsTable, shortMethod, shortMetrics } from "./statusText";

export interface StatusView {
  /** The active editor's document state, if it was scored. */
  state: DocumentScoreState | undefined;
  /** Metrics of the active selection, when it is non-empty and the result is current. */
  selection: Metrics | undefined;
  /** The model in use, or the one being loaded. */
  model: ModelInfo | undefined;
  loadingModel: string | undefined;
  liveScoring: boolean;
  /** Why live scoring is suspended (the engine stopped), if it is. */
  liveSuspended: string | undefined;
  highlightsVisible: boolean;
  adapters: { name: string; scale: number }[];
  /** Whether the active editor is a text editor at all. */
  hasEditor: boolean;
  colorMode: ColorMode;
}

export class PerplexityStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(showPanelCommand: string) {
    this.item = vscode.window.createStatusBarItem("perplexityLens.status", vscode.StatusBarAlignment.Right, 100);
    this.item.name = "Perplexity Lens";
    this.item.command = showPanelCommand;
  }

  update(view: StatusView): void {
    const { state } = view;
    if (!view.hasEditor) {
      this.item.hide();
      return;
    }
    const busy = state?.scoring === true || view.loadingModel !== undefined;
    const icon = busy ? "$(sync~spin)" : state?.error && !state.result ? "$(warning)" : "$(pulse)";
    const adapters = view.adapters.length > 0 ? ` · ${view.adapters.map((a) => (a.scale === 1 ? a.name : `${a.name}×${a.scale}`)).join("+")}` : "";
    let text: string;
    if (view.selection) {
      text = `${icon} sel ${shortMetrics(view.selection)}`;
    } else if (state?.result) {
      text = `${icon} ${state.stale && !busy ? "~" : ""}${shortMetrics(state.result.metrics)}`;
    } else if (busy) {
      text = view.loadingModel ? `${icon} loading ${view.loadingModel}…` : `${icon} scoring…`;
    } else {
      text = `${icon} Lens`;
    }
    this.item.text = text + adapters;
    this.item.tooltip = this.tooltip(view);
    this.item.accessibilityInformation = { label: `Perplexity Lens: ${text.replace(/\$\([^)]*\)\s*/g, "")}` };
    this.item.show();
  }

  private tooltip(view: StatusView): vscode.MarkdownString {
    const { state } = view;
    const md = new vscode.MarkdownString(undefined, true);
    md.supportThemeIcons = true;
    const lines: string[] = ["**Perplexity Lens**", ""];
    const model = state?.model ?? view.model;
    if (view.loadingModel) lines.push(`Loading model ${view.loadingModel}…`, "");
    else if (model) lines.push(`Model: ${model.name} (${model.architecture}, ${model.parameters.toLocaleString("en-US")} parameters, ${model.source})`, "");
    if (view.selection) {
      lines.push(metricsTable(view.selection, "Selection"), "");
    }
    if (state?.result) {
      const scope = state.scope
        ? "the scored selection"
        : state.truncatedFrom !== undefined
          ? `the first ${state.scoredText.length.toLocaleString("en-US")} characters`
          : "the document";
      lines.push(metricsTable(state.result.metrics, `Metrics of ${scope}`), "");
      lines.push(`Method: ${shortMethod(state.result.method)}`, "");
      if (state.result.method.adapters && state.result.method.adapters.length > 0) {
        lines.push(`Adapters: ${state.result.method.adapters.map((a) => `${a.name} × ${a.scale}`).join(", ")}`, "");
      }
      lines.push(`Last run: ${describeRescore(state.result.rescore)}`, "");
      if (state.stale) lines.push(state.scoring ? "The document changed; rescoring…" : "The document changed since it was scored.", "");
      if (state.truncatedFrom !== undefined) {
        lines.push(
          `Only the first ${state.scoredText.length.toLocaleString("en-US")} of ${state.truncatedFrom.toLocaleString("en-US")} characters were scored (perplexityLens.maxDocumentSize).`,
          "",
        );
      }
    } else if (!state?.scoring) {
      lines.push("Not scored yet: run **Perplexity Lens: Score Document** (Ctrl+Alt+P).", "");
    }
    if (state?.error) lines.push(`$(warning) ${state.error}`, "");
    if (state?.result) {
      lines.push(
        view.colorMode === "gltr"
          ? "Colours: GLTR rank of each token among the model's predictions (top-10, top-100, top-1000, rest)."
          : `Colours: surprisal −log₂ p in ${BITS_PER_LEVEL}-bit steps (${SURPRISAL_LEVELS} levels, the last from ${BITS_PER_LEVEL * (SURPRISAL_LEVELS - 1)} bits); hover a token for its numbers.`,
        "",
      );
    }
    lines.push(
      `Live scoring: ${view.liveSuspended ? `suspended (${view.liveSuspended})` : view.liveScoring ? "on" : "off"} · highlights: ${view.highlightsVisible ? "shown" : "hidden"}`,
      "",
      "Click to open the panel.",
    );
    md.appendMarkdown(lines.join("\n"));
    return md;
  }

  dispose(): void {
    this.item.dispose();
  }
}
