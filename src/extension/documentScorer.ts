/**
 * Scoring documents through the engine: one state per open document, live rescoring after edits
 * (debounced, per document), stale results refused, progress for long runs, state released on close.
 */
import * as vscode from "vscode";
import type { ModelInfo } from "../core/types";
import { isEngineError } from "../core/engineError";
import { EDITOR_SIZE_SETTINGS, describeSizeLimit, limitDocumentSize } from "../core/documentSizeLimit";
import type { ScoreResult } from "../protocol/engine";
import { scoreOptionsFrom, type LensConfig } from "./config";
import { DocumentScoreState } from "./documentScoreState";
import type { EngineSession } from "./engineSession";
import { computeAnnotations } from "./inlineAnnotations";
import type { OffsetRange, TextEdit } from "./rangeMapping";
import { Rescheduler } from "./rescheduler";
import { ProgressNotification } from "./progressNotification";
import { VersionGate } from "./versionGate";

/** Why a document is scored: explicit commands report failures in a message, the others in the log and status bar. */
export type ScoreReason = "command" | "selection" | "live" | "auto" | "settings";

/** Runs shorter than this show no notification (the status bar spinner is enough). */

export interface ScorerHost {
  readonly log: vscode.LogOutputChannel;
  readonly config: LensConfig;
  /** The engine with the configured model loaded; rejects with one sentence when it cannot be had. */
  readyEngine(): Promise<{ session: EngineSession; model: ModelInfo }>;
  /** The state changed (scoring started or ended, result applied, edits moved ranges). */
  didChange(state: DocumentScoreState, result?: ScoreResult): void;
  /** A scoring failed; `explicit` when the user asked for it with a command. */
  didFail(state: DocumentScoreState, message: string, explicit: boolean): void;
  /** Tell the user something once (truncation, refusal). */
  notify(message: string): void;
  /** The document was released (closed or cleared). */
  didRelease(uri: vscode.Uri): void;
}

export class DocumentScorer implements vscode.Disposable {
  private readonly states = new Map<string, DocumentScoreState>();
  private readonly gate = new VersionGate();
  private readonly rescheduler = new Rescheduler<string>();
  private readonly inFlight = new Map<string, AbortController>();

  constructor(private readonly host: ScorerHost) {}

  get(uri: vscode.Uri): DocumentScoreState | undefined {
    return this.states.get(uri.toString());
  }

  all(): DocumentScoreState[] {
    return [...this.states.values()];
  }

