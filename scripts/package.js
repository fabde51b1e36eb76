#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * `npm run package`: builds platform-specific .vsix files in the project root, then checks them.
 *
 *   node scripts/package.js                       linux-x64 (the default)
 *   node scripts/package.js --target darwin-arm64 another target (repeat --target, or --target all)
 *   node scripts/package.js --no-verify           skip the checks
 *
 * onnxruntime-node carries the binaries of every platform (288 MB); a .vsix needs only its target's
 * (`bin/napi-v*\/<platform>/<arch>/`). .vscodeignore is an allow-list whose onnxruntime binary line
 * names linux-x64; for each target this script writes a copy with that line rewritten and passes it
 * to `vsce package --target T --ignoreFile copy`.
 *
 * Checks on every .vsix: the manifest, dist/, the default model, onnxruntime's JS and this target's
 * binary are in; other platforms' binaries, sources and tests are out. For a target that this
 * machine can run (linux-x64 here), it also installs the .vsix into a fresh code-server extensions
 * folder with `code-server --install-extension`, checks `--list-extensions` shows it, loads
 * onnxruntime-node from the installed copy with code-server's Node, and scores a sample file with the
 * installed copy's command line and embedded model.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const ROOT = path.resolve(__dirname, "..");
const DEFAULT_MODEL = "lens-gpt2-bpe4k";

/** vsce target → onnxruntime-node's bin/napi-v*\/<platform>/<arch> folder. */
const TARGETS = /** @type {const} */ ({
  "linux-x64": ["linux", "x64"],
  "linux-arm64": ["linux", "arm64"],
  "darwin-arm64": ["darwin", "arm64"],
  "win32-x64": ["win32", "x64"],
  "win32-arm64": ["win32", "arm64"],
});
/** @typedef {keyof typeof TARGETS} Target */

/** @param {string} msg */
function log(msg) {
  process.stderr.write(`[package] ${msg}\n`);
}

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {string[]} */
  const targets = [];
  let verify = true;
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (a === "--no-verify") verify = false;
    else if (a === "--target" || a === "-t") targets.push(String(argv[++i]));
    else if (a.startsWith("--target=")) targets.push(a.slice("--target=".length));
    else throw new Error(`unknown argument ${a} (use --target <${Object.keys(TARGETS).join("|")}|all> and --no-verify)`);
  }
  const expanded = targets.flatMap((t) => (t === "all" ? Object.keys(TARGETS) : [t]));
  for (const t of expanded) {
    if (!(t in TARGETS)) {
      throw new Error(`target ${t} has no onnxruntime-node binaries; choose from ${Object.keys(TARGETS).join(", ")}`);
    }
  }
  return { targets: /** @type {Target[]} */ (expanded.length ? [...new Set(expanded)] : ["linux-x64"]), verify };
}

/**
 * Lists the entries of a zip (a .vsix) with yauzl, which vsce itself depends on.
 * @param {string} file
 * @returns {Promise<string[]>}
 */
