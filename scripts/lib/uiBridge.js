// @ts-check
"use strict";
/**
 * The UI bridge: lets tests that run *inside* the extension host ask for observations of the live
 * workbench, which only the Playwright side can see (editor DOM and computed styles of decorations,
 * hovers, the status bar, the nested iframes of webviews, screenshots).
 *
 * Why this design: the in-host mocha suite drives VS Code through its API (open a document, run a
 * command, await the result) and knows exactly *when* the UI should show something. Running UI checks
 * from the Playwright side instead would need a second channel to learn when the in-host steps are
 * done, and would split each test in two files. So the shim (which owns the Playwright `page`) serves
 * a tiny HTTP endpoint on 127.0.0.1 with a random token, names it in the extension host's environment
 * (PERPLEXITY_LENS_UI_BRIDGE), and the in-host client (test/integration/uiBridge.ts) posts
 * operations to it. Without a bridge (desktop VS Code through VSCODE_PATH), UI checks skip and the API
 * checks of the same suite still run: one suite, both hosts.
 *
 * Protocol: POST <bridge>/  body {"op": string, ...args}  →  200 {"ok": true, "value": any}
 *                                                         or 200 {"ok": false, "error": string}
 * Operations (keep test/integration/uiBridge.ts in step):
 *   screenshot {name}                          → absolute path of test-output/<name>.png
 *   evaluate   {expression, frame?}            → JSON value of the expression in the page (or frame)
 *   query      {selector, frame?, styles?, limit?} → [{text, className, styles: {prop: value}}]
 *                                                (text with no-break spaces turned into spaces)
 *   waitFor    {selector, frame?, timeoutMs?, state?} → true, or false when it timed out
 *   press      {keys}                          keyboard shortcut, e.g. "F1", "Control+P", "Escape"
 *   type       {text}                          types into the focused element
 *   click      {selector, frame?}
 *   hover      {selector, frame?, index?}
 *   frames     {}                              → [{name, url}] of every frame
 * `frame` picks the frames whose URL contains the string; the selector is tried in each of them
 * (webview content sits in an inner iframe of an outer one).
 */
const fs = require("fs");
const http = require("http");
const path = require("path");
const crypto = require("crypto");

/**
 * @param {import('playwright-core').Page} page
 * @param {string | undefined} frameFilter
 */
function framesFor(page, frameFilter) {
  if (!frameFilter) return [page.mainFrame()];
  return page.frames().filter((f) => f.url().includes(frameFilter));
}

/**
 * Finds the first frame where `selector` matches, waiting up to `timeoutMs`.
 * @param {import('playwright-core').Page} page
 * @param {string} selector
 * @param {string | undefined} frameFilter
 * @param {number} timeoutMs
 */
async function locate(page, selector, frameFilter, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of framesFor(page, frameFilter)) {
      const loc = f.locator(selector);
      if ((await loc.count().catch(() => 0)) > 0) return loc;
    }
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} outputDir
 * @param {Record<string, any>} req
 */
async function perform(page, outputDir, req) {
  switch (req.op) {
    case "screenshot": {
      const name = String(req.name ?? "screenshot")
        .replace(/[^\w.-]+/g, "_")
        .slice(0, 120);
      fs.mkdirSync(outputDir, { recursive: true });
      const file = path.join(outputDir, name.endsWith(".png") ? name : `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    }
    case "evaluate": {
      const [frame] = framesFor(page, req.frame);
      if (!frame) throw new Error(`no frame matches ${req.frame}`);
      return frame.evaluate(String(req.expression));
    }
    case "query": {
      const limit = Number(req.limit ?? 500);
      /** @type {string[]} */
      const styles = Array.isArray(req.styles) ? req.styles.map(String) : [];
      const out = [];
      for (const f of framesFor(page, req.frame)) {
        const found = await f.$$eval(
          String(req.selector),
          (els, a) =>
            els.slice(0, a.limit).map((el) => {
              const cs = getComputedStyle(el);
              /** @type {Record<string, string>} */
              const st = {};
              for (const p of a.styles) st[p] = cs.getPropertyValue(p);
              // Monaco renders spaces as no-break spaces; tests compare with ordinary text.
              return { text: (el.textContent ?? "").replace(/\u00a0/g, " "), className: typeof el.className === "string" ? el.className : "", styles: st };
            }),
          { limit, styles },
        );
        out.push(...found);
        if (out.length >= limit) break;
      }
      return out.slice(0, limit);
    }
    case "waitFor": {
      const loc = await locate(page, String(req.selector), req.frame, Number(req.timeoutMs ?? 10_000));
      if (!loc) return false;
      if (req.state === "visible") {
        return loc
          .first()
          .waitFor({ state: "visible", timeout: Number(req.timeoutMs ?? 10_000) })
          .then(
            () => true,
            () => false,
          );
      }
      return true;
    }
    case "press":
      await page.keyboard.press(String(req.keys));
      return null;
    case "type":
      await page.keyboard.type(String(req.text), { delay: Number(req.delayMs ?? 10) });
      return null;
    case "click":
    case "hover": {
      const loc = await locate(page, String(req.selector), req.frame, Number(req.timeoutMs ?? 10_000));
      if (!loc) throw new Error(`nothing matches ${req.selector}`);
      const target = loc.nth(Number(req.index ?? 0));
      if (req.op === "click") await target.click({ timeout: 10_000 });
      else await target.hover({ timeout: 10_000, force: true });
      return null;
    }
    case "frames":
      return page.frames().map((f) => ({ name: f.name(), url: f.url() }));
    default:
      throw new Error(`unknown UI bridge operation ${JSON.stringify(req.op)}`);
  }
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} outputDir  where screenshots go
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
async function startUiBridge(page, outputDir) {
  const token = crypto.randomBytes(16).toString("hex");
  // One operation at a time: keyboard and mouse steps must not interleave.
  let queue = Promise.resolve();
  const server = http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== `/${token}`) {
      res.writeHead(404).end();
      return;
    }
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      queue = queue.then(async () => {
        /** @type {{ ok: boolean, value?: unknown, error?: string }} */
        let reply;
        try {
          reply = { ok: true, value: await perform(page, outputDir, JSON.parse(body)) };
        } catch (e) {
          reply = { ok: false, error: e instanceof Error ? e.message : String(e) };
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply ?? null));
      });
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/${token}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

module.exports = { startUiBridge };
