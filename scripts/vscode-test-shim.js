#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * A stand-in for the VS Code executable, for `@vscode/test-electron`'s `runTests`
 * (`vscodeExecutablePath`). Desktop VS Code cannot be downloaded on our machines, so this runs the
 * same extension tests in code-server (VS Code in the browser, whose extension host is a real Node
 * process, so onnxruntime-node loads) driven by headless Chromium through Playwright:
 *
 *  1. parses the VS Code command line that runTests builds (--extensionDevelopmentPath,
 *     --extensionTestsPath, the workspace folder, …);
 *  2. starts code-server with `--vscode-option enable-smoke-test-driver` (see lib/codeServer.js);
 *  3. opens `/?folder=…&payload=[["extensionDevelopmentPath","vscode-remote://HOST:PORT/ABS"],
 *     ["extensionTestsPath",…],["extensionEnvironment","{…}"]]` in Chromium; the smoke-test driver
 *     makes the workbench call `window.codeAutomationExit(code)` when the tests finish;
 *  4. serves the UI bridge (lib/uiBridge.js) so in-host tests can look at the workbench;
 *  5. prints the in-host reporter's file as it grows (the extension host swallows console output);
 *  6. exits with the tests' exit code, after closing the browser and killing code-server's process
 *     group (also on failure, timeout and signals).
 *
 * Environment: variables named PERPLEXITY_LENS_* (runTests' `extensionTestsEnv` puts them in this
 * process's environment) are passed on to the extension host through `extensionEnvironment`.
 * PERPLEXITY_LENS_TEST_OUTPUT names the folder for screenshots and logs (default ./test-output);
 * PERPLEXITY_LENS_TEST_TIMEOUT_S bounds the whole run (default 600), and
 * PERPLEXITY_LENS_TEST_START_TIMEOUT_S the wait for the suite's first line (default 240).
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { startCodeServer, launchBrowser, workbenchUrl, writeUserSettings } = require("./lib/codeServer");
const { startUiBridge } = require("./lib/uiBridge");
const { ensureHostInstalled } = require("./lib/hostInstall");
const { runCleanups, registerCleanup } = require("./lib/processGroups");

/** VS Code CLI options that take a value (as `--opt value` or `--opt=value`). */
const VALUE_OPTIONS = new Set([
  "extensionDevelopmentPath",
  "extensionTestsPath",
  "user-data-dir",
  "extensions-dir",
  "locale",
  "profile",
  "log",
  "folder-uri",
  "file-uri",
  "install-extension",
  "disable-extension",
  "inspect-extensions",
  "inspect-brk-extensions",
  "crash-reporter-directory",
  "sync",
]);

/**
 * @param {string[]} argv
 * @returns {{ options: Map<string, string[]>, flags: Set<string>, positionals: string[] }}
 */
function parseVSCodeArgs(argv) {
  /** @type {Map<string, string[]>} */
  const options = new Map();
  const flags = new Set();
  const positionals = [];
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq === -1 ? undefined : eq);
    let value;
    if (eq !== -1) value = a.slice(eq + 1);
    else if (VALUE_OPTIONS.has(name) && i + 1 < argv.length) value = argv[++i];
    if (value === undefined) flags.add(name);
    else options.set(name, [...(options.get(name) ?? []), value]);
  }
  return { options, flags, positionals };
}

/**
 * Copies what has been appended to `file` since `offset` to stdout.
 * @param {string} file
 * @param {number} offset
 */
function printNew(file, offset) {
  let size;
  try {
    size = fs.statSync(file).size;
  } catch {
    return offset;
  }
  if (size <= offset) return offset;
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(size - offset);
  fs.readSync(fd, buf, 0, buf.length, offset);
  fs.closeSync(fd);
  process.stdout.write(buf);
  return size;
}

