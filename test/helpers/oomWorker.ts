/**
 * The real engine worker plus a way to run it out of memory on purpose: a score request whose text is OOM_TEXT makes
 * the worker allocate until V8 stops it at its heap limit (start it with EngineClient's `resourceLimits`), as a
 * runaway allocation in the engine would. The worker then ends with ERR_WORKER_OUT_OF_MEMORY.
 */
import { parentPort } from "node:worker_threads";
import "../../src/worker/engineWorker";
import { OOM_TEXT } from "./oomText";

const hoard: number[][] = [];
parentPort?.on("message", (message: { method?: string; params?: { text?: string } }) => {
  if (message.method !== "score" || message.params?.text !== OOM_TEXT) return;
  for (;;) hoard.push(Array.from({ length: 1 << 20 }, (_, i) => i + 0.5));
});
