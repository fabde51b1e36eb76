#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * The panel in a real VS Code (code-server, through scripts/lib/codeServer.js), end to end: opens a
 * copy of sample-workspace/prose.md, runs "Perplexity Lens: Score Document", opens the Perplexity Lens
 * view, clicks the most surprising token (the editor must select it), types a few words (the KV-cache
 * section must show the rescores), switches the markdown-prose LoRA adapter on in the panel (the status bar must
 * name it, the panel must show the document with and without it) and off again from the command palette (the
 * panel's switch must follow), and saves screenshots per theme. Run `npm run build` first.
 *
 *   node webview-ui/preview/inVsCode.js [--out DIR] [--theme "Default Dark Modern"]...
 *
 * Themes default to Default Dark Modern, Default Light Modern and Default High Contrast. Screenshots go
 * to DIR (default /tmp/perplexity-lens-in-vscode): workbench-<theme>.png after the click,
 * live-<theme>.png after typing, lora-<theme>.png with the adapter on. Exit code 1 when a check fails.
 */
const fs = require("fs");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "../..");
const { startCodeServer, launchBrowser, workbenchUrl, writeUserSettings } = /** @type {typeof import("../../scripts/lib/codeServer")} */ (
  require(path.join(ROOT, "scripts/lib/codeServer"))
);

const args = process.argv.slice(2);
const outDir = path.resolve(args.includes("--out") ? String(args[args.indexOf("--out") + 1]) : "/tmp/perplexity-lens-in-vscode");
const themes = args.flatMap((a, i) => (a === "--theme" && args[i + 1] ? [String(args[i + 1])] : []));
if (themes.length === 0) themes.push("Default Dark Modern", "Default Light Modern", "Default High Contrast");

/**
 * The first frame of the page that has an element matching `selector` (the panel's webview), or null after the timeout.
 * @param {import("playwright-core").Page} page
 * @param {string} selector
 * @param {number} timeoutMillis
 */
async function panelFrame(page, selector, timeoutMillis) {
  const deadline = Date.now() + timeoutMillis;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      try {
        if ((await frame.locator(selector).count()) > 0) return frame;
      } catch {
        // Frames come and go while the workbench loads.
      }
    }
    await page.waitForTimeout(500);
  }
  return null;
}

/**
 * @param {string} theme
 * @param {string[]} problems what failed, appended to
 */
