/**
 * The real engine worker with the network trap installed in its thread first. Every attempt is reported to the
 * client as an error log line starting with "[network-trap]"; one info line says the trap is in place.
 */
import { parentPort } from "node:worker_threads";
import { installNetworkTrap } from "./networkTrap";

installNetworkTrap((what) => parentPort?.postMessage({ type: "log", level: "error", message: `[network-trap] ${what}` }));
parentPort?.postMessage({ type: "log", level: "info", message: "[network-trap] installed" });
// eslint-disable-next-line @typescript-eslint/no-require-imports
require("../../src/worker/engineWorker");