  /**
   * Scores `document` (or `scope` of it, in document offsets). Resolves when the result was applied,
   * refused as stale, cancelled, or failed (failures are reported through the host, never thrown).
   */
  async score(document: vscode.TextDocument, reason: ScoreReason, scope?: OffsetRange): Promise<void> {
    const key = document.uri.toString();
    let state = this.states.get(key);
    if (!state) {
      state = new DocumentScoreState(document.uri);
      this.states.set(key, state);
    }
    this.rescheduler.cancel(key);
    if (reason === "command") state.scope = undefined;
    if (scope) state.scope = scope;
    const config = this.host.config;

    const fullText = document.getText();
    const base = state.scope ? Math.min(state.scope.start, fullText.length) : 0;
    let text = state.scope ? fullText.slice(base, Math.max(base, state.scope.end)) : fullText;
    state.truncatedFrom = undefined;
    const limited = limitDocumentSize(text, config.maxDocumentSize, config.oversizedDocuments);
    const what = state.scope ? "The selection" : `${baseName(document.uri)}`;
    const sentence = describeSizeLimit(what, limited, config.maxDocumentSize, EDITOR_SIZE_SETTINGS);
    if (limited.kind === "refused") {
      state.scoring = false;
      this.host.didFail(state, sentence ?? "", reason === "command" || reason === "selection");
      return;
    }
    if (limited.kind === "truncated") {
      state.truncatedFrom = limited.originalLength;
      text = limited.text;
      if (!state.truncationNoticeShown) {
        state.truncationNoticeShown = true;
        this.host.notify(sentence ?? "");
      }
    }

    const ticket = this.gate.begin(key, document.version);
    this.inFlight.get(key)?.abort();
    const controller = new AbortController();
    this.inFlight.set(key, controller);
    state.scoring = true;
    this.host.didChange(state);

    const started = Date.now();
    const progress = new ProgressNotification(`Perplexity Lens: scoring ${baseName(document.uri)}`, controller);
    try {
      const { session, model } = await this.host.readyEngine();
      if (!this.gate.isLatest(ticket) || controller.signal.aborted) return;
      const result = await session.request(
        "score",
        {
          docId: key,
          version: document.version,
          text,
          options: scoreOptionsFrom(config),
        },
        { signal: controller.signal, onProgress: (p) => progress.report(p) },
      );
      const currentVersion = document.isClosed ? undefined : document.version;
      if (!this.gate.accepts(ticket, currentVersion) || result.version !== ticket.version) {
        this.host.log.debug(`[scorer] dropped the result for ${baseName(document.uri)} v${result.version}: the document is at v${currentVersion ?? "closed"}`);
        return;
      }
      state.apply(result, text, base, model);
      this.refreshAnnotations(state);
      this.host.log.debug(
        `[scorer] ${baseName(document.uri)} v${result.version} (${reason}): ${result.tokens.length} tokens, reused ${result.rescore.tokensReused}, recomputed ${result.rescore.tokensRecomputed}, engine ${Math.round(result.rescore.millis)} ms, round trip ${Date.now() - started} ms`,
      );
      this.host.didChange(state, result);
    } catch (error) {
      if (isEngineError(error) && error.code === "cancelled") {
        this.host.log.debug(`[scorer] scoring ${baseName(document.uri)} v${ticket.version} was cancelled`);
        return;
      }
      if (!this.gate.isLatest(ticket)) return;
      const message = error instanceof Error ? error.message : String(error);
      if (isEngineError(error) && error.code === "crashed") {
        // The context tells the user about the crash once; this run's failure only goes to the state and the log.
        this.host.log.warn(`[scorer] scoring ${baseName(document.uri)} was lost in an engine crash`);
        state.error = message;
        return;
      }
      this.host.log.error(`[scorer] scoring ${baseName(document.uri)} failed: ${message}`);
      this.host.didFail(state, message, reason === "command" || reason === "selection");
    } finally {
      progress.end();
      if (this.gate.isLatest(ticket)) {
        this.gate.finish(ticket);
        this.inFlight.delete(key);
        state.scoring = false;
        this.host.didChange(state);
      }
    }
  }

  /** Recomputes the inline annotations of a current state (after a result, or when their settings change). */
  refreshAnnotations(state: DocumentScoreState): void {
    if (!state.result || state.stale) return;
    const config = this.host.config;
    state.annotations =
      config.annotationGranularity === "off"
        ? []
        : computeAnnotations(state.scoredText, state.result.tokens, state.baseOffset, config.annotationGranularity, config.annotationMinTokens);
  }

  /**
   * Moves a scored document's ranges with an edit at once, and schedules a rescore after the debounce
   * when `live`. Documents never scored are ignored.
   */
  didEdit(event: vscode.TextDocumentChangeEvent, live: boolean): void {
    const state = this.states.get(event.document.uri.toString());
    if (!state || event.contentChanges.length === 0) return;
    const edits: TextEdit[] = event.contentChanges.map((change) => ({
      offset: change.rangeOffset,
      deletedLength: change.rangeLength,
      insertedLength: change.text.length,
    }));
    state.applyEdits(edits);
    if (live) {
      state.scoring = true;
      const document = event.document;
      this.rescheduler.schedule(state.key, this.host.config.debounceMs, () => void this.score(document, "live"));
    }
    this.host.didChange(state);
  }

  /** Forgets a document (closed, or highlights cleared): cancels its work and frees the engine's state for it. */
  release(uri: vscode.Uri): void {
    const key = uri.toString();
    this.rescheduler.cancel(key);
    this.inFlight.get(key)?.abort();
    this.inFlight.delete(key);
    this.gate.forget(key);
    if (this.states.delete(key)) this.host.didRelease(uri);
  }

  releaseAll(): void {
    for (const state of this.all()) this.release(state.uri);
  }

  /** Stops pending live rescores (live scoring turned off); ranges stay where edits moved them. */
  cancelPending(): void {
    for (const state of this.states.values()) {
      if (this.rescheduler.isPending(state.key)) {
        this.rescheduler.cancel(state.key);
        state.scoring = false;
        this.host.didChange(state);
      }
    }
  }

  dispose(): void {
    this.rescheduler.dispose();
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    this.states.clear();
  }
}

export function baseName(uri: vscode.Uri): string {
  const path = uri.path;
  return path.slice(path.lastIndexOf("/") + 1) || uri.toString();
}
