/** Checks shared by the reliability tests (issue 9): one-sentence messages, finite-or-null numbers, the CLI in-process. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A user-facing error: one sentence, no line breaks, short. */
export function oneSentence(message: string): void {
  assert.match(message, /^\S.*[.)]$/s, `"${message}" reads as one sentence`);
  assert.ok(!message.includes("\n"), `no line breaks in "${message}"`);
  assert.ok(message.length < 600, `short enough to read (${message.length} characters)`);
}

/** Every number anywhere in `value` is finite (null stands for "undefined"); returns how many numbers were checked. */
export function assertFiniteOrNull(value: unknown, where = "result"): number {
  let count = 0;
  const walk = (v: unknown, at: string): void => {
    if (typeof v === "number") {
      assert.ok(Number.isFinite(v), `${at} is ${v}, expected a finite number or null`);
      count++;
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(value, where);
  return count;
}

/**
 * Runs the command line once per argument list, in one child process (test/helpers/cliBatch.ts), and returns each
 * run's exit code, stdout and stderr. (The test runner owns this process's stdout, so the CLI runs elsewhere.)
 */
export function runCliBatch(
  runs: string[][],
  stdinText?: string,
  trapNetwork?: { attempts: string[] },
): Array<{ code: number; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pl-cli-batch-"));
  try {
    const input = path.join(dir, "runs.json");
    const output = path.join(dir, "results.json");
    fs.writeFileSync(input, JSON.stringify(runs));
    const env = trapNetwork ? { ...process.env, LENS_NETWORK_TRAP: "1" } : process.env;
    const child = spawnSync(process.execPath, [path.join(__dirname, "cliBatch.js"), input, output], {
      input: stdinText ?? "",
      encoding: "utf8",
      timeout: 600_000,
      env,
    });
    assert.equal(child.status, 0, `the CLI batch ran (${child.stderr})`);
    if (trapNetwork) trapNetwork.attempts.push(...(JSON.parse(fs.readFileSync(`${output}.network.json`, "utf8")) as string[]));
    return JSON.parse(fs.readFileSync(output, "utf8")) as Array<{ code: number; stdout: string; stderr: string }>;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