function zipEntries(file) {
  const vsceDir = path.dirname(require.resolve("@vscode/vsce/package.json"));
  /** @type {any} */
  const yauzl = require(require.resolve("yauzl", { paths: [vsceDir] }));
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (/** @type {Error|null} */ err, /** @type {any} */ zip) => {
      if (err) return reject(err);
      /** @type {string[]} */
      const names = [];
      zip.on("entry", (/** @type {{ fileName: string }} */ e) => {
        names.push(e.fileName);
        zip.readEntry();
      });
      zip.on("end", () => resolve(names));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

/**
 * @param {Target} target
 * @param {string} version
 */
function packageTarget(target, version) {
  const [platform, arch] = TARGETS[target];
  const ignore = fs.readFileSync(path.join(ROOT, ".vscodeignore"), "utf8");
  const binLine = /^!node_modules\/onnxruntime-node\/bin\/.*$/m;
  if (!binLine.test(ignore)) throw new Error(".vscodeignore has no !node_modules/onnxruntime-node/bin/… line to rewrite");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "perplexity-lens-package-"));
  const ignoreFile = path.join(tmp, "vscodeignore");
  fs.writeFileSync(ignoreFile, ignore.replace(binLine, `!node_modules/onnxruntime-node/bin/napi-v*/${platform}/${arch}/**`));
  const out = path.join(ROOT, `perplexity-lens-${version}-${target}.vsix`);
  const vsce = path.join(path.dirname(require.resolve("@vscode/vsce/package.json")), "vsce");
  log(`vsce package --target ${target} → ${path.relative(ROOT, out)}`);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    // No repository yet: say so instead of letting vsce ask interactively, and keep the README's relative links
    // (docs/screenshot.png) as they are, since there is no repository URL to rewrite them against.
    [vsce, "package", "--target", target, "--ignoreFile", ignoreFile, "--out", out, "--allow-missing-repository", "--no-rewrite-relative-links"],
    { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] },
  );
  fs.rmSync(tmp, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`vsce package --target ${target} failed (exit ${r.status ?? r.signal})`);
  log(`${path.basename(out)}: ${(fs.statSync(out).size / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

/**
 * @param {string} vsix
 * @param {Target} target
 */
async function checkContents(vsix, target) {
  const [platform, arch] = TARGETS[target];
  const entries = await zipEntries(vsix);
  const files = entries.filter((e) => e.startsWith("extension/")).map((e) => e.slice("extension/".length));
  /** @type {string[]} */
  const problems = [];
  const need = (/** @type {string} */ what, /** @type {(f: string) => boolean} */ test) => {
    if (!files.some(test)) problems.push(`missing ${what}`);
  };
  need("package.json", (f) => f === "package.json");
  need("LICENSE", (f) => f === "LICENSE" || f === "LICENSE.txt");
  need("dist/extension.js", (f) => f === "dist/extension.js");
  need("dist/worker.js", (f) => f === "dist/worker.js");
  need("onnxruntime-node's JS", (f) => f === "node_modules/onnxruntime-node/dist/index.js");
  need("onnxruntime-common", (f) => f === "node_modules/onnxruntime-common/dist/cjs/index.js");
  need(`the ${target} onnxruntime binding`, (f) =>
    new RegExp(`^node_modules/onnxruntime-node/bin/napi-v\\d+/${platform}/${arch}/onnxruntime_binding\\.node$`).test(f),
  );
  const modelDir = path.join(ROOT, "models", DEFAULT_MODEL);
  const modelFiles = fs.existsSync(modelDir) ? fs.readdirSync(modelDir, { recursive: true, encoding: "utf8" }) : [];
  if (modelFiles.length === 0) problems.push(`models/${DEFAULT_MODEL} is empty or missing in the repository`);
  for (const f of modelFiles) {
    if (fs.statSync(path.join(modelDir, f)).isFile() && !files.includes(`models/${DEFAULT_MODEL}/${f.split(path.sep).join("/")}`)) {
      problems.push(`missing models/${DEFAULT_MODEL}/${f}`);
    }
  }
  const otherBins = files.filter((f) => /^node_modules\/onnxruntime-node\/bin\//.test(f) && !f.includes(`/${platform}/${arch}/`));
  if (otherBins.length) problems.push(`other platforms' binaries: ${otherBins.slice(0, 3).join(", ")}…`);
  const sources = files.filter((f) => /^(src|test|tools|scripts|webview-ui|sample-workspace|out)\//.test(f) || /(^|\/)[^/]+(?<!\.d)\.ts$/.test(f));
  if (sources.length) problems.push(`sources or tests: ${sources.slice(0, 5).join(", ")}`);
  const otherModels = files.filter((f) => f.startsWith("models/") && !f.startsWith(`models/${DEFAULT_MODEL}/`));
  if (otherModels.length) problems.push(`other models: ${otherModels.slice(0, 3).join(", ")}`);
  if (problems.length) throw new Error(`${path.basename(vsix)}:\n  ${problems.join("\n  ")}`);
  log(`${path.basename(vsix)}: ${files.length} files, contents as expected`);
}

/**
 * Installs the .vsix into a fresh code-server and checks that it is listed and that its
 * onnxruntime-node loads with code-server's Node.
 * @param {string} vsix
 * @param {string} version
 */
async function checkInstall(vsix, version) {
  const { runCodeServerCli } = require("./lib/codeServer");
  const { paths } = require("./lib/hostInstall");
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "perplexity-lens-vsix-"));
  try {
    const started = Date.now();
    const install = await runCodeServerCli(["--install-extension", vsix], { workDir });
    if (install.code !== 0) throw new Error(`code-server --install-extension failed:\n${install.stdout}${install.stderr}`);
    const list = await runCodeServerCli(["--list-extensions", "--show-versions"], { workDir });
    const id = `perplexity-lens.perplexity-lens@${version}`;
    if (!list.stdout.split(/\r?\n/).includes(id)) throw new Error(`code-server --list-extensions does not show ${id}:\n${list.stdout}${list.stderr}`);
    const installed = fs.readdirSync(path.join(workDir, "extensions")).find((d) => d.startsWith("perplexity-lens.perplexity-lens-"));
    if (!installed) throw new Error("the installed extension folder is missing");
    const ortDir = path.join(workDir, "extensions", installed, "node_modules", "onnxruntime-node");
    const load = spawnSync(
      paths().nodeBin,
      ["-e", `const o=require(${JSON.stringify(ortDir)}); if (typeof o.InferenceSession?.create !== "function") process.exit(3)`],
      {
        encoding: "utf8",
      },
    );
    if (load.status !== 0) throw new Error(`onnxruntime-node does not load from the installed extension:\n${load.stderr}`);
    // The installed copy scores a file with its own bundle, embedded model and onnxruntime.
    const sample = path.join(ROOT, "sample-workspace", "prose.md");
    const cli = path.join(workDir, "extensions", installed, "dist", "cli.js");
    const score = spawnSync(paths().nodeBin, [cli, "score", sample, "--json"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 180_000 });
    /** @type {number} */
    let ppl = NaN;
    try {
      ppl = Number(JSON.parse(score.stdout).metrics.tokenPerplexity);
    } catch {
      /* reported below */
    }
    if (score.status !== 0 || !Number.isFinite(ppl)) {
      throw new Error(`the installed extension's command line did not score ${sample} (exit ${score.status}):\n${score.stderr.slice(-2000)}`);
    }
    log(
      `installed with code-server --install-extension, listed as ${id}; its onnxruntime-node loads and its command line ` +
        `scores sample-workspace/prose.md with the embedded model (perplexity ${ppl.toFixed(1)}) (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

async function main() {
  const { targets, verify } = parseArgs(process.argv.slice(2));
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  if (!fs.existsSync(path.join(ROOT, "dist", "extension.js"))) throw new Error("dist/extension.js is missing: run `npm run build` first");
  for (const target of targets) {
    const vsix = packageTarget(target, version);
    if (!verify) continue;
    await checkContents(vsix, target);
    if (target === `${process.platform}-${process.arch}` && target === "linux-x64") await checkInstall(vsix, version);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    log(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