async function main() {
  const { options, positionals } = parseVSCodeArgs(process.argv.slice(2));
  const devPaths = (options.get("extensionDevelopmentPath") ?? []).map((p) => path.resolve(p));
  const testsPath = options.get("extensionTestsPath")?.[0];
  if (!testsPath) throw new Error("vscode-test-shim: --extensionTestsPath is required (this shim only runs extension tests)");
  const folder = positionals.map((p) => path.resolve(p)).find((p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
  const outputDir = path.resolve(process.env.PERPLEXITY_LENS_TEST_OUTPUT ?? "test-output");
  fs.mkdirSync(outputDir, { recursive: true });
  // Failure screenshots of an earlier run would be mistaken for this run's.
  for (const f of fs.readdirSync(outputDir)) {
    if (/^failed-.*\.png$|^integration-run-failed\.png$/.test(f)) fs.rmSync(path.join(outputDir, f), { force: true });
  }
  const timeoutS = Number(process.env.PERPLEXITY_LENS_TEST_TIMEOUT_S ?? 600);

  // A fresh profile for every run (runTests' default --user-data-dir/--extensions-dir point into a
  // shared .vscode-test/ folder, which would carry state from run to run).
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "perplexity-lens-test-"));
  // Registered first, so it runs last (after code-server has stopped), also on Ctrl+C and errors.
  registerCleanup(() => fs.rmSync(workDir, { recursive: true, force: true }));
  const reportFile = path.join(workDir, "report.txt");
  fs.writeFileSync(reportFile, "");
  writeUserSettings(path.join(workDir, "user-data"));

  const started = Date.now();
  await ensureHostInstalled();
  const serverStarted = Date.now();
  const server = await startCodeServer({ workDir, extraArgs: ["--vscode-option", "enable-smoke-test-driver"] });
  process.stderr.write(`[shim] code-server ${server.url} ready in ${Date.now() - serverStarted} ms\n`);
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleLog = fs.createWriteStream(path.join(outputDir, "browser-console.log"));
  page.on("console", (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
  page.on("pageerror", (e) => consoleLog.write(`[pageerror] ${e.message}\n`));

  /** @type {(code: number) => void} */
  let finish = () => undefined;
  const exitCode = new Promise((resolve) => (finish = resolve));
  await page.exposeFunction("codeAutomationExit", (/** @type {number} */ code) => {
    finish(Number(code));
  });
  const bridge = await startUiBridge(page, outputDir);
  // Fail fast when the browser page or code-server dies instead of waiting for the timeout.
  let testsDone = false;
  page.on("crash", () => {
    if (testsDone) return;
    process.stderr.write("[shim] the browser page crashed\n");
    finish(1);
  });
  void server.exited.then((c) => {
    if (testsDone) return;
    process.stderr.write(`[shim] code-server exited (${c}) before the tests finished\n`);
    finish(1);
  });

  /** @type {Record<string, string>} */
  const extensionEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("PERPLEXITY_LENS_") && v !== undefined) extensionEnv[k] = v;
  extensionEnv.PERPLEXITY_LENS_TEST_REPORT = reportFile;
  extensionEnv.PERPLEXITY_LENS_UI_BRIDGE = bridge.url;
  extensionEnv.PERPLEXITY_LENS_TEST_OUTPUT = outputDir;
  extensionEnv.PERPLEXITY_LENS_TEST_HOST = "code-server";

  const remote = (/** @type {string} */ p) => `vscode-remote://${server.authority}${path.resolve(p)}`;
  /** @type {[string, string][]} */
  const payload = [
    ...devPaths.map((p) => /** @type {[string, string]} */ (["extensionDevelopmentPath", remote(p)])),
    ["extensionTestsPath", remote(testsPath)],
    ["extensionEnvironment", JSON.stringify(extensionEnv)],
  ];
  const url = workbenchUrl(server, folder, payload);
  process.stderr.write(`[shim] opening ${folder ?? "(no folder)"} with tests ${testsPath}\n`);
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60_000 });

  let offset = 0;
  const tail = setInterval(() => (offset = printNew(reportFile, offset)), 250);
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutS * 1000);
  });
  // A suite that never starts (the extension host crashed, the payload was refused) would otherwise
  // wait for the whole timeout: the suite's first line must come within startTimeoutS.
  const startTimeoutS = Number(process.env.PERPLEXITY_LENS_TEST_START_TIMEOUT_S ?? 240);
  const neverStarted = new Promise((resolve) => {
    const startDeadline = Date.now() + startTimeoutS * 1000;
    const poll = setInterval(() => {
      if (fs.statSync(reportFile).size > 0) clearInterval(poll);
      else if (Date.now() > startDeadline) {
        clearInterval(poll);
        resolve("never-started");
      }
    }, 500);
    void exitCode.then(() => clearInterval(poll));
  });
  const result = await Promise.race([exitCode, timedOut, neverStarted]);
  testsDone = true;
  clearTimeout(timer);
  clearInterval(tail);
  offset = printNew(reportFile, offset);

  let code = typeof result === "number" ? result : 1;
  if (result === "timeout") process.stderr.write(`[shim] the tests did not finish within ${timeoutS} s\n`);
  if (result === "never-started") {
    process.stderr.write(`[shim] the suite did not start within ${startTimeoutS} s; see test-output/code-server.log and the exthost log\n`);
  }
  if (code !== 0) {
    const shot = path.join(outputDir, "integration-run-failed.png");
    await page.screenshot({ path: shot }).then(
      () => process.stderr.write(`[shim] screenshot of the workbench: ${shot}\n`),
      () => undefined,
    );
  }
  await bridge.close();
  consoleLog.end();
  // Keep code-server's log next to the screenshots: it has the extension host's errors.
  try {
    fs.copyFileSync(server.logFile, path.join(outputDir, "code-server.log"));
    const exthostLogs = findFiles(path.join(workDir, "user-data", "logs"), /exthost\.log$|remoteexthost\.log$/);
    for (const f of exthostLogs) fs.copyFileSync(f, path.join(outputDir, path.basename(f)));
  } catch {
    /* logs are a convenience */
  }
  await browser.close().catch(() => undefined);
  await server.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
  process.stderr.write(`[shim] tests exited with ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return code;
}

/**
 * @param {string} dir
 * @param {RegExp} re
 * @returns {string[]}
 */
function findFiles(dir, re) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(dir, f))
    .filter((f) => re.test(f) && fs.statSync(f).isFile());
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    process.stderr.write(`[shim] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
