/**
 * The real engine worker plus a way to crash it on purpose: a score request whose text is CRASH_TEXT makes the
 * worker thread exit with code 70 before it answers, as an uncaught failure in native code would.
 */
import { parentPort } from "node:worker_threads";
import "../../src/worker/engineWorker";
import { CRASH_TEXT } from "./crashText";

/** A JSON-RPC request of the engine protocol, as it arrives on the port. */
interface WireRequest {
  method?: string;
  params?: { text?: string };
}

parentPort?.on("message", (message: WireRequest) => {
  if (message.method === "score" && message.params?.text === CRASH_TEXT) process.exit(70);
});
