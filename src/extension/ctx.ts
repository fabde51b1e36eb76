/**
 * The one owner of the extension's lifetimes (rust-analyzer's `ctx.ts`): `LensContext` holds the typed
 * config, the log, the status bar, the decorations, the panel, the document scorer and the engine, and fans each
 * scoring out to the views. What it delegates: which model runs (modelPolicy.ts), what the user is told
 * (userNotifications.ts), what a settings change does (settingsReactions.ts), which editor the status bar describes
 * (editorStatus.ts).
 *
 * Two lifetimes are kept apart:
 *  - extension lifetime (`extensionLifetime`): log, status bar, decoration types, panel, hover provider,
 *    commands and event listeners; disposed on deactivate;
 *  - engine lifetime (`engineLifetime`): the worker and the model loaded in it; created on first use
 *    (activation never starts the worker, so it never loads onnxruntime) and disposed to restart the
 *    engine when a setting fixed at start changes, or after the worker crashed twice.
 */
import { panelId } from "./panel/panelIds";
import * as path from "node:path";
import * as vscode from "vscode";
import type { ModelInfo } from "../core/types";
import { isEngineError } from "../core/engineError";
import type { AdapterList, AdapterSelection, AdaptersChanged, ScoreResult } from "../protocol/engine";
import { LensPanel } from "./panel/lensPanel";
import { scoreOptionsFrom, type LensConfig, type ParsedConfig } from "./config";
import { DisposableStore } from "./disposableStore";
import { DocumentScorer, baseName, type ScorerHost } from "./documentScorer";
import type { DocumentScoreState } from "./documentScoreState";
import { EngineSession } from "./engineSession";
import { LoraAdapters } from "./loraAdapters";
import { LoraPanelSection } from "./loraPanelSection";
import { AUTO_SCORE_SCHEMES, selectionMetrics, statusEditor } from "./editorStatus";
import { ModelPolicy } from "./modelPolicy";
import { applyConfigChange, changeOf, readConfig, type SettingsHost } from "./settingsReactions";
import { UserNotifications } from "./userNotifications";
import { PerplexityStatusBar } from "./statusBar";
import { TokenDecorations } from "./tokenDecorations";
import { TokenHoverProvider } from "./tokenHoverProvider";

export const COMMANDS = {
  scoreDocument: "perplexityLens.scoreDocument",
  scoreSelection: "perplexityLens.scoreSelection",
  toggleLiveScoring: "perplexityLens.toggleLiveScoring",
  toggleHighlights: "perplexityLens.toggleHighlights",
  clearHighlights: "perplexityLens.clearHighlights",
  selectModel: "perplexityLens.selectModel",
  showPanel: "perplexityLens.showPanel",
  openPanelInTab: "perplexityLens.openPanelInTab",
  exportTokenScores: "perplexityLens.exportTokenScores",
  showLog: "perplexityLens.showLog",
  toggleLoraAdapter: "perplexityLens.toggleLoraAdapter",
  setLoraScale: "perplexityLens.setLoraScale",
} as const;

/** Context key set while any document has scores (enables Clear Highlights and Export in the palette). */
const HAS_SCORES_CONTEXT_KEY = "perplexityLens.hasScores";

export { readConfig } from "./settingsReactions";

export class LensContext implements vscode.Disposable, ScorerHost {
  private readonly extensionLifetime: DisposableStore;
  private readonly engineLifetime: DisposableStore;
  private engine: EngineSession | undefined;
  private parsedConfig: ParsedConfig;

  readonly scorer: DocumentScorer;
  readonly panel: LensPanel;
  /** The active LoRA adapters: one state for the palette, the status bar and the panel. */
  readonly adapters: LoraAdapters;
  /** The panel's LoRA section: switches go through applyAdapters, it redraws from `adapters.onDidChange`. */
  readonly loraSection: LoraPanelSection;
  readonly notifications: UserNotifications;
  private readonly models: ModelPolicy;
  private readonly decorations: TokenDecorations;
  private readonly statusBar: PerplexityStatusBar;

