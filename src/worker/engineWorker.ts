/**
 * The engine worker: hosts one Engine in a worker_threads worker, because onnxruntime-node's `session.run` blocks the
 * event loop for the whole run (it would freeze the extension host).
 *
 * Every incoming message is validated (src/protocol/engine.ts); each request gets exactly one `response` or `error`,
 * possibly preceded by `progress`. Requests run one at a time in arrival order (the Engine serialises them);
 * `cancel` aborts a queued or running request: the scorer checks between chunks and yields to the event loop after
 * each, so a cancel arrives within one chunk.
 */
import { parentPort } from "node:worker_threads";
import { Engine } from "../core/engine";
import { compareModels } from "../core/compare";
import { EngineError } from "../core/engineError";
import type { Logger } from "../core/logger";
import {
  extToWorkerMessageProblem,
  type EngineAnswer,
  type EngineRequest,
  type ExtToWorkerMessage,
  type WorkerToExtMessage,
} from "../protocol/engine";

const port = parentPort;
if (port === null) throw new Error("engineWorker must run in a worker_threads worker.");

function post(message: WorkerToExtMessage): void {
  port!.postMessage(message);
}

const logger: Logger = { log: (level, message) => post({ type: "log", level, message }) };
const engine = new Engine({ logger });
const running = new Map<number, AbortController>();

async function handle(request: EngineRequest, signal: AbortSignal): Promise<EngineAnswer> {
  switch (request.type) {
    case "loadModel": {
      const model = await engine.loadModel(request.path, { source: request.source, kvBudgetBytes: request.kvBudgetBytes, threads: request.threads });
      return { kind: "modelLoaded", model };
    }
    case "score": {
      const result = await engine.score(request.docId, request.text, request.options, {
        signal,
        onProgress: (done, total) => post({ type: "progress", id: request.id, done, total }),
      });
      return {
        kind: "scoreResult",
        docId: request.docId,
        version: request.version,
        model: engine.modelInfo?.name ?? "",
        method: result.method,
        metrics: result.metrics,
        tokens: result.tokens,
        rescore: result.rescore,
        cache: result.cache,
      };
    }
    case "scoreBase": {
      const result = await engine.scoreBase(request.docId, request.text, request.options, {
        signal,
        onProgress: (done, total) => post({ type: "progress", id: request.id, done, total }),
      });
      return { kind: "baseScore", docId: request.docId, version: request.version, method: result.method, metrics: result.metrics, rescore: result.rescore };
    }
    case "releaseDocument":
      await engine.releaseDocument(request.docId);
      return { kind: "ack" };
    case "getStats":
      return { kind: "stats", model: engine.modelInfo, cache: engine.cacheStats(), rssBytes: process.memoryUsage().rss };
    case "setAdapters": {
      const changed = await engine.setAdapters(request.adapters, request.extraDirs ?? []);
      return { kind: "adaptersChanged", ...changed };
    }
    case "compare": {
      const comparison = await compareModels(request.text, request.targets, request.options, {
        signal,
        loadedEngine: engine,
        logger,
        onProgress: (p) => post({ type: "progress", id: request.id, done: p.done, total: p.total, step: { index: p.index, count: p.count, name: p.name } }),
      });
      return { kind: "comparison", comparison };
    }
    case "listAdapters": {
      const { adapters, problems } = engine.listAdapters(request.extraDirs);
      const { active, mode } = engine.activeAdapters();
      return { kind: "adapterList", adapters, problems, active, mode };
    }
  }
}

port.on("message", (raw: unknown) => {
  const problem = extToWorkerMessageProblem(raw);
  if (problem !== null) {
    const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
    if (typeof id === "number") post({ type: "error", id, code: "badInput", message: `The engine refused a message: ${problem}.` });
    else logger.log("warn", `[worker] ignored an invalid message: ${problem}`);
    return;
  }
  const message = raw as ExtToWorkerMessage;
  if (message.type === "cancel") {
    running.get(message.targetId)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(message.id, controller);
  handle(message, controller.signal).then(
    (result) => post({ type: "response", id: message.id, result }),
    (e: unknown) => {
      if (e instanceof EngineError) post({ type: "error", id: message.id, code: e.code, message: e.message });
      else post({ type: "error", id: message.id, code: "internal", message: `The engine failed unexpectedly (${e instanceof Error ? e.message : String(e)}).` });
    },
  ).finally(() => running.delete(message.id));
});