async function runTheme(theme, problems) {
  const slug = theme.replace(/\W+/g, "-").toLowerCase();
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "perplexity-lens-panel-"));
  const extensionsDir = path.join(workDir, "extensions");
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.symlinkSync(ROOT, path.join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`), "dir");
  // A copy: typing in the editor must never touch the repository's sample files.
  const folder = path.join(workDir, "workspace");
  fs.cpSync(path.join(ROOT, "sample-workspace"), folder, { recursive: true });
  writeUserSettings(path.join(workDir, "user-data"), { "workbench.startupEditor": "none", "workbench.colorTheme": theme, "files.autoSave": "off" });
  const server = await startCodeServer({ workDir, extensionsDir });
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
  try {
    await page.goto(workbenchUrl(server, folder), { waitUntil: "domcontentloaded" });
    await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "prose.md" }).first().dblclick({ timeout: 60_000 });
    const editor = page.locator(".monaco-editor .view-lines").first();
    await editor.waitFor({ state: "visible", timeout: 30_000 });
    await editor.click();
    await page.keyboard.press("F1");
    await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
    await page.keyboard.type("Perplexity Lens: Score Document");
    await page.waitForTimeout(800);
    await page.keyboard.press("Enter");
    await page.locator('.activitybar .action-label[aria-label^="Perplexity Lens"]').first().click({ timeout: 20_000 });

    const frame = await panelFrame(page, ".tile", 60_000);
    if (!frame) {
      problems.push(`${theme}: the panel never showed a scored document`);
      await page.screenshot({ path: path.join(outDir, `workbench-${slug}.png`) });
      return;
    }
    const shown = await frame.evaluate(() => ({
      tiles: [...document.querySelectorAll(".tile-value")].map((t) => t.textContent),
      surprisingTokens: document.querySelectorAll(".surprising li").length,
      cache: /** @type {any} */ (document.querySelector('vscode-collapsible[data-section="cache"]'))?.description,
      model: /** @type {any} */ (document.querySelector('vscode-collapsible[data-section="model"]'))?.description,
    }));
    console.log(`${theme}: ${JSON.stringify(shown)}`);
    if (shown.tiles.length !== 4 || shown.surprisingTokens === 0 || !shown.model) problems.push(`${theme}: panel shows ${JSON.stringify(shown)}`);

    await frame.locator(".surprising .token-button").first().click();
    const selected = await page
      .locator(".monaco-editor .selected-text")
      .first()
      .waitFor({ state: "attached", timeout: 10_000 })
      .then(
        () => true,
        () => false,
      );
    if (!selected) problems.push(`${theme}: clicking a surprising token selected nothing in the editor`);
    await page.screenshot({ path: path.join(outDir, `workbench-${slug}.png`) });

    await checkLora(page, frame, theme, slug, problems);

    await editor.click();
    await page.keyboard.press("Control+End");
    for (const word of ["\nThe", " parser", " is", " fast."]) {
      await page.keyboard.type(word, { delay: 30 });
      await page.waitForTimeout(600);
    }
    // Rescores take longer on a busy machine: wait up to 30 s for them to reach the panel.
    await frame.waitForFunction(() => document.querySelectorAll(".reuse-history g").length >= 2, undefined, { timeout: 30_000 }).catch(() => undefined);
    const live = await frame.evaluate(() => ({
      rescoresCharted: document.querySelectorAll(".reuse-history g").length,
      summary: document.querySelector('vscode-collapsible[data-section="cache"] .caption')?.textContent ?? "",
    }));
    console.log(`${theme}: after typing ${JSON.stringify(live)}`);
    if (live.rescoresCharted < 2) problems.push(`${theme}: the reuse history shows ${live.rescoresCharted} rescores after typing`);
    await frame.locator('vscode-collapsible[data-section="cache"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(outDir, `live-${slug}.png`) });
  } catch (error) {
    problems.push(`${theme}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)} (see failed-${slug}.png)`);
    await page.screenshot({ path: path.join(outDir, `failed-${slug}.png`) }).catch(() => undefined);
  } finally {
    await browser.close();
    await server.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

const STATUS_ITEM = '[id="perplexity-lens.perplexity-lens.perplexityLens.status"]';
const ADAPTER = "markdown-prose";

/**
 * The status bar's text once `accept` holds, or the last text seen after the timeout.
 * @param {import("playwright-core").Page} page
 * @param {(text: string) => boolean} accept
 * @param {number} timeoutMillis
 */
async function statusText(page, accept, timeoutMillis) {
  const deadline = Date.now() + timeoutMillis;
  let text = "";
  while (Date.now() < deadline) {
    text =
      (await page
        .locator(STATUS_ITEM)
        .first()
        .textContent()
        .catch(() => "")) ?? "";
    if (accept(text)) return text;
    await page.waitForTimeout(500);
  }
  return text;
}

/**
 * The LoRA section and the command palette show one state: switched on in the panel, the status bar names the adapter
 * and the panel compares the document with and without it; switched off from the palette, the panel's switch follows.
 * @param {import("playwright-core").Page} page
 * @param {import("playwright-core").Frame} frame
 * @param {string} theme
 * @param {string} slug the theme's name in screenshot file names
 * @param {string[]} problems what failed, appended to
 */
async function checkLora(page, frame, theme, slug, problems) {
  const toggle = frame.locator(`[data-adapter="${ADAPTER}"] vscode-checkbox`);
  const listed = await toggle.waitFor({ state: "attached", timeout: 60_000 }).then(
    () => true,
    () => false,
  );
  if (!listed) {
    problems.push(`${theme}: the LoRA section never listed ${ADAPTER}`);
    return;
  }
  await frame.locator('vscode-collapsible[data-section="lora"]').scrollIntoViewIfNeeded();
  await toggle.click();
  const status = await statusText(page, (t) => t.includes(ADAPTER) && /ppl\s+[\d,.]+/.test(t) && !/~|scoring|loading/.test(t), 90_000);
  if (!status.includes(ADAPTER)) problems.push(`${theme}: after switching ${ADAPTER} on in the panel the status bar reads ${JSON.stringify(status)}`);
  await frame
    .waitForFunction(() => /\d/.test(document.querySelector('.lora-figures td[data-figure="base"]')?.textContent ?? ""), undefined, { timeout: 90_000 })
    .catch(() => undefined);
  const shown = await frame.evaluate(
    (name) => ({
      on: document.querySelector(`[data-adapter="${name}"]`)?.classList.contains("lora-on") ?? false,
      base: document.querySelector('.lora-figures td[data-figure="base"]')?.textContent ?? "",
      with: document.querySelector('.lora-figures td[data-figure="with"]')?.textContent ?? "",
      note: document.querySelector(".lora-comparison .caption")?.textContent ?? "",
      mode: document.querySelector(".lora-mode")?.getAttribute("data-mode") ?? "",
    }),
    ADAPTER,
  );
  // The KV-cache section says the cache was reset by the switch (a notice until the rescore, then "last reset").
  const resetShown = await frame
    .waitForFunction(() => /adapter changed/.test(document.querySelector('vscode-collapsible[data-section="cache"]')?.textContent ?? ""), undefined, {
      timeout: 30_000,
    })
    .then(
      () => true,
      () => false,
    );
  if (!resetShown) problems.push(`${theme}: after switching ${ADAPTER} on in the panel the KV-cache section does not say "adapter changed"`);
  console.log(`${theme}: LoRA on from the panel: status ${JSON.stringify(status)}, panel ${JSON.stringify(shown)}, cache reset shown ${resetShown}`);
  if (!shown.on || !/\d/.test(shown.base) || !/\d/.test(shown.with) || shown.base === shown.with)
    problems.push(`${theme}: with ${ADAPTER} on the LoRA section shows ${JSON.stringify(shown)}`);
  // An edit with the adapter on: the base figures of the new version come from the worker's scoreBase.
  const editor = page.locator(".monaco-editor .view-lines").first();
  await editor.click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type("\nAdapters change the numbers.", { delay: 20 });
  const scoredBase = await frame
    .waitForFunction(() => /base scored in/.test(document.querySelector(".lora-comparison .caption")?.textContent ?? ""), undefined, { timeout: 90_000 })
    .then(
      () => true,
      () => false,
    );
  const afterEdit = await frame.evaluate(() => ({
    base: document.querySelector('.lora-figures td[data-figure="base"]')?.textContent ?? "",
    with: document.querySelector('.lora-figures td[data-figure="with"]')?.textContent ?? "",
    note: document.querySelector(".lora-comparison .caption")?.textContent ?? "",
  }));
  console.log(`${theme}: LoRA after an edit: ${JSON.stringify(afterEdit)}`);
  if (!scoredBase || !/\d/.test(afterEdit.base))
    problems.push(`${theme}: after an edit with ${ADAPTER} on the LoRA section shows ${JSON.stringify(afterEdit)}`);
  await frame
    .locator(".lora-comparison")
    .scrollIntoViewIfNeeded()
    .catch(() => undefined);
  await page.screenshot({ path: path.join(outDir, `lora-${slug}.png`) });

  // Off again from the command palette: the panel's switch follows.
  await page.keyboard.press("F1");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type("Perplexity Lens: Toggle LoRA Adapter");
  await page.waitForTimeout(800);
  await page.keyboard.press("Enter");
  const row = page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: ADAPTER }).first();
  await row.waitFor({ state: "visible", timeout: 30_000 });
  await row.click();
  await page.locator('.quick-input-widget .monaco-button:has-text("OK")').click();
  const off = await frame
    .waitForFunction((name) => document.querySelector(`[data-adapter="${name}"]`)?.classList.contains("lora-on") === false, ADAPTER, { timeout: 60_000 })
    .then(
      () => true,
      () => false,
    );
  const statusOff = await statusText(page, (t) => !t.includes(ADAPTER), 30_000);
  console.log(`${theme}: LoRA off from the palette: panel switch off ${off}, status ${JSON.stringify(statusOff)}`);
  if (!off || statusOff.includes(ADAPTER))
    problems.push(
      `${theme}: after switching ${ADAPTER} off from the palette the panel switch is ${off ? "off" : "on"} and the status bar reads ${JSON.stringify(statusOff)}`,
    );
}

async function main() {
  if (!fs.existsSync(path.join(ROOT, "dist", "extension.js"))) throw new Error("dist/extension.js is missing: run `npm run build` first");
  fs.mkdirSync(outDir, { recursive: true });
  /** @type {string[]} */
  const problems = [];
  for (const theme of themes) await runTheme(theme, problems);
  console.log(`screenshots in ${outDir}`);
  if (problems.length > 0) {
    console.error(problems.join("\n"));
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
