/**
 * The client side of the engine worker (no `vscode` import): used by the extension, the tests and the benchmark.
 *
 * - `request` posts one request and resolves with its answer, or rejects with an EngineError {code, message};
 *   an AbortSignal sends `cancel` (the request then rejects with code "cancelled"); progress goes to `onProgress`.
 * - A worker that crashes (an uncaught error, running out of memory, an unexpected exit) is restarted once: requests
 *   in flight are rejected with code "crashed", listeners hear `willRestart = true`, and the last model loaded is
 *   loaded again in the new worker before any later request runs (with the adapters last set on it, if any). A second crash is final: listeners hear
 *   `willRestart = false` and every later request is rejected.
 */
import { Worker, type ResourceLimits } from "node:worker_threads";
import { EngineError } from "../core/engineError";
import {
  isWorkerToExtMessage,
  type DistributiveOmit,
  type EngineAnswer,
  type EngineRequest,
  type LoadModelRequest,
  type SetAdaptersRequest,
  type LogMessage,
  type ProgressStep,
} from "../protocol/engine";

export { EngineError } from "../core/engineError";

interface Pending {
  resolve(answer: EngineAnswer): void;
  reject(error: EngineError): void;
  onProgress?: (done: number, total: number, step?: ProgressStep) => void;
  cleanup(): void;
}

export interface EngineClientOptions {
  /** Memory limits of the worker's JavaScript heap (not onnxruntime's native memory). */
  resourceLimits?: ResourceLimits;
}

export class EngineClient {
  private worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private crashes = 0;
  private disposed = false;
  private lastLoad: DistributiveOmit<LoadModelRequest, "id"> | null = null;
  /** The adapters last set successfully since lastLoad, restored with it after a crash. */
  private lastAdapters: DistributiveOmit<SetAdaptersRequest, "id"> | null = null;
  private readonly crashListeners = new Set<(err: Error, willRestart: boolean) => void>();

  constructor(
    private readonly workerScript: string,
    private readonly log: (level: LogMessage["level"], message: string) => void,
    private readonly options: EngineClientOptions = {},
  ) {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = new Worker(this.workerScript, this.options.resourceLimits ? { resourceLimits: this.options.resourceLimits } : {});
    let ended = false;
    const onEnd = (err: Error): void => {
      if (ended) return;
      ended = true;
      if (!this.disposed && worker === this.worker) this.crashed(err);
    };
    worker.on("message", (message: unknown) => this.receive(message));
    worker.on("error", (err) => onEnd(err));
    worker.on("exit", (code) => onEnd(new Error(`the engine worker exited with code ${code}`)));
    return worker;
  }

  private receive(message: unknown): void {
    if (!isWorkerToExtMessage(message)) {
      this.log("warn", "[engineClient] ignored an invalid message from the worker");
      return;
    }
    switch (message.type) {
      case "log":
        this.log(message.level, message.message);
        return;
      case "progress":
        this.pending.get(message.id)?.onProgress?.(message.done, message.total, message.step);
        return;
      case "response": {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        pending.cleanup();
        pending.resolve(message.result);
        return;
      }
      case "error": {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        pending.cleanup();
        pending.reject(new EngineError(message.code, message.message));
        return;
      }
    }
  }

  private crashed(err: Error): void {
    this.crashes++;
    const willRestart = this.crashes === 1;
    this.log("error", `[engineClient] the engine worker crashed (${err.message})${willRestart ? "; restarting it once" : "; it will not be restarted"}`);
    const inFlight = [...this.pending.values()];
    this.pending.clear();
    for (const p of inFlight) {
      p.cleanup();
      p.reject(new EngineError("crashed", `The engine worker crashed while working on this request (${err.message}).`));
    }
    if (willRestart) {
      this.worker = this.start();
      if (this.lastLoad !== null) {
        const reload = this.lastLoad;
        this.request(reload).catch((e: unknown) => this.log("error", `[engineClient] reloading the model after the crash failed: ${(e as Error).message}`));
        const adapters = this.lastAdapters;
        if (adapters !== null) this.request(adapters).catch((e: unknown) => this.log("error", `[engineClient] restoring the adapters after the crash failed: ${(e as Error).message}`));
      }
    }
    for (const listener of [...this.crashListeners]) listener(err, willRestart);
  }

  request<R extends EngineAnswer>(
    req: DistributiveOmit<EngineRequest, "id">,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number, step?: ProgressStep) => void } = {},
  ): Promise<R> {
    if (this.disposed) return Promise.reject(new EngineError("cancelled", "The engine client was disposed."));
    if (this.crashes >= 2) return Promise.reject(new EngineError("crashed", "The engine worker crashed twice and was not restarted."));
    if (opts.signal?.aborted) return Promise.reject(new EngineError("cancelled", "The request was cancelled before it was sent."));
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise<R>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.pending.has(id) && this.worker === worker) worker.postMessage({ type: "cancel", targetId: id });
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const pending: Pending = {
        resolve: (answer) => {
          if (req.type === "loadModel") {
            this.lastLoad = req;
            this.lastAdapters = null;
          }
          if (req.type === "setAdapters") this.lastAdapters = req;
          resolve(answer as R);
        },
        reject,
        cleanup: () => opts.signal?.removeEventListener("abort", onAbort),
      };
      if (opts.onProgress) pending.onProgress = opts.onProgress;
      this.pending.set(id, pending);
      worker.postMessage({ ...req, id });
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
    if (!this.disposed) void this.worker.terminate();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const inFlight = [...this.pending.values()];
    this.pending.clear();
    for (const p of inFlight) {
      p.cleanup();
      p.reject(new EngineError("cancelled", "The engine client was disposed."));
    }
    this.crashListeners.clear();
    await this.worker.terminate();
  }
}
