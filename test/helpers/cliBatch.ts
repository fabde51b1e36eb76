/**
 * Runs the command line's main() once per argument list read from argv[2] (a JSON array of string arrays), capturing
 * stdout and stderr of each run, and writes [{code, stdout, stderr}] to argv[3]. One process for many runs, so the
 * reliability tests do not pay Node's and onnxruntime's start-up per case.
 */
import * as fs from "node:fs";
import { installNetworkTrap } from "./networkTrap";

// With LENS_NETWORK_TRAP set, every network attempt is recorded and written to argv[3] + ".network.json".
const trap = process.env["LENS_NETWORK_TRAP"] ? installNetworkTrap() : null;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require("../../src/cli/main") as typeof import("../../src/cli/main");

async function runAll(): Promise<void> {
  const runs = JSON.parse(fs.readFileSync(process.argv[2]!, "utf8")) as string[][];
  const results: Array<{ code: number; stdout: string; stderr: string }> = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  for (const argv of runs) {
    let stdout = "";
    let stderr = "";
    process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(argv);
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
    }
    results.push({ code, stdout, stderr });
  }
  fs.writeFileSync(process.argv[3]!, JSON.stringify(results));
  if (trap) fs.writeFileSync(`${process.argv[3]!}.network.json`, JSON.stringify(trap.attempts));
}

void runAll();
