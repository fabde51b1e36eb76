import * as vscode from "vscode";
import { panelId } from "./panelIds";
import type { KvCacheStats, ModelInfo, RescoreInfo } from "../../core/types";
import type { ScoreResult } from "../../protocol/engine";
import {
  PANEL_SECTION_NAMES,
  type AdaptersView,
  type CacheView,
  type ComparisonView,
  type DocumentView,
  type ExtToWebviewMessage,
  type PanelData,
  type PanelSectionName,
  type SetAdapterMessage,
  type WebviewToExtMessage,
} from "../../protocol/webview";
import { documentStats } from "../../core/documentStats";
import { kvBytesBreakdown } from "../../core/kvBytes";
import { RescoreHistory } from "../../core/rescoreHistory";
import { LatestWinsThrottle } from "./latestWinsThrottle";
import { panelHtml, panelWebviewOptions } from "./panelHtml";
import { WebviewConnection } from "./webviewConnection";

/**
 * What the panel asks the rest of the extension to do. The LoRA section (issue "LoRA adapters…") adds
 * `setAdapter`; the comparison view (issue "Compare tokenizers…") fires `onDidRequestComparison`.
 */
export interface LensPanelHandlers {
  /** Reveal and select [start, end) (UTF-16 offsets) in the document with this URI. */
  revealToken(docId: string, index: number): void;
  /** The LoRA section's switch or scale slider moved: apply the new set (LensContext.applyAdapters). */
  setAdapter(change: SetAdapterMessage): void;
  /** A page (view or tab) loaded and was sent every section: work done only for an open panel can start. */
  pageReady?(): void;
}

type Section = PanelSectionName;

/** A score result not yet turned into what the panel shows: only the latest one per flush is. */
interface PendingScore {
  docUri: string;
  fileName: string;
  result: ScoreResult;
  at: number;
}

/** How often at most the panel is updated while the user types. */
const updateIntervalMillis = 200;
const panelTitle = "Perplexity Lens";

/**
 * The Perplexity Lens panel: the same UI as a view in the "Perplexity Lens" activity-bar container and,
 * on demand, as an editor tab (restored after a reload by a serializer). Keeps the latest data of
 * every section; sends each webview everything when it says `ready`, then only what changed, at most
 * every 200 ms.
 *
 * Contributions it needs in package.json:
 *  - `viewsContainers.activitybar`: `{ id: LensPanel.viewContainerId, title: "Perplexity Lens", icon }`
 *  - `views[LensPanel.viewContainerId]`: `{ type: "webview", id: LensPanel.viewId, name: "Lens" }`
 *  - `activationEvents`: `onWebviewPanel:${LensPanel.panelViewType}` so the tab is restored after a reload.
 */
export class LensPanel implements vscode.Disposable {
  static readonly viewContainerId = "perplexityLens";
  static readonly viewId = "perplexityLens.panel";
  static readonly panelViewType = "perplexityLens.panelTab";

  private readonly connections = new Set<WebviewConnection>();
  private readonly registrations: vscode.Disposable[] = [];
  private tab: vscode.WebviewPanel | undefined;
  private disposed = false;

