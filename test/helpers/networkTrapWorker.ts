/**
 * The real engine worker with the network trap installed in its thread first. Every attempt is reported to the
 * client as an error log line starting with "[network-trap]"; one info line says the trap is in place.
 */
import { parentPort } from "node:worker_threads";
import { installNetworkTrap } from "./networkTrap";

/** A `log` notification of the engine protocol, as the worker's own connection would send it. */
const log = (level: string, message: string): void => parentPort?.postMessage({ jsonrpc: "2.0", method: "log", params: { level, message } });
installNetworkTrap((what) => log("error", `[network-trap] ${what}`));
log("info", "[network-trap] installed");
// eslint-disable-next-line @typescript-eslint/no-require-imports
require("../../src/worker/engineWorker");
