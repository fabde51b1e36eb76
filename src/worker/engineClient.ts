/**
 * The client side of the engine worker (no `vscode` import): used by the extension, the tests and the benchmark.
 *
 * - `request(method, params)` sends one request of the engine protocol and resolves with its validated result (typed
 *   by the method's name), or rejects with an EngineError {code, message}; an AbortSignal cancels it (the request then
 *   rejects with code "cancelled"); progress goes to `onProgress`.
 * - A worker that crashes (an uncaught error, running out of memory, an unexpected exit) is restarted once: requests
 *   in flight are rejected with code "crashed", listeners hear `willRestart = true`, and the last model loaded is
 *   loaded again in the new worker before any later request runs (with the adapters last set on it, if any). A second
 *   crash is final: listeners hear `willRestart = false` and every later request is rejected.
 */
import { Worker, type ResourceLimits } from "node:worker_threads";
import { createMessageConnection, PortMessageReader, PortMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { EngineError } from "../core/engineError";
import type { LogLevel } from "../core/logger";
import type { EngineMethod, EngineParams, EngineResult } from "../protocol/engine";
import { onEngineNotification, sendEngineRequest, type SendOptions } from "./engineRpc";

export { EngineError } from "../core/engineError";

export interface EngineClientOptions {
  /** Memory limits of the worker's JavaScript heap (not onnxruntime's native memory). */
  resourceLimits?: ResourceLimits;
}

export type EngineRequestOptions = SendOptions;

interface Running {
  worker: Worker;
  connection: MessageConnection;
  /** Rejects the requests in flight on this worker (it crashed or the client was disposed). */
  abandon: (error: EngineError) => void;
}

export class EngineClient {
  private running: Running;
  private crashes = 0;
  private disposed = false;
  private lastLoad: EngineParams<"loadModel"> | null = null;
  /** The adapters last set successfully since lastLoad, restored with it after a crash. */
  private lastAdapters: EngineParams<"setAdapters"> | null = null;
  private readonly crashListeners = new Set<(err: Error, willRestart: boolean) => void>();
  private readonly inFlight = new Set<(error: EngineError) => void>();

  constructor(
    private readonly workerScript: string,
    private readonly log: (level: LogLevel, message: string) => void,
    private readonly options: EngineClientOptions = {},
  ) {
    this.running = this.start();
  }

  private start(): Running {
    const worker = new Worker(this.workerScript, this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {});
    const connection = createMessageConnection(new PortMessageReader(worker), new PortMessageWriter(worker));
    onEngineNotification(
      connection,
      "log",
      ({ level, message }) => this.log(level, message),
      (problem) => this.log("warn", `[engineClient] ignored an invalid message from the worker: ${problem}`),
    );
    connection.listen();
    let ended = false;
    const onEnd = (err: Error): void => {
      if (ended) return;
      ended = true;
      if (!this.disposed && worker === this.running.worker) this.crashed(err);
    };
    worker.on("error", (err) => onEnd(err));
    worker.on("exit", (code) => onEnd(new Error(`the engine worker exited with code ${code}`)));
    return {
      worker,
      connection,
      abandon: (error) => {
        for (const reject of [...this.inFlight]) reject(error);
        this.inFlight.clear();
        connection.dispose();
      },
    };
  }

  private crashed(err: Error): void {
    this.crashes++;
    const willRestart = this.crashes === 1;
    this.log("error", `[engineClient] the engine worker crashed (${err.message})${willRestart ? "; restarting it once" : "; it will not be restarted"}`);
    this.running.abandon(new EngineError("crashed", `The engine worker crashed while working on this request (${err.message}).`));
    if (willRestart) {
      this.running = this.start();
      if (this.lastLoad !== null) {
        const reload = this.lastLoad;
        const adapters = this.lastAdapters;
        this.request("loadModel", reload).catch((e: unknown) =>
          this.log("error", `[engineClient] reloading the model after the crash failed: ${(e as Error).message}`),
        );
        if (adapters !== null)
          this.request("setAdapters", adapters).catch((e: unknown) =>
            this.log("error", `[engineClient] restoring the adapters after the crash failed: ${(e as Error).message}`),
          );
      }
    }
    for (const listener of [...this.crashListeners]) listener(err, willRestart);
  }

  request<M extends EngineMethod>(method: M, params: EngineParams<M>, options: EngineRequestOptions = {}): Promise<EngineResult<M>> {
    if (this.disposed) return Promise.reject(new EngineError("cancelled", "The engine client was disposed."));
    if (this.crashes >= 2) return Promise.reject(new EngineError("crashed", "The engine worker crashed twice and was not restarted."));
    const running = this.running;
    return new Promise<EngineResult<M>>((resolve, reject) => {
      let settled = false;
      const abandon = (error: EngineError): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      this.inFlight.add(abandon);
      sendEngineRequest(running.connection, method, params, options).then(
        (result) => {
          this.inFlight.delete(abandon);
          if (settled) return;
          settled = true;
          if (method === "loadModel") {
            this.lastLoad = params as EngineParams<"loadModel">;
            this.lastAdapters = null;
          }
          if (method === "setAdapters") this.lastAdapters = params as EngineParams<"setAdapters">;
          resolve(result);
        },
        (error: unknown) => {
          this.inFlight.delete(abandon);
          abandon(error instanceof EngineError ? error : new EngineError("internal", String(error)));
        },
      );
    });
  }

  onDidCrash(listener: (err: Error, willRestart: boolean) => void): { dispose(): void } {
    this.crashListeners.add(listener);
    return { dispose: () => this.crashListeners.delete(listener) };
  }

  /** Whether a second crash stopped the engine for good. */
  get stopped(): boolean {
    return this.crashes >= 2;
  }

  /**
   * Ends the worker as a crash would (tests of what the user sees after a crash). Not a way to stop the engine:
   * that is dispose().
   */
  simulateCrash(): void {
    if (!this.disposed) void this.running.worker.terminate();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.running.abandon(new EngineError("cancelled", "The engine client was disposed."));
    this.crashListeners.clear();
    await this.running.worker.terminate();
  }
}
