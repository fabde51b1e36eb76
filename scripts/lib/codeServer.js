// @ts-check
"use strict";
/**
 * Starting and stopping code-server, and the headless Chromium that shows its workbench.
 *
 * code-server runs in its own session and process group (Node's `detached: true` is setsid()), on
 * 127.0.0.1 and a free port, with its own user-data and extensions folders, and with HOME and XDG_*
 * pointing into a temporary folder, because it (and onnxruntime) write to ~/.config, ~/.local/share
 * and ~/.cache. It is stopped with `kill -- -PGID`, always: see processGroups.js.
 */
const fs = require("fs");
const os = require("os");
const net = require("net");
const http = require("http");
const path = require("path");
const { spawn } = require("child_process");
const { ensureHostInstalled, hostEnv } = require("./hostInstall");
const { registerGroup, registerCleanup, killGroup } = require("./processGroups");

/** @returns {Promise<number>} a port that was free a moment ago on 127.0.0.1 */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {string} url
 * @returns {Promise<number>} HTTP status, or 0 when nothing answers
 */
function httpStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => {
      req.destroy();
      resolve(0);
    });
  });
}

/**
 * @typedef {object} CodeServerOptions
 * @property {string} [workDir]        temporary folder for HOME/XDG, user data and extensions (created when absent)
 * @property {string} [extensionsDir]  overrides <workDir>/extensions
 * @property {string[]} [extraArgs]    more code-server arguments
 * @property {string} [logFile]        where code-server's output goes (default <workDir>/code-server.log)
 * @property {number} [port]
 * @property {boolean} [keepWorkDir]   do not delete workDir on stop
 */

/**
 * @typedef {object} CodeServer
 * @property {string} url          http://127.0.0.1:PORT
 * @property {string} authority    127.0.0.1:PORT (for vscode-remote:// URIs)
 * @property {number} port
 * @property {number} pgid
 * @property {string} workDir
 * @property {string} userDataDir
 * @property {string} extensionsDir
 * @property {string} logFile
 * @property {Promise<number | null>} exited  resolves with code-server's exit code when it stops
 * @property {() => Promise<void>} stop
 */

/**
 * Environment for code-server: the host's (Node 24 on PATH), with HOME and XDG_* in `workDir`, and
 * without the VSCODE_* variables of an enclosing VS Code terminal, which would make code-server try
 * to talk to that other VS Code.
 * @param {string} workDir
 */
function isolatedEnv(workDir) {
  const env = hostEnv();
  for (const k of Object.keys(env)) if (k.startsWith("VSCODE_") || k === "ELECTRON_RUN_AS_NODE") delete env[k];
  const home = path.join(workDir, "home");
  /** @type {Record<string, string>} */
  const dirs = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
    XDG_STATE_HOME: path.join(home, ".local", "state"),
    XDG_RUNTIME_DIR: path.join(workDir, "run"),
  };
  for (const [k, v] of Object.entries(dirs)) {
    fs.mkdirSync(v, { recursive: true, mode: 0o700 });
    env[k] = v;
  }
  return env;
}

/**
 * Runs the code-server CLI once (e.g. `--install-extension x.vsix`, `--list-extensions`) and
 * returns its output.
 * @param {string[]} args
 * @param {{ workDir: string, extensionsDir?: string }} opts
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
async function runCodeServerCli(args, opts) {
  const host = await ensureHostInstalled();
  const extensionsDir = opts.extensionsDir ?? path.join(opts.workDir, "extensions");
  const userDataDir = path.join(opts.workDir, "user-data");
  const env = isolatedEnv(opts.workDir);
  return new Promise((resolve, reject) => {
    const child = spawn(host.nodeBin, [host.csEntry, "--user-data-dir", userDataDir, "--extensions-dir", extensionsDir, ...args], {
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pgid = /** @type {number} */ (child.pid);
    registerGroup(pgid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      void killGroup(pgid, 500).then(() => resolve({ code: code ?? 1, stdout, stderr }));
    });
  });
}

/**
 * Starts code-server and waits until /healthz answers.
 * @param {CodeServerOptions} [opts]
 * @returns {Promise<CodeServer>}
 */
