/**
 * A section of the panel: a collapsible with a heading, redrawn when the data it depends on changes.
 * The LoRA section (issue "LoRA adapters…") and the comparison view (issue "Compare tokenizers…")
 * are added as sections: a field in PanelData fed by their ext→webview message, and an entry in
 * `panelSections` (panelApp.ts).
 */
import type { PanelData, WebviewToExtMessage } from "../../../src/protocol/webview";

/** The data of every section, as last received from the extension (or restored with getState). */
export type { PanelData } from "../../../src/protocol/webview";

export interface SectionContext {
  post(message: WebviewToExtMessage): void;
  /** Width in CSS pixels to draw charts at (the section's content width, capped). */
  chartWidth: number;
}

export interface PanelSection {
  /** Stable id, kept in the persisted state of collapsed sections. */
  id: string;
  heading: string;
  dependsOn: readonly (keyof PanelData)[];
  /** Short text next to the heading (e.g. the document's name); "" for none. */
  describe(data: PanelData): string;
  render(data: PanelData, context: SectionContext): Node;
}
