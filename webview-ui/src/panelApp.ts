/**
 * The panel UI: one collapsible per section, the data of every section, and the message loop.
 * Data arrives as ext→webview messages (validated), is kept with setState so a reload shows it at
 * once, and each section is redrawn only when data it depends on changes.
 */
import type { ExtToWebviewMessage, PanelSectionName, PersistedPanelState, WebviewToExtMessage } from "../../src/protocol/webview";
import { extToWebviewMessageProblem } from "../../src/protocol/webview";
import { h } from "./dom";
import { cacheSection } from "./sections/cacheSection";
import { comparisonSection } from "./sections/comparisonSection";
import { documentSection } from "./sections/documentSection";
import { loraSection } from "./sections/loraSection";
import { modelSection } from "./sections/modelSection";
import type { PanelData, PanelSection, SectionContext } from "./sections/section";

/** In display order: the LoRA section next to the document whose perplexity it compares. */
export const panelSections: readonly PanelSection[] = [documentSection, loraSection, cacheSection, modelSection, comparisonSection];

interface MountedSection {
  section: PanelSection;
  collapsible: HTMLElementTagNameMap["vscode-collapsible"];
  body: HTMLElement;
}

export interface PanelHost {
  post(message: WebviewToExtMessage): void;
  save(state: PersistedPanelState): void;
}

export class PanelApp {
  private data: PanelData = { model: null, document: null, cache: null, comparison: null, adapters: null };
  private readonly collapsed = new Set<string>();
  private readonly mounted: MountedSection[] = [];
  private readonly context: SectionContext;
  /** Charts are redrawn when the content width changes by at least this many pixels. */
  private static readonly redrawStepPixels = 8;

  constructor(
    private readonly root: HTMLElement,
    private readonly host: PanelHost,
    restored: PersistedPanelState | undefined,
  ) {
    this.context = { post: (message) => this.host.post(message), chartWidth: 300 };
    if (restored) {
      this.data = { ...this.data, ...restored.data };
      for (const id of restored.collapsedSections) this.collapsed.add(id);
    }
    this.context.chartWidth = this.measureChartWidth();
    this.mount();
    new ResizeObserver(() => this.onResize()).observe(this.root);
  }

  /** The width charts get: a section's content width (without its padding), between 200 and 480 px. */
  private measureChartWidth(): number {
    const probe = this.mounted[0]?.body;
    const content = probe && probe.clientWidth > 0 ? probe.clientWidth - 32 : this.root.clientWidth - 32;
    return Math.round(Math.min(480, Math.max(200, content)));
  }

  private onResize(): void {
    const width = this.measureChartWidth();
    if (Math.abs(width - this.context.chartWidth) < PanelApp.redrawStepPixels) return;
    this.context.chartWidth = width;
    for (const mounted of this.mounted) this.draw(mounted);
  }

  /** Handles a message from the extension; anything invalid is reported and dropped. */
  receive(raw: unknown): void {
    const problem = extToWebviewMessageProblem(raw);
    if (problem !== null) {
      this.host.post({ type: "webviewError", data: { message: `ignored a message from the extension: ${problem}` } });
      return;
    }
    const message = raw as ExtToWebviewMessage;
    this.update(message.type, message.data);
  }

  private update<K extends PanelSectionName>(key: K, value: PanelData[K]): void {
    this.data = { ...this.data, [key]: value };
    for (const mounted of this.mounted) if (mounted.section.dependsOn.includes(key)) this.draw(mounted);
    this.persist();
  }

  private mount(): void {
    this.root.replaceChildren();
    for (const section of panelSections) {
      const collapsible = h("vscode-collapsible", { class: "section", "data-section": section.id });
      collapsible.heading = section.heading;
      collapsible.open = !this.collapsed.has(section.id);
      collapsible.addEventListener("vsc-collapsible-toggle", (event) => {
        if (event.detail.open) this.collapsed.delete(section.id);
        else this.collapsed.add(section.id);
        this.persist();
      });
      const body = h("div", { class: "section-content" });
      collapsible.append(body);
      this.root.append(collapsible);
      const mounted = { section, collapsible, body };
      this.mounted.push(mounted);
      this.draw(mounted);
    }
  }

  private draw(mounted: MountedSection): void {
    try {
      mounted.collapsible.description = mounted.section.describe(this.data);
      mounted.body.replaceChildren(mounted.section.render(this.data, this.context));
    } catch (error) {
      mounted.body.replaceChildren(h("p", { class: "warning" }, `This section could not be drawn: ${String(error)}`));
      this.host.post({
        type: "webviewError",
        data: { message: `section ${mounted.section.id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` },
      });
    }
  }

  private persist(): void {
    this.host.save({ version: 2, data: this.data, collapsedSections: [...this.collapsed] });
  }
}
