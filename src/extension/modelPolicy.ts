/**
 * Which model the engine runs, and what happens when the configured one cannot be had: the configured model is
 * resolved and loaded on demand; when it fails and another model is loaded, scoring goes on with that one (said
 * once); a model that failed is not retried on every keystroke until the settings change; adapters are forgotten
 * when the model changes and sent again to a restarted engine.
 */
import type * as vscode from "vscode";
import type { ModelInfo } from "../core/types";
import type { LensConfig } from "./config";
import type { EngineSession } from "./engineSession";
import type { LoraAdapters } from "./loraAdapters";
import { resolveModel, type ModelEntry } from "./modelCatalog";
import type { UserNotifications } from "./userNotifications";

export interface ModelPolicyHost {
  config(): LensConfig;
  readonly embeddedModelsRoot: string;
  readonly adapters: LoraAdapters;
  readonly notifications: UserNotifications;
  readonly log: vscode.LogOutputChannel;
  /** A different model was loaded (the panel shows it, the adapter list is read again). */
  modelChanged(session: EngineSession, model: ModelInfo): void;
  /** The status bar has something new to say (a model is loading, or stopped loading). */
  statusChanged(): void;
}

export interface ReadyEngine {
  session: EngineSession;
  model: ModelInfo;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ModelPolicy {
  /** The model being loaded, for the status bar. */
  private loading: string | undefined;
  /** A model that failed to load, so live rescoring does not retry it on every keystroke; cleared on settings change. */
  private failedModel: { path: string; message: string } | undefined;
  /** The model documents were last scored with; adapters are cleared when it changes. */
  private lastModelPath: string | undefined;

  constructor(private readonly host: ModelPolicyHost) {}

  get loadingModelName(): string | undefined {
    return this.loading;
  }

  /** The settings changed: a model that failed may be tried again. */
  forgetFailure(): void {
    this.failedModel = undefined;
  }

  /** `session` with the configured model loaded (or the previous one, when the configured one cannot be had). */
  async ready(session: EngineSession): Promise<ReadyEngine> {
    const config = this.host.config();
    let entry: ModelEntry;
    try {
      entry = await resolveModel(config.model, this.host.embeddedModelsRoot, config.modelFolders);
    } catch (error) {
      if (session.model) return this.keepPreviousModel(session, session.model, error);
      throw error;
    }
    if (session.model?.path === entry.path) return this.withAdapters(session, session.model);
    if (this.failedModel?.path === entry.path && session.model) return this.withAdapters(session, session.model);
    this.loading = entry.name;
    this.host.statusChanged();
    try {
      const previous = session.model;
      const model = await session.ensureModel(entry);
      this.failedModel = undefined;
      if (previous?.path !== model.path) this.host.modelChanged(session, model);
      return await this.withAdapters(session, model);
    } catch (error) {
      this.failedModel = { path: entry.path, message: messageOf(error) };
      if (session.model) return this.keepPreviousModel(session, session.model, error);
      throw error;
    } finally {
      this.loading = undefined;
      this.host.statusChanged();
    }
  }

  /** Clears the adapters when the model changed, and sends them to a restarted engine. */
  private async withAdapters(session: EngineSession, model: ModelInfo): Promise<ReadyEngine> {
    const adapters = this.host.adapters;
    if (this.lastModelPath !== undefined && this.lastModelPath !== model.path) adapters.forget();
    this.lastModelPath = model.path;
    if (adapters.current.active.length > 0) {
      try {
        await adapters.reapply(session, this.host.config().adapterFolders);
      } catch (error) {
        void this.host.notifications.showFailure(`The LoRA adapters could not be applied again and were turned off: ${messageOf(error)}`, false);
      }
    }
    return { session, model };
  }

  /** The configured model cannot be had, but one is loaded: say so once and keep scoring with it. */
  private keepPreviousModel(session: EngineSession, model: ModelInfo, error: unknown): ReadyEngine {
    const message = `${messageOf(error)} Perplexity Lens keeps using ${model.name}.`;
    if (this.host.notifications.showFailureOnce(message, true)) this.host.log.error(`[ctx] ${message}`);
    return { session, model };
  }
}
