/**
 * The real engine worker plus a way to crash it on purpose: a score request whose text is CRASH_TEXT makes the
 * worker thread exit with code 70 before it answers, as an uncaught failure in native code would.
 */
import { parentPort } from "node:worker_threads";
import "../../src/worker/engineWorker";
import { CRASH_TEXT } from "./crashText";

parentPort?.on("message", (message: { type?: string; text?: string }) => {
  if (message.type === "score" && message.text === CRASH_TEXT) process.exit(70);
});
