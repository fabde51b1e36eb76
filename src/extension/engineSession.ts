/**
 * One engine worker and the model loaded in it: everything with the engine's lifetime. The context
 * creates it on first use (so activation never starts a worker or loads onnxruntime) and disposes it to
 * restart the engine (thread count and KV budget are fixed per worker).
 */
import type * as vscode from "vscode";
import type { ModelInfo } from "../core/types";
import type { EngineMethod, EngineParams, EngineResult } from "../protocol/engine";
import { EngineClient, type EngineRequestOptions } from "../worker/engineClient";
import type { ModelEntry } from "./modelCatalog";

export interface EngineSettings {
  threads: number;
  kvBudgetBytes: number;
}

export type { EngineRequestOptions } from "../worker/engineClient";

export class EngineSession implements vscode.Disposable {
  private readonly client: EngineClient;
  private loadedModel: ModelInfo | undefined;
  private loading: { path: string; promise: Promise<ModelInfo> } | undefined;
  private disposed = false;

  constructor(
    workerScript: string,
    private readonly log: vscode.LogOutputChannel,
    readonly settings: EngineSettings,
    onCrash: (error: Error, willRestart: boolean) => void,
  ) {
    const started = Date.now();
    this.client = new EngineClient(workerScript, (level, message) => log[level](message));
    this.client.onDidCrash(onCrash);
    log.debug(`[engine] worker started in ${Date.now() - started} ms (${settings.threads} thread(s), KV budget ${settings.kvBudgetBytes} bytes)`);
  }

  /** The model in use, if one loaded. */
  get model(): ModelInfo | undefined {
    return this.loadedModel;
  }

  /** Ends the worker as a crash would; only the integration tests' hook calls it (see extension.ts). */
  simulateCrash(): void {
    this.client.simulateCrash();
  }

  /** Whether two crashes stopped the worker for good. */
  get stopped(): boolean {
    return this.client.stopped;
  }

  /**
   * Loads `entry` unless it is the model in use (or already loading). When loading fails the engine keeps
   * the previous model, and so does this session; the promise rejects with the engine's one-sentence error.
   */
  ensureModel(entry: ModelEntry): Promise<ModelInfo> {
    if (this.loadedModel && this.loadedModel.path === entry.path) return Promise.resolve(this.loadedModel);
    if (this.loading?.path === entry.path) return this.loading.promise;
    const started = Date.now();
    this.log.info(`[engine] loading model ${entry.name} from ${entry.path}`);
    const promise = this.client
      .request("loadModel", {
        path: entry.path,
        source: entry.source,
        kvBudgetBytes: this.settings.kvBudgetBytes,
        threads: this.settings.threads,
      })
      .then((model) => {
        this.loadedModel = model;
        this.log.info(
          `[engine] loaded ${model.name} (${model.architecture}, ${model.parameters} parameters, vocabulary ${model.vocabSize}, context ${model.contextLength}) in ${Date.now() - started} ms`,
        );
        return model;
      })
      .finally(() => {
        if (this.loading?.promise === promise) this.loading = undefined;
      });
    this.loading = { path: entry.path, promise };
    return promise;
  }

  request<M extends EngineMethod>(method: M, params: EngineParams<M>, options: EngineRequestOptions = {}): Promise<EngineResult<M>> {
    return this.client.request(method, params, options);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Terminating the worker frees the model and every KV cache at once.
    void this.client.dispose().catch((error: unknown) => this.log.warn(`[engine] stopping the worker failed: ${String(error)}`));
  }
}
