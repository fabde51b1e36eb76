/**
 * The engine worker: hosts one Engine in a worker_threads worker, because onnxruntime-node's `session.run` blocks the
 * event loop for the whole run (it would freeze the extension host).
 *
 * It serves the engine protocol (src/protocol/engine.ts) over vscode-jsonrpc on its parent port: every request's
 * params are validated before its handler runs, each request gets exactly one result or error, possibly preceded by
 * progress. Requests run one at a time in arrival order (the Engine serialises them); a cancel aborts a queued or
 * running request: the scorer checks between chunks and yields to the event loop after each, so a cancel arrives
 * within one chunk.
 */
import { parentPort } from "node:worker_threads";
import { createMessageConnection, PortMessageReader, PortMessageWriter } from "vscode-jsonrpc/node";
import { Engine } from "../core/engine";
import { compareModels } from "../core/compare";
import type { Logger } from "../core/logger";
import { sendEngineNotification, serveEngineRequests, type EngineHandlers } from "./engineRpc";

const port = parentPort;
if (port === null) throw new Error("engineWorker must run in a worker_threads worker.");

const connection = createMessageConnection(new PortMessageReader(port), new PortMessageWriter(port));
const logger: Logger = { log: (level, message) => sendEngineNotification(connection, "log", { level, message }) };
const engine = new Engine({ logger });

const handlers = {
  loadModel: (p) => engine.loadModel(p.path, { source: p.source, kvBudgetBytes: p.kvBudgetBytes, threads: p.threads }),
  score: async (p, { signal, progress }) => {
    const result = await engine.score(p.docId, p.text, p.options, { signal, onProgress: (done, total) => progress({ done, total }) });
    return { docId: p.docId, version: p.version, model: engine.modelInfo?.name ?? "", ...result };
  },
  scoreBase: async (p, { signal, progress }) => {
    const result = await engine.scoreBase(p.docId, p.text, p.options, { signal, onProgress: (done, total) => progress({ done, total }) });
    return { docId: p.docId, version: p.version, ...result };
  },
  releaseDocument: async (p) => {
    await engine.releaseDocument(p.docId);
    return {};
  },
  getStats: async () => ({ model: engine.modelInfo, cache: engine.cacheStats(), rssBytes: process.memoryUsage().rss }),
  setAdapters: (p) => engine.setAdapters(p.adapters, p.extraDirs ?? []),
  listAdapters: async (p) => {
    const { adapters, problems } = engine.listAdapters(p.extraDirs);
    const { active, mode } = engine.activeAdapters();
    return { adapters, problems, active, mode };
  },
  compare: (p, { signal, progress }) =>
    compareModels(p.text, p.targets, p.options, {
      signal,
      loadedEngine: engine,
      logger,
      onProgress: (s) => progress({ done: s.done, total: s.total, step: { index: s.index, count: s.count, name: s.name } }),
    }),
} satisfies EngineHandlers;

serveEngineRequests(connection, handlers);
connection.listen();
