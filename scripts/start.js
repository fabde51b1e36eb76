#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * `npm start`: VS Code in the browser (code-server) with Perplexity Lens installed and the sample
 * workspace open. `npm start` builds first (`npm run build`); this script then
 *  - installs the cached code-server host if it is not there yet (scripts/lib/hostInstall.js),
 *  - links the repository into a fresh extensions folder as
 *    perplexity-lens.perplexity-lens-<version> (a link, not a copy: after `npm run build`, reload
 *    the window to pick up the new bundle),
 *  - starts code-server on 127.0.0.1 (PERPLEXITY_LENS_PORT or --port N, else a free port) and prints
 *    the URL, and keeps running until Ctrl+C, which stops code-server's whole process group.
 *
 * From another machine, forward the port: `ssh -L 8080:127.0.0.1:8080 host`, with --port 8080.
 *
 *   node scripts/start.js [--port N] [--folder DIR] [--check]
 * --check starts everything, opens the workbench in headless Chromium, checks that the extension is
 * installed, saves test-output/start.png and stops: a self-test of this script.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");
const { ensureHostInstalled } = require("./lib/hostInstall");
const { startCodeServer, runCodeServerCli, launchBrowser, workbenchUrl, writeUserSettings } = require("./lib/codeServer");
const { runCleanups, registerCleanup, isShuttingDown } = require("./lib/processGroups");

const ROOT = path.resolve(__dirname, "..");

/** @param {string[]} argv */
function parseArgs(argv) {
  let port = process.env.PERPLEXITY_LENS_PORT ? Number(process.env.PERPLEXITY_LENS_PORT) : undefined;
  let folder = path.join(ROOT, "sample-workspace");
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--port") port = Number(argv[++i]);
    else if (a === "--folder") folder = path.resolve(String(argv[++i]));
    else if (a === "--check") check = true;
    else throw new Error(`unknown argument ${a} (use --port N, --folder DIR, --check)`);
  }
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`bad port ${port}`);
  return { port, folder, check };
}

async function main() {
  const { port, folder, check } = parseArgs(process.argv.slice(2));
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const id = `${pkg.publisher}.${pkg.name}`;
  if (!fs.existsSync(path.join(ROOT, pkg.main ?? "dist/extension.js"))) throw new Error(`${pkg.main} is missing: run \`npm run build\` first`);
  await ensureHostInstalled();

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "perplexity-lens-start-"));
  // Registered first, so it runs last: after code-server has stopped writing there.
  registerCleanup(() => fs.rmSync(workDir, { recursive: true, force: true }));
  const extensionsDir = path.join(workDir, "extensions");
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.symlinkSync(ROOT, path.join(extensionsDir, `${id}-${pkg.version}`), "dir");
  // Open the workspace's README on start: it says what to try.
  writeUserSettings(path.join(workDir, "user-data"), { "workbench.startupEditor": "readme" });

  if (check) {
    const list = await runCodeServerCli(["--list-extensions", "--show-versions"], { workDir, extensionsDir });
    if (!list.stdout.split(/\r?\n/).includes(`${id}@${pkg.version}`)) {
      throw new Error(`code-server does not list ${id}@${pkg.version}:\n${list.stdout}${list.stderr}`);
    }
  }

  const server = await startCodeServer({ workDir, extensionsDir, ...(port !== undefined ? { port } : {}) });
  const url = workbenchUrl(server, folder);
  process.stdout.write(`\nPerplexity Lens ${pkg.version} in VS Code (code-server), with ${path.relative(ROOT, folder) || folder} open:\n\n  ${url}\n\n`);

  if (check) {
    const browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url, { waitUntil: "domcontentloaded" });
    await page.locator(".monaco-workbench .explorer-folders-view").first().waitFor({ state: "visible", timeout: 60_000 });
    const outDir = path.join(ROOT, "test-output");
    fs.mkdirSync(outDir, { recursive: true });
    // The extension's commands in the command palette show that the linked folder was loaded. The
    // palette lists contributed commands once the extension host has scanned the extensions, which
    // can take a while on a busy machine: reopen it until they show.
    const rows = page.locator(".quick-input-list .monaco-list-row", { hasText: pkg.displayName });
    let found = 0;
    for (let attempt = 0; attempt < 6 && found === 0; attempt++) {
      await page.keyboard.press("Escape");
      await page.keyboard.press("F1");
      await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
      await page.keyboard.type(`${pkg.displayName}: `);
      found = await rows
        .first()
        .waitFor({ state: "visible", timeout: 10_000 })
        .then(
          () => rows.count(),
          () => 0,
        );
    }
    await page.screenshot({ path: path.join(outDir, "start.png") });
    if (found === 0) throw new Error(`no ${pkg.displayName} commands in the command palette; see test-output/start.png`);
    process.stdout.write(`check: ${id} listed, ${found} of its commands in the palette; screenshot test-output/start.png\n`);
    await browser.close();
    await server.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
    return 0;
  }

  process.stdout.write(`Logs: ${server.logFile}\nPress Ctrl+C to stop.\n`);
  const code = await server.exited;
  // Ctrl+C: the signal handler is stopping everything and exits when done.
  if (isShuttingDown()) return new Promise(() => undefined);
  process.stderr.write(`code-server stopped (exit ${code}); its log: ${server.logFile}\n`);
  await server.stop();
  return 1;
}

main().then(
  (code) => process.exit(code),
  async (e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