async function startCodeServer(opts = {}) {
  const host = await ensureHostInstalled();
  const workDir = opts.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "perplexity-lens-host-"));
  fs.mkdirSync(workDir, { recursive: true });
  const userDataDir = path.join(workDir, "user-data");
  const extensionsDir = opts.extensionsDir ?? path.join(workDir, "extensions");
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const logFile = opts.logFile ?? path.join(workDir, "code-server.log");
  const env = isolatedEnv(workDir);

  // The free port can be taken between probing and binding; try a few.
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const out = fs.openSync(logFile, "a");
    const args = [
      host.csEntry,
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--auth",
      "none",
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      "--ignore-last-opened",
      "--user-data-dir",
      userDataDir,
      "--extensions-dir",
      extensionsDir,
      ...(opts.extraArgs ?? []),
    ];
    const child = spawn(host.nodeBin, args, { env, detached: true, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const pgid = /** @type {number} */ (child.pid);
    registerGroup(pgid);
    let exited = false;
    /** @type {Promise<number | null>} */
    const exitedPromise = new Promise((resolve) =>
      child.on("exit", (code) => {
        exited = true;
        resolve(code);
      }),
    );

    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let healthy = false;
    while (!exited && Date.now() < deadline) {
      if ((await httpStatus(`${url}/healthz`)) === 200) {
        healthy = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    if (!healthy) {
      await killGroup(pgid);
      const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-2000) : "";
      if (attempt < 2 && opts.port === undefined && /EADDRINUSE/.test(tail)) continue;
      throw new Error(`code-server did not become healthy on ${url}; its log (${logFile}) ends:\n${tail}`);
    }

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      unregister();
      await killGroup(pgid);
      if (!opts.keepWorkDir && !opts.workDir) fs.rmSync(workDir, { recursive: true, force: true });
    };
    const unregister = registerCleanup(stop);
    return { url, authority: `127.0.0.1:${port}`, port, pgid, workDir, userDataDir, extensionsDir, logFile, exited: exitedPromise, stop };
  }
}

/**
 * Settings that keep the workbench quiet and offline: no welcome page, no update or extension-gallery
 * checks, no telemetry, no AI features asking to sign in.
 * @param {string} userDataDir
 * @param {Record<string, unknown>} [extra]
 */
function writeUserSettings(userDataDir, extra = {}) {
  const dir = path.join(userDataDir, "User");
  fs.mkdirSync(dir, { recursive: true });
  const settings = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "security.workspace.trust.enabled": false,
    "chat.disableAIFeatures": true,
    "git.enabled": false,
    "window.confirmBeforeClose": "never",
    // Tests edit the sample files; nothing may reach the disk unless a test saves.
    "files.autoSave": "off",
    ...extra,
  };
  fs.writeFileSync(path.join(dir, "settings.json"), JSON.stringify(settings, null, 2));
}

/** The browser's flags: headless, no GPU, no background traffic (nothing may reach the network). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/**
 * Chromium to drive: `$CHROME_PATH`, else Debian's `/usr/bin/chromium`, else the binary that the
 * `@sparticuz/chromium` npm package carries (unpacked into /tmp on first use).
 * @returns {Promise<string>}
 */
async function chromiumExecutable() {
  if (process.env.CHROME_PATH && fs.existsSync(process.env.CHROME_PATH)) return process.env.CHROME_PATH;
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (fs.existsSync(p)) return p;
  const mod = require("@sparticuz/chromium");
  /** @type {{ executablePath(input?: string): Promise<string> }} */
  const sparticuz = mod.default ?? mod;
  return sparticuz.executablePath();
}

/**
 * Launches headless Chromium with a fresh profile (Playwright's default for `launch`).
 * @returns {Promise<import('playwright-core').Browser>}
 */
async function launchBrowser() {
  const { chromium } = require("playwright-core");
  const executablePath = await chromiumExecutable();
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  registerCleanup(() => browser.close().catch(() => undefined));
  return browser;
}

/**
 * The workbench URL that opens `folder` (an absolute path on this machine).
 * @param {CodeServer} server
 * @param {string | undefined} folder
 * @param {[string, string][]} [payload]
 */
function workbenchUrl(server, folder, payload) {
  const q = new URLSearchParams();
  if (folder) q.set("folder", folder);
  if (payload && payload.length > 0) q.set("payload", JSON.stringify(payload));
  const s = q.toString();
  return `${server.url}/${s ? `?${s}` : ""}`;
}

module.exports = { startCodeServer, writeUserSettings, runCodeServerCli, launchBrowser, chromiumExecutable, workbenchUrl, freePort, CHROMIUM_ARGS };
