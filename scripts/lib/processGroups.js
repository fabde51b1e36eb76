// @ts-check
"use strict";
/**
 * Every long-lived process these scripts start (code-server and its helpers) runs in its own process
 * group: `spawn(..., { detached: true })` calls setsid(), so the child's PID is also its PGID. Killing
 * only the main PID leaves code-server's helpers (extension host, pty host, file watcher) running, so
 * we always stop the whole group with `kill -- -PGID`.
 *
 * The groups are remembered here, and are killed on normal exit, on an uncaught error and on
 * SIGINT/SIGTERM/SIGHUP, so no code-server outlives the script that started it.
 */
const cleanups = new Set();
/** @type {Set<number>} */
const groups = new Set();
let installed = false;
let exiting = false;

/** @param {number} pgid */
function isGroupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends SIGTERM to the group, waits up to `graceMs` for it to disappear, then SIGKILL.
 * @param {number} pgid
 * @param {number} [graceMs]
 */
async function killGroup(pgid, graceMs = 3000) {
  groups.delete(pgid);
  try {
    process.kill(-pgid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isGroupAlive(pgid)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

/** Synchronous last resort, for the `exit` event where nothing asynchronous runs any more. */
function killAllGroupsNow() {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  groups.clear();
}

/**
 * Runs the asynchronous clean-ups (closing the browser, stopping servers), then kills any group
 * still registered.
 */
async function runCleanups() {
  const all = [...cleanups].reverse();
  cleanups.clear();
  for (const fn of all) {
    try {
      await fn();
    } catch (e) {
      process.stderr.write(`[cleanup] ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  await Promise.all([...groups].map((g) => killGroup(g)));
}

function installHandlers() {
  if (installed) return;
  installed = true;
  process.on("exit", killAllGroupsNow);
  for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
    process.on(sig, () => {
      if (exiting) {
        killAllGroupsNow();
        process.exit(130);
      }
      exiting = true;
      process.stderr.write(`\n[perplexity-lens] ${sig}: stopping…\n`);
      void runCleanups().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
    });
  }
}

/** @param {number} pgid */
function registerGroup(pgid) {
  installHandlers();
  groups.add(pgid);
}

/** @param {() => unknown} fn */
function registerCleanup(fn) {
  installHandlers();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** True once a signal has started the shutdown: the signal handler finishes it and exits. */
function isShuttingDown() {
  return exiting;
}

module.exports = { registerGroup, registerCleanup, killGroup, runCleanups, isGroupAlive, isShuttingDown };