  private model: ModelInfo | null = null;
  private document: DocumentView | null = null;
  private pendingScore: PendingScore | null = null;
  private cacheStats: KvCacheStats | null = null;
  private cacheReason: string | null = null;
  private lastRescore: RescoreInfo | null = null;
  private readonly history = new RescoreHistory(40);
  private comparison: ComparisonView | null = null;
  private adapters: AdaptersView | null = null;
  private readonly comparisonRequests = new vscode.EventEmitter<void>();
  /** The comparison view's "Compare…" button: the listener runs Compare Tokenizers (src/extension/compareTokenizers.ts). */
  readonly onDidRequestComparison = this.comparisonRequests.event;
  private readonly dirty = new Set<Section>();
  private readonly throttle = new LatestWinsThrottle(updateIntervalMillis, () => this.sendDirtySections());

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly handlers: LensPanelHandlers,
  ) {}

  /** Registers the view provider and the editor-tab serializer. */
  register(): vscode.Disposable {
    const registered = [
      vscode.window.registerWebviewViewProvider(
        LensPanel.viewId,
        { resolveWebviewView: (view) => this.resolveView(view) },
        // State comes back through getState/setState: no need to keep a hidden view alive.
        { webviewOptions: { retainContextWhenHidden: false } },
      ),
      vscode.window.registerWebviewPanelSerializer(LensPanel.panelViewType, {
        deserializeWebviewPanel: async (panel) => this.adoptTab(panel),
      }),
    ];
    this.registrations.push(...registered);
    return new vscode.Disposable(() => {
      for (const registration of registered) registration.dispose();
    });
  }

  /** Focuses the view in the activity bar (VS Code provides `<viewId>.focus` for every view). */
  reveal(): void {
    void vscode.commands.executeCommand(`${LensPanel.viewId}.focus`);
  }

  /** Opens the panel as an editor tab beside the current editor, or reveals the open one. */
  showAsTab(): void {
    if (this.disposed) return;
    if (this.tab) {
      this.tab.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      LensPanel.panelViewType,
      panelTitle,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      panelWebviewOptions(this.extensionUri),
    );
    this.adoptTab(panel);
  }

  showModel(info: ModelInfo): void {
    const changed = this.model?.path !== info.path || this.model?.name !== info.name;
    this.model = info;
    // Reuse figures of another model's cache say nothing about this one.
    if (changed) {
      this.history.clear();
      this.lastRescore = null;
    }
    this.markDirty("model", "cache");
  }

  /** A new score for a document: the Document and KV-cache sections follow, throttled (latest wins). */
  showScore(docUri: string, fileName: string, result: ScoreResult): void {
    const at = Date.now();
    // Every rescore counts in the history, even those a throttled update skips.
    this.history.add(fileName, result.rescore, at);
    this.lastRescore = result.rescore;
    this.cacheStats = result.cache;
    this.cacheReason = null;
    this.pendingScore = { docUri, fileName, result, at };
    this.markDirty("document", "cache");
  }

  /**
   * New KV-cache counters outside a score. `reason` says why the cache was reset, e.g. "adapter
   * changed"; the panel shows it until the next score arrives.
   */
  showCache(stats: KvCacheStats, reason?: string): void {
    this.cacheStats = stats;
    this.cacheReason = reason ?? null;
    this.markDirty("cache");
  }

  /** A finished tokenizer comparison: the comparison view shows it (it stays until the next one). */
  showComparison(view: ComparisonView): void {
    this.comparison = view;
    this.markDirty("comparison");
  }

  /** The LoRA section: adapters, switches, mode and the document with and without them (loraPanelSection.ts). */
  showAdapters(view: AdaptersView): void {
    this.adapters = view;
    this.markDirty("adapters");
  }

  /** Whether a panel page (view or tab) is open, so work done only for the panel can be skipped otherwise. */
  get isOpen(): boolean {
    return this.connections.size > 0;
  }

  /** The document was closed: stop showing it if it is the one shown. */
  forgetDocument(docUri: string): void {
    if (this.pendingScore?.docUri === docUri) this.pendingScore = null;
    if (this.document?.docId === panelId("doc", docUri)) this.document = null;
    this.markDirty("document");
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.throttle.dispose();
    this.comparisonRequests.dispose();
    for (const connection of this.connections) connection.dispose();
    this.connections.clear();
    this.tab?.dispose();
    this.tab = undefined;
    for (const registration of this.registrations.splice(0)) registration.dispose();
  }

  // ---------------------------------------------------------------- webviews

  private resolveView(view: vscode.WebviewView): void {
    view.webview.options = panelWebviewOptions(this.extensionUri);
    view.webview.html = panelHtml(view.webview, this.extensionUri, panelTitle);
    const connection = this.connect(view.webview, "view");
    const visibility = view.onDidChangeVisibility(() => {
      if (!view.visible) connection.pageUnloaded();
    });
    view.onDidDispose(() => {
      visibility.dispose();
      this.disconnect(connection);
    });
  }

  private adoptTab(panel: vscode.WebviewPanel): void {
    if (this.disposed) {
      panel.dispose();
      return;
    }
    // A second restored tab (rare: two windows' state) replaces nothing; both stay live.
    this.tab ??= panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, "media", "lens.svg");
    panel.webview.options = panelWebviewOptions(this.extensionUri);
    panel.webview.html = panelHtml(panel.webview, this.extensionUri, panelTitle);
    const connection = this.connect(panel.webview, "tab");
    const viewState = panel.onDidChangeViewState(() => {
      if (!panel.visible) connection.pageUnloaded();
    });
    panel.onDidDispose(() => {
      viewState.dispose();
      this.disconnect(connection);
      if (this.tab === panel) this.tab = undefined;
    });
  }

  private connect(webview: vscode.Webview, label: string): WebviewConnection {
    const connection = new WebviewConnection(webview, label, this.log, (message, from) => this.receive(message, from));
    this.connections.add(connection);
    return connection;
  }

  private disconnect(connection: WebviewConnection): void {
    connection.dispose();
    this.connections.delete(connection);
  }

  private receive(message: WebviewToExtMessage, from: WebviewConnection): void {
    switch (message.type) {
      case "ready":
        this.log.debug(`[panel] ${from.label} ready`);
        this.materializePendingScore();
        for (const section of PANEL_SECTION_NAMES) from.post(this.sectionMessage(section));
        this.handlers.pageReady?.();
        return;
      case "revealToken":
        this.handlers.revealToken(message.data.docId, message.data.index);
        return;
      case "webviewError":
        this.log.error(`[panel] ${from.label}: ${message.data.message}`);
        return;
      case "compare":
        this.comparisonRequests.fire();
        return;
      case "setAdapter":
        this.handlers.setAdapter(message.data);
        return;
    }
  }

  // ---------------------------------------------------------------- updates

  private markDirty(...sections: Section[]): void {
    if (this.disposed) return;
    for (const section of sections) this.dirty.add(section);
    this.throttle.schedule();
  }

  private sendDirtySections(): void {
    this.materializePendingScore();
    const sections = [...this.dirty];
    this.dirty.clear();
    for (const section of sections) {
      const message = this.sectionMessage(section);
      for (const connection of this.connections) connection.post(message);
    }
  }

  /** Computes the statistics of the latest score only when they are about to be shown. */
  private materializePendingScore(): void {
    const pending = this.pendingScore;
    if (!pending) return;
    this.pendingScore = null;
    const started = Date.now();
    const { result } = pending;
    this.document = {
      docId: panelId("doc", pending.docUri),
      fileName: pending.fileName,
      version: result.version,
      modelName: result.model,
      method: result.method,
      metrics: result.metrics,
      stats: documentStats(result),
      scoredAt: pending.at,
    };
    const took = Date.now() - started;
    if (took > 20) this.log.debug(`[panel] statistics of ${result.tokens.length} tokens took ${took} ms`);
  }

  private cacheView(): CacheView | null {
    if (!this.cacheStats) return null;
    return {
      stats: this.cacheStats,
      reason: this.cacheReason,
      bytes: this.model ? kvBytesBreakdown(this.model, this.cacheStats.tokensCached) : null,
      lastRescore: this.lastRescore,
      history: [...this.history.records],
      historyTotals: this.history.aggregates(),
    };
  }

  /** The current data of every section (the cache view is derived when it is sent). */
  private readonly sectionData: { [K in Section]: () => PanelData[K] } = {
    model: () => this.model,
    document: () => this.document,
    cache: () => this.cacheView(),
    comparison: () => this.comparison,
    adapters: () => this.adapters,
  };

  private sectionMessage<K extends Section>(section: K): ExtToWebviewMessage {
    return { type: section, data: this.sectionData[section]() } as ExtToWebviewMessage;
  }
}