  private highlightsShown = true;
  /** Why live scoring is suspended (the engine stopped after a second crash); cleared by Score Document. */
  private liveSuspendedReason: string | undefined;

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.extensionLifetime = new DisposableStore((error) => log.error(`[ctx] dispose failed: ${String(error)}`));
    this.engineLifetime = this.extensionLifetime.add(new DisposableStore((error) => log.error(`[ctx] engine dispose failed: ${String(error)}`)));
    this.parsedConfig = readConfig();
    this.logConfigProblems();
    this.notifications = new UserNotifications(log, COMMANDS.selectModel);
    this.scorer = this.extensionLifetime.add(new DocumentScorer(this));
    this.adapters = this.extensionLifetime.add(new LoraAdapters(log));
    this.models = new ModelPolicy({
      config: () => this.config,
      embeddedModelsRoot: this.embeddedModelsRoot,
      adapters: this.adapters,
      notifications: this.notifications,
      log,
      modelChanged: (session, model) => {
        this.adapters.modelLoadedIn(session);
        this.panel.showModel(model);
        void this.loraSection.refreshList();
      },
      statusChanged: () => this.refreshStatus(),
    });
    this.extensionLifetime.add(this.adapters.onDidChange(() => this.refreshStatus()));
    this.decorations = this.extensionLifetime.add(new TokenDecorations(this.config));
    this.statusBar = this.extensionLifetime.add(new PerplexityStatusBar(COMMANDS.showPanel));
    this.panel = this.extensionLifetime.add(
      new LensPanel(extension.extensionUri, log, {
        revealToken: (docId, index) => void this.revealToken(docId, index),
        setAdapter: (change) => void this.loraSection.setAdapter(change),
        pageReady: () => this.loraSection.adaptersChanged(),
      }),
    );
    this.extensionLifetime.add(this.panel.register());
    this.loraSection = this.extensionLifetime.add(
      new LoraPanelSection({
        // The panel never starts the engine: adapters are listed once a model is loaded.
        listAdapters: async () => (this.engine?.model ? this.listAdapters() : undefined),
        applyAdapters: (selections) => this.applyAdapters(selections),
        scoreBase: async (docUri, version, text, options) => {
          const { session } = await this.readyEngine();
          return session.request("scoreBase", { docId: docUri, version, text, options });
        },
        adapters: this.adapters,
        panelOpen: () => this.panel.isOpen,
        show: (view) => this.panel.showAdapters(view),
        log,
      }),
    );
    this.extensionLifetime.add(this.adapters.onDidChange(() => this.loraSection.adaptersChanged()));
    this.extensionLifetime.add(
      vscode.languages.registerHoverProvider(
        "*",
        new TokenHoverProvider(
          (document) => this.scorer.get(document.uri),
          () => this.highlightsShown,
        ),
      ),
    );
    this.listen();
    void vscode.commands.executeCommand("setContext", HAS_SCORES_CONTEXT_KEY, false);
    this.refreshStatus();
    for (const editor of vscode.window.visibleTextEditors) this.maybeAutoScore(editor);
  }

  get config(): LensConfig {
    return this.parsedConfig.config;
  }

  get highlightsVisible(): boolean {
    return this.highlightsShown;
  }

  /** Folder of the embedded models inside the extension. */
  get embeddedModelsRoot(): string {
    return path.join(this.extension.extensionPath, "models");
  }

  /** Adds a disposable with the extension's lifetime. */
  register<T extends vscode.Disposable>(disposable: T): T {
    return this.extensionLifetime.add(disposable);
  }

  // ---------------------------------------------------------------- engine lifetime

  private startEngine(): EngineSession {
    const settings = { threads: this.config.engineThreads, kvBudgetBytes: this.config.kvCacheBudgetMB * 1024 * 1024 };
    const workerScript = path.join(this.extension.extensionPath, "dist", "worker.js");
    const session = new EngineSession(workerScript, this.log, settings, (error, willRestart) => this.engineCrashed(session, error, willRestart));
    this.engine = this.engineLifetime.add(session);
    return session;
  }

  /** Stops the worker; the next scoring starts a new one. Every document's KV cache goes with it. */
  restartEngine(reason: string): void {
    if (!this.engine) return;
    this.log.info(`[ctx] restarting the engine: ${reason}`);
    this.engineLifetime.clear();
    this.engine = undefined;
  }

  /** ScorerHost: the engine with the configured model loaded (loading it, or starting the worker, when needed). */
  readyEngine(): Promise<{ session: EngineSession; model: ModelInfo }> {
    const session = this.engine && !this.engine.stopped ? this.engine : this.startEngine();
    return this.models.ready(session);
  }

  /**
   * Makes `selections` the active LoRA adapters (the command palette and the panel both come here):
   * the engine switches them and drops every KV cache, the panel is told why, scored documents are rescored.
   * Rejects with the engine's one sentence; the previous set then stays active.
   */
  async applyAdapters(selections: AdapterSelection[]): Promise<AdaptersChanged> {
    const { session } = await this.readyEngine();
    const answer = await this.adapters.set(session, selections, this.config.adapterFolders);
    this.panel.showCache(answer.cache, "adapter changed");
    this.rescoreAll();
    return answer;
  }

  /** The adapters the loaded model can use (its adapters/ folder, then perplexityLens.adapterFolders). */
  async listAdapters(): Promise<AdapterList & { modelName: string }> {
    const { session, model } = await this.readyEngine();
    const list = await this.adapters.list(session, this.config.adapterFolders);
    for (const problem of list.problems) this.log.warn(`[lora] ${problem}`);
    return { ...list, modelName: model.name };
  }

  private engineCrashed(session: EngineSession, error: Error, willRestart: boolean): void {
    if (session !== this.engine) return;
    this.adapters.sessionRestarted(session);
    if (willRestart) {
      const message = `The Perplexity Lens engine stopped (${error.message}) and was restarted; results in flight were discarded.`;
      this.log.error(`[ctx] ${message}`);
      void this.notifications.showFailure(message, false);
      return;
    }
    this.liveSuspendedReason = "the engine crashed twice";
    this.scorer.cancelPending();
    this.engineLifetime.clear();
    this.engine = undefined;
    const message = `The Perplexity Lens engine crashed again (${error.message}) and was stopped; live scoring is off until you run Score Document.`;
    this.log.error(`[ctx] ${message}`);
    void this.notifications.showFailure(message, false);
    this.refreshStatus();
  }

  /** Ends the engine worker as a crash would; false when no engine runs. For the integration tests' hook only. */
  simulateEngineCrash(): boolean {
    if (!this.engine) return false;
    this.engine.simulateCrash();
    return true;
  }

  /** Clears the suspension after a double crash (Score Document, Toggle Live Scoring). */
  resumeAfterUserAction(): void {
    if (this.liveSuspendedReason) {
      this.log.info("[ctx] live scoring resumed by the user");
      this.liveSuspendedReason = undefined;
    }
    this.notifications.forgetShown();
  }

  /** The model in use, if the engine has loaded one. */
  get currentModel(): ModelInfo | undefined {
    return this.engine?.model;
  }

  /** The running engine, if any (commands that only make sense with a loaded model use it). */
  get runningEngine(): EngineSession | undefined {
    return this.engine;
  }

  // ---------------------------------------------------------------- ScorerHost

  didChange(state: DocumentScoreState, result?: ScoreResult): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === state.key) this.decorations.render(editor, state, this.config, this.highlightsShown);
    }
    if (result) {
      this.panel.showScore(state.key, baseName(state.uri), result);
      this.loraSection.documentScored({
        docUri: state.key,
        fileName: baseName(state.uri),
        modelPath: state.model?.path ?? "",
        text: state.scoredText,
        options: scoreOptionsFrom(this.config),
        result,
      });
      void vscode.commands.executeCommand("setContext", HAS_SCORES_CONTEXT_KEY, true);
    }
    if (statusEditor()?.document.uri.toString() === state.key) this.refreshStatus();
  }

  didFail(state: DocumentScoreState, message: string, explicit: boolean): void {
    state.error = message;
    this.didChange(state);
    if (explicit) void this.notifications.showFailure(message, true);
    else this.notifications.showFailureOnce(message, true);
  }

  notify(message: string): void {
    this.notifications.notify(message);
  }

  didRelease(uri: vscode.Uri): void {
    const docId = uri.toString();
    void this.engine?.request("releaseDocument", { docId }).catch((error: unknown) => {
      if (!(isEngineError(error) && error.code === "cancelled")) this.log.debug(`[ctx] releasing ${docId} failed: ${errorMessage(error)}`);
    });
    this.panel.forgetDocument(docId);
    this.loraSection.forgetDocument(docId);
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === docId) this.decorations.clear(editor);
    }
    void vscode.commands.executeCommand("setContext", HAS_SCORES_CONTEXT_KEY, this.scorer.all().length > 0);
    this.refreshStatus();
  }

  /** Shows an error with the actions that can fix it (for commands: guardedCommand.ts). */
  showFailure(message: string, offerModelActions: boolean): Promise<void> {
    return this.notifications.showFailure(message, offerModelActions);
  }

  // ---------------------------------------------------------------- highlights, status

  setHighlightsVisible(visible: boolean): void {
    this.highlightsShown = visible;
    this.redrawAll();
    this.refreshStatus();
  }

  redrawAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      this.decorations.render(editor, this.scorer.get(editor.document.uri), this.config, this.highlightsShown);
    }
  }

  refreshStatus(): void {
    const editor = statusEditor();
    const state = editor ? this.scorer.get(editor.document.uri) : undefined;
    this.statusBar.update({
      state,
      selection: editor && state ? selectionMetrics(editor, state) : undefined,
      model: this.engine?.model,
      loadingModel: this.models.loadingModelName,
      liveScoring: this.config.liveScoring,
      liveSuspended: this.liveSuspendedReason,
      highlightsVisible: this.highlightsShown,
      adapters: this.adapters.effective,
      hasEditor: editor !== undefined,
      colorMode: this.config.colorMode,
    });
  }

  /**
   * Reveals and selects a token the panel names: token `index` of the scored document whose panel id is `docId`. Only
   * documents this window scored can be named, so a message cannot open a file of its own choosing.
   */
  private async revealToken(docId: string, index: number): Promise<void> {
    const state = this.scorer.all().find((s) => panelId("doc", s.key) === docId);
    const token = state?.result?.tokens[index];
    if (state === undefined || token === undefined) {
      this.log.warn(`[panel] revealToken names no token this window scored (${index} of ${docId}); ignored.`);
      return;
    }
    let from = token.start + state.baseOffset;
    let to = token.end + state.baseOffset;
    if (state.stale) {
      // The text moved since: find where that token is now, if an edit did not remove it.
      const placed = state.tokens.find((t) => t.index === index);
      if (!placed) {
        void vscode.window.showInformationMessage("That token was edited since the document was scored.");
        return;
      }
      from = placed.start;
      to = placed.end;
    }
    const document = await vscode.workspace.openTextDocument(state.uri);
    const editor = await vscode.window.showTextDocument(document, { preserveFocus: false });
    const range = new vscode.Range(document.positionAt(from), document.positionAt(to));
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  // ---------------------------------------------------------------- events

  private listen(): void {
    const on = <T>(event: vscode.Event<T>, listener: (e: T) => void): void => {
      this.extensionLifetime.add(event(listener));
    };
    on(vscode.workspace.onDidChangeTextDocument, (event) => {
      const live = this.config.liveScoring && this.liveSuspendedReason === undefined;
      this.scorer.didEdit(event, live);
    });
    on(vscode.workspace.onDidCloseTextDocument, (document) => this.scorer.release(document.uri));
    on(vscode.window.onDidChangeActiveTextEditor, (editor) => {
      if (editor) this.maybeAutoScore(editor);
      this.refreshStatus();
    });
    on(vscode.window.onDidChangeVisibleTextEditors, (editors) => {
      // A newly shown editor gets its document's current results at once.
      for (const editor of editors) {
        this.decorations.render(editor, this.scorer.get(editor.document.uri), this.config, this.highlightsShown);
        this.maybeAutoScore(editor);
      }
    });
    on(vscode.window.onDidChangeTextEditorSelection, (event) => {
      if (event.textEditor === statusEditor()) this.refreshStatus();
    });
    on(vscode.window.onDidChangeTextEditorVisibleRanges, (event) => {
      if (this.decorations.needsRedrawAfterScroll(event.textEditor)) {
        this.decorations.render(event.textEditor, this.scorer.get(event.textEditor.document.uri), this.config, this.highlightsShown);
      }
    });
    on(vscode.workspace.onDidChangeConfiguration, (event) => {
      const change = changeOf(event);
      if (change) applyConfigChange(this.settingsHost, change.effect, change.changed);
    });
    on(vscode.workspace.onDidGrantWorkspaceTrust, () => {
      this.log.info("[config] the workspace is trusted now: its model and adapter folder settings apply");
      applyConfigChange(this.settingsHost, "reloadModel", ["model", "modelFolders", "adapterFolders"]);
    });
  }

  private maybeAutoScore(editor: vscode.TextEditor): void {
    const document = editor.document;
    if (
      this.liveSuspendedReason === undefined &&
      this.config.autoScoreLanguages.includes(document.languageId) &&
      AUTO_SCORE_SCHEMES.has(document.uri.scheme) &&
      !this.scorer.get(document.uri)
    ) {
      void this.scorer.score(document, "auto");
    }
  }

  /** What settingsReactions.ts changes when a setting changes. */
  private get settingsHost(): SettingsHost {
    return {
      log: this.log,
      replaceConfig: (parsed: ParsedConfig): LensConfig => {
        const previous = this.config;
        this.parsedConfig = parsed;
        this.notifications.forgetShown();
        return previous;
      },
      restartEngine: (reason: string) => this.restartEngine(reason),
      rescoreAll: () => this.rescoreAll(),
      modelSettingsChanged: () => {
        this.models.forgetFailure();
        this.rescoreAll();
        // With nothing scored, load the new model anyway so the panel and status bar show it.
        if (this.scorer.all().length === 0 && this.engine) void this.readyEngine().catch((error: unknown) => this.log.error(`[ctx] ${errorMessage(error)}`));
      },
      adapterFoldersChanged: () => void this.loraSection.refreshList(),
      refreshViews: () => {
        if (!this.config.liveScoring) this.scorer.cancelPending();
        this.decorations.updateStyle(this.config);
        for (const state of this.scorer.all()) this.scorer.refreshAnnotations(state);
        this.redrawAll();
        this.refreshStatus();
      },
    };
  }

  /** Rescores every document that has scores, with the current settings. */
  rescoreAll(): void {
    for (const state of this.scorer.all()) {
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === state.key);
      if (document) void this.scorer.score(document, "settings");
    }
  }

  private logConfigProblems(): void {
    for (const problem of this.parsedConfig.problems) this.log.warn(`[config] ${problem}`);
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Engine first (terminates the worker), then everything else; the store disposes newest first.
    this.engineLifetime.dispose();
    this.engine = undefined;
    for (const editor of vscode.window.visibleTextEditors) this.decorations.clear(editor);
    this.extensionLifetime.dispose();
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
