#!/usr/bin/env node
// @ts-check
"use strict";
/**
 * Renders the panel's webview outside VS Code and takes screenshots, for a visual check of
 * dist/webview/webview.js + panel.css (run `npm run build` first).
 *
 *   node webview-ui/preview/preview.js [--out DIR] [--width 360] [--score-json F --model-json F] [--comparison-json F]
 *
 * With --score-json (the output of `perplexity-lens score FILE --json`) and --model-json (of
 * `perplexity-lens info --json`) it shows those real numbers instead of the synthetic sample.
 *
 * It serves the page the host builds (src/extension/panel/panelHtml.ts: CSP default-src 'none', nonce'd
 * script, styles only from the webview's resource origin) with a fake `acquireVsCodeApi` that answers
 * `ready` with sample data built by the real src/core/documentStats.ts, in VS Code's Dark Modern, Light Modern and High Contrast colours.
 * It fails on CSP violations, page errors and console errors, and on chart marks drawn in a
 * missing or translucent colour; it checks that clicking a surprising token
 * posts `revealToken`, and that a reload restores the panel from getState before any data is posted.
 * Screenshots: DIR/panel-{dark,light,hc}.png, panel-tab-dark.png (wide), panel-empty-dark.png,
 * panel-restored-light.png, panel-reset-light.png (the KV-cache section with its reset notice), each also cut in 800-px parts (*.partN.png). DIR defaults to
 * /tmp/perplexity-lens-preview.
 *
 * Browser: /usr/bin/chromium if present, else @sparticuz/chromium's bundled binary.
 */
const fs = require("fs");
const http = require("http");
const path = require("path");
const crypto = require("crypto");
const ts = require("typescript");

/** @typedef {import("../../src/core/types").Metrics} Metrics */
/** @typedef {import("../../src/core/types").MethodInfo} MethodInfo */
/** @typedef {import("../../src/core/types").ModelInfo} ModelInfo */
/** @typedef {import("../../src/core/types").TokenScore} TokenScore */
/** @typedef {import("../../src/core/documentStats").RescoreRecord} RescoreRecord */
/** @typedef {import("../../src/protocol/webview").DocumentView} DocumentView */
/** @typedef {import("../../src/protocol/webview").CacheView} CacheView */
/** @typedef {import("../../src/protocol/webview").AdapterRow} AdapterRow */
/** @typedef {import("../../src/protocol/webview").PerplexityFigures} PerplexityFigures */
/** @typedef {import("../../src/protocol/webview").ExtToWebviewMessage} ExtToWebviewMessage what the (fake) host posts to the panel */
/** @typedef {import("../../src/protocol/webview").WebviewToExtMessage} WebviewToExtMessage what the panel posts to the host */

const root = path.resolve(__dirname, "../..");
const args = process.argv.slice(2);
/** @type {(name: string, fallback: string) => string} */
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? /** @type {string} */ (args[i + 1]) : fallback;
};
const outDir = path.resolve(argValue("--out", "/tmp/perplexity-lens-preview"));
const sidebarWidth = Number(argValue("--width", "360"));
/** Real data instead of the synthetic sample: `perplexity-lens score FILE --json` and `perplexity-lens info --json`. */
const scoreJsonPath = argValue("--score-json", "");
const modelJsonPath = argValue("--model-json", "");
/** A comparison view (src/protocol/webview.ts ComparisonView, e.g. built by buildComparisonView) for the comparison section. */
const comparisonJsonPath = argValue("--comparison-json", "");

/**
 * Loads a TypeScript module of src/ whose only run-time imports are in `modules`, by transpiling it.
 * @param {string} relativePath
 * @param {Record<string, unknown>} [modules]
 * @returns {unknown} the module's exports (the caller says what they are)
 */
function loadTs(relativePath, modules = {}) {
  const source = fs.readFileSync(path.join(root, relativePath), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  const module = { exports: {} };
  /** @param {string} name */
  const requireFrom = (name) => {
    if (name in modules) return modules[name];
    throw new Error(`${relativePath} requires ${name}, which the preview does not provide`);
  };
  new Function("module", "exports", "require", outputText)(module, module.exports, requireFrom);
  return module.exports;
}

const surprisal = loadTs("src/core/surprisal.ts");
const { documentStats } = /** @type {typeof import("../../src/core/documentStats")} */ (loadTs("src/core/documentStats.ts", { "./surprisal": surprisal }));
const { kvBytesBreakdown } = /** @type {typeof import("../../src/core/kvBytes")} */ (loadTs("src/core/kvBytes.ts"));
const { RescoreHistory } = /** @type {typeof import("../../src/core/rescoreHistory")} */ (loadTs("src/core/rescoreHistory.ts"));

/** Just enough of `vscode` for the host's panelHtml(): Uri.joinPath. */
const fakeVscode = {
  Uri: { joinPath: (/** @type {{ path: string }} */ base, /** @type {string[]} */ ...parts) => ({ path: [base.path, ...parts].join("/") }) },
};
const { panelHtml } = /** @type {typeof import("../../src/extension/panel/panelHtml")} */ (
  loadTs("src/extension/panel/panelHtml.ts", { vscode: fakeVscode, "node:crypto": crypto })
);

// ---------------------------------------------------------------- sample data

/**
 * Deterministic pseudo-random numbers (mulberry32), so screenshots are comparable between runs.
 * @param {number} seed
 */
function random(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Messages built from a real `score --json` report and `info --json` model description.
 * @returns {ExtToWebviewMessage[]}
 */
function realData() {
  const report = JSON.parse(fs.readFileSync(scoreJsonPath, "utf8"));
  const model = JSON.parse(fs.readFileSync(modelJsonPath, "utf8"));
  const tokens = report.tokens;
  const tokensCached = Math.min(tokens.length, model.contextLength);
  const history = new RescoreHistory(40);
  const fullMillis = tokens.length * 0.06;
  history.add("sample.txt", { tokensReused: 0, tokensRecomputed: tokens.length, millis: fullMillis, fullRescoreMillisEstimate: fullMillis }, Date.now() - 5000);
  history.add("sample.txt", { tokensReused: tokens.length - 40, tokensRecomputed: 40, millis: 2.4, fullRescoreMillisEstimate: fullMillis }, Date.now());
  const last = /** @type {RescoreRecord} */ (history.records[history.records.length - 1]);
  const cacheStats = {
    tokensCached,
    bytesHeld: model.kvBytesPerToken * tokensCached,
    budgetBytes: 64 * 1024 * 1024,
    layerShape: [1, model.numKvHeads, tokensCached, model.headDim],
    tokensReused: last.tokensReused,
    tokensRecomputed: tokens.length + 40,
    hitRate: last.tokensReused / (last.tokensReused + tokens.length + 40),
    evictions: 0,
    lastReset: "model loaded",
  };
  const document = {
    docId: "doc-5a3c0e1f2b4d6a78",
    fileName: "sample.txt",
    version: 2,
    modelName: report.model.name,
    method: report.method,
    metrics: report.metrics,
    stats: documentStats(report, { mostSurprisingCount: 20 }),
    scoredAt: last.at,
  };
  const cache = {
    stats: cacheStats,
    reason: null,
    bytes: kvBytesBreakdown(model, tokensCached),
    lastRescore: {
      tokensReused: last.tokensReused,
      tokensRecomputed: last.tokensRecomputed,
      millis: last.millis,
      fullRescoreMillisEstimate: last.fullRescoreMillisEstimate,
    },
    history: [...history.records],
    historyTotals: history.aggregates(),
  };
  return [
    { type: "model", data: model },
    { type: "document", data: document },
    { type: "cache", data: cache },
  ];
}

/**
 * The LoRA section's sample: the two adapters the default model ships, one on at scale 0.75 (feed mode), and the
 * document with and without it (the "with" figures are the document's own; the base ones 12 % higher).
 * @param {DocumentView | null | undefined} document
 * @returns {ExtToWebviewMessage}
 */
function sampleAdapters(document) {
  const modelsDir = "/home/user/.vscode/extensions/perplexity-lens/models/lens-gpt2-bpe4k/adapters";
  /** @type {(name: string, description: string) => AdapterRow} */
  const adapter = (name, description) => ({
    id: `adapter-${name}`,
    name,
    path: `${modelsDir}/${name}`,
    rank: 8,
    alpha: 16,
    targetModules: ["q_proj", "v_proj"],
    description,
    enabled: false,
    scale: 1,
  });
  const prose = {
    ...adapter(
      "markdown-prose",
      "Markdown prose: READMEs, changelogs and documentation pages (.md) of npm packages (LoRA r=8, alpha=16, trained 120 steps, 491520 tokens)",
    ),
    enabled: true,
    scale: 0.75,
  };
  const code = adapter("typescript-code", "TypeScript code: .ts sources of npm packages (LoRA r=8, alpha=16, trained 120 steps, 491520 tokens)");
  /** @type {(m: Metrics, factor: number) => PerplexityFigures} */
  const figures = (m, factor) => ({
    tokenPerplexity: m.tokenPerplexity === null ? null : m.tokenPerplexity * factor,
    bitsPerByte: m.bitsPerByte === null ? null : m.bitsPerByte + Math.log2(factor) / 4,
    scoredTokens: m.scoredTokens,
  });
  return {
    type: "adapters",
    data: {
      modelName: "lens-gpt2-bpe4k",
      adapters: [prose, code],
      mode: "feed",
      matchedModules: 8,
      problems: [],
      switching: false,
      error: null,
      comparison: document
        ? {
            docUri: "file:///home/user/notes.md",
            fileName: document.fileName,
            version: document.version,
            adapters: [{ name: prose.name, scale: prose.scale }],
            base: figures(document.metrics, 1.12),
            withAdapters: figures(document.metrics, 1),
            baseNote: "base scored in 38 ms (14 tokens computed, 297 reused)",
          }
        : null,
    },
  };
}

/**
 * The sample messages; `reset`: the cache update says the cache was just reset (as after an adapter switch).
 * @returns {ExtToWebviewMessage[]}
 */
function sampleData(reset = false) {
  const messages = syntheticOrRealData();
  messages.push(sampleAdapters(messages.find((m) => m.type === "document")?.data));
  if (comparisonJsonPath) messages.push({ type: "comparison", data: JSON.parse(fs.readFileSync(comparisonJsonPath, "utf8")) });
  if (reset) {
    const cache = messages.find((m) => m.type === "cache")?.data;
    if (cache) cache.reason = "adapter changed (legal × 1.0)";
  }
  return messages;
}

/** @returns {ExtToWebviewMessage[]} */
function syntheticOrRealData() {
  if (scoreJsonPath && modelJsonPath) return realData();
  const text =
    "The quick brown fox jumps over the lazy dog. Perplexity measures how surprised a language model is by a text: " +
    "the exponential of the mean negative log-likelihood per token.\n\tA zebra quantized the eigenvalues of Tuesday.\n" +
    "function add(a, b) { return a + b; }\n";
  const pieces = text.match(/\s*\S+|\s+/g) ?? [];
  const next = random(7);
  let offset = 0;
  /** @type {TokenScore[]} */
  const tokens = pieces.map((piece, i) => {
    const start = offset;
    offset += piece.length;
    const surprising = /zebra|quantized|eigenvalues|Tuesday|Perplexity/.test(piece);
    const bits = surprising ? 9 + next() * 8 : Math.max(0.05, -Math.log2(next()) * 2.2);
    const logprob = -bits * Math.LN2;
    const rank = Math.max(1, Math.round(2 ** (bits * 0.75) * (0.5 + next())));
    return {
      id: i,
      text: piece,
      start,
      end: offset,
      logprob: i === 0 ? null : logprob,
      prob: i === 0 ? null : Math.exp(logprob),
      rank: i === 0 ? null : rank,
      entropy: 3,
      top: [{ id: 0, text: surprising ? " the" : piece, logprob: -0.7 }],
    };
  });
  // Only the first token is unscored (its logprob and rank are both null).
  const scored = tokens.filter(/** @type {(t: TokenScore) => t is TokenScore & { logprob: number, rank: number }} */ ((t) => t.logprob !== null));
  const nlls = scored.map((t) => -t.logprob);
  const nll = nlls.reduce((a, b) => a + b, 0);
  const mean = nll / scored.length;
  const variance = nlls.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (scored.length - 1);
  const bytes = Buffer.byteLength(text, "utf8");
  const words = text.split(/\s+/).filter(Boolean).length;
  const bucket = (/** @type {number} */ lo, /** @type {number} */ hi) => scored.filter((t) => t.rank > lo && t.rank <= hi).length;
  const metrics = {
    tokens: tokens.length,
    scoredTokens: scored.length,
    bytes,
    words,
    nll,
    tokenPerplexity: Math.exp(mean),
    wordPerplexity: Math.exp(nll / words),
    bytePerplexity: Math.exp(nll / bytes),
    bitsPerByte: nll / (bytes * Math.LN2),
    nllStdErr: Math.sqrt(variance / scored.length),
    rankBuckets: { top10: bucket(0, 10), top100: bucket(10, 100), top1000: bucket(100, 1000), rest: bucket(1000, Infinity) },
  };
  /** @type {MethodInfo} */
  const method = { method: "sliding", window: 256, stride: 128, prefix: "eos:<|endoftext|>" };
  /** @type {ModelInfo} */
  const model = {
    name: "lens-gpt2-bpe4k",
    path: "/home/user/.vscode/extensions/perplexity-lens/models/lens-gpt2-bpe4k",
    source: "embedded",
    architecture: "gpt2",
    modelType: "gpt2",
    vocabSize: 4096,
    contextLength: 256,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 64,
    hiddenSize: 256,
    parameters: 4_290_816,
    parametersEstimate: 12 * 4 * 256 * 256,
    flopsPerToken: 2 * 4_290_816,
    kvDtype: "float32",
    kvBytesPerToken: 2 * 4 * 4 * 64 * 4,
    tokenizerType: "BPE (byte-level, 4k)",
    files: [
      { name: "model.onnx", bytes: 17_301_504 },
      { name: "tokenizer.json", bytes: 312_882 },
      { name: "config.json", bytes: 612 },
      { name: "tokenizer_config.json", bytes: 402 },
    ],
    loraInputs: true,
  };
  const history = new RescoreHistory(40);
  const rescoreRandom = random(11);
  let at = Date.UTC(2026, 10, 27, 14, 0, 0);
  for (let i = 0; i < 27; i++) {
    const total = 180 + Math.round(rescoreRandom() * 150);
    const recomputed = i === 0 || i === 15 ? total : Math.round(total * rescoreRandom() * 0.25);
    at += 900;
    history.add(
      "notes.md",
      { tokensReused: total - recomputed, tokensRecomputed: recomputed, millis: recomputed * 0.08 + 0.6, fullRescoreMillisEstimate: total * 0.08 + 0.6 },
      at,
    );
  }
  const last = /** @type {RescoreRecord} */ (history.records[history.records.length - 1]);
  const tokensCached = 312;
  const cacheStats = {
    tokensCached,
    bytesHeld: model.kvBytesPerToken * tokensCached,
    budgetBytes: 8 * 1024 * 1024,
    layerShape: [1, 4, tokensCached, 64],
    tokensReused: 6123,
    tokensRecomputed: 1402,
    hitRate: 6123 / (6123 + 1402),
    evictions: 2,
  };
  const document = {
    docId: "doc-9b1d7c3e5f2a4b60",
    fileName: "notes.md",
    version: 28,
    modelName: model.name,
    method,
    metrics,
    stats: documentStats({ method, metrics, tokens }, { mostSurprisingCount: 12 }),
    scoredAt: at,
  };
  const cache = {
    stats: cacheStats,
    reason: null,
    bytes: kvBytesBreakdown(model, tokensCached),
    lastRescore: {
      tokensReused: last.tokensReused,
      tokensRecomputed: last.tokensRecomputed,
      millis: last.millis,
      fullRescoreMillisEstimate: last.fullRescoreMillisEstimate,
    },
    history: [...history.records],
    historyTotals: history.aggregates(),
  };
  return [
    { type: "model", data: model },
    { type: "document", data: document },
    { type: "cache", data: cache },
  ];
}

// ---------------------------------------------------------------- themes (a subset of what VS Code injects)

const fontVariables = {
  "--vscode-font-family": 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
  "--vscode-font-size": "13px",
  "--vscode-editor-font-family": "'Droid Sans Mono', monospace",
};

/**
 * Theme variables as code-server 4.139.1 (VS Code 1.139.1) gives them to a webview in Default Dark
 * Modern, Default Light Modern and Default High Contrast: the ones panel.css uses, read from a real
 * panel (High Contrast has no charts.orange; the Modern themes' charts.orange has an alpha), plus a
 * few the web components use.
 */
const themes = {
  dark: {
    bodyClass: "vscode-dark",
    vars: {
      "--vscode-charts-blue": "#59a4f9",
      "--vscode-charts-green": "#89d185",
      "--vscode-charts-yellow": "#cca700",
      "--vscode-charts-red": "#f14c4c",
      "--vscode-charts-purple": "#b180d7",
      "--vscode-charts-orange": "rgba(234, 92, 0, 0.33)",
      "--vscode-foreground": "#cccccc",
      "--vscode-sideBar-background": "#181818",
      "--vscode-editor-background": "#1f1f1f",
      "--vscode-descriptionForeground": "#9d9d9d",
      "--vscode-textBlockQuote-border": "#616161",
      "--vscode-focusBorder": "#0078d4",
      "--vscode-textBlockQuote-background": "#2b2b2b",
      "--vscode-inputValidation-infoBorder": "#007acc",
      "--vscode-inputValidation-infoBackground": "#063b49",
      "--vscode-editorWarning-foreground": "#cca700",
      "--vscode-errorForeground": "#f85149",
      "--vscode-widget-border": "#313131",
      "--vscode-editorWidget-background": "#202020",
      "--vscode-list-hoverBackground": "#2a2d2e",
      "--vscode-textCodeBlock-background": "#2b2b2b",
      "--vscode-sideBarSectionHeader-background": "#181818",
      "--vscode-sideBarTitle-foreground": "#cccccc",
      "--vscode-icon-foreground": "#cccccc",
      "--vscode-progressBar-background": "#0078d4",
    },
  },
  light: {
    bodyClass: "vscode-light",
    vars: {
      "--vscode-charts-blue": "#0063d3",
      "--vscode-charts-green": "#388a34",
      "--vscode-charts-yellow": "#bf8803",
      "--vscode-charts-red": "#e51400",
      "--vscode-charts-purple": "#652d90",
      "--vscode-charts-orange": "rgba(234, 92, 0, 0.33)",
      "--vscode-foreground": "#3b3b3b",
      "--vscode-sideBar-background": "#f8f8f8",
      "--vscode-editor-background": "#ffffff",
      "--vscode-descriptionForeground": "#3b3b3b",
      "--vscode-textBlockQuote-border": "#e5e5e5",
      "--vscode-focusBorder": "#005fb8",
      "--vscode-textBlockQuote-background": "#f8f8f8",
      "--vscode-inputValidation-infoBorder": "#007acc",
      "--vscode-inputValidation-infoBackground": "#d6ecf2",
      "--vscode-editorWarning-foreground": "#bf8803",
      "--vscode-errorForeground": "#f85149",
      "--vscode-widget-border": "#e5e5e5",
      "--vscode-editorWidget-background": "#f8f8f8",
      "--vscode-list-hoverBackground": "#f2f2f2",
      "--vscode-textCodeBlock-background": "#f8f8f8",
      "--vscode-sideBarSectionHeader-background": "#f8f8f8",
      "--vscode-sideBarTitle-foreground": "#3b3b3b",
      "--vscode-icon-foreground": "#3b3b3b",
      "--vscode-progressBar-background": "#005fb8",
    },
  },
  hc: {
    bodyClass: "vscode-high-contrast",
    vars: {
      "--vscode-contrastBorder": "#6fc3df",
      "--vscode-charts-blue": "#59a4f9",
      "--vscode-charts-green": "#89d185",
      "--vscode-charts-yellow": "#ffd370",
      "--vscode-charts-red": "#f48771",
      "--vscode-charts-purple": "#b180d7",
      "--vscode-foreground": "#ffffff",
      "--vscode-sideBar-background": "#000000",
      "--vscode-editor-background": "#000000",
      "--vscode-descriptionForeground": "rgba(255, 255, 255, 0.7)",
      "--vscode-textBlockQuote-border": "#ffffff",
      "--vscode-focusBorder": "#f38518",
      "--vscode-inputValidation-infoBorder": "#6fc3df",
      "--vscode-inputValidation-infoBackground": "#000000",
      "--vscode-editorWarning-foreground": "#ffd370",
      "--vscode-errorForeground": "#f48771",
      "--vscode-widget-border": "#6fc3df",
      "--vscode-editorWidget-background": "#0c141f",
      "--vscode-list-hoverBackground": "rgba(255, 255, 255, 0.1)",
      "--vscode-textCodeBlock-background": "#000000",
      "--vscode-sideBarSectionHeader-background": "#000000",
      "--vscode-sideBarTitle-foreground": "#ffffff",
      "--vscode-icon-foreground": "#ffffff",
      "--vscode-progressBar-background": "#6fc3df",
    },
  },
};

// ---------------------------------------------------------------- page and server

/** @param {keyof typeof themes} theme */
function themeCss(theme) {
  const vars = { ...fontVariables, ...themes[theme].vars };
  return `html { ${Object.entries(vars)
    .map(([k, v]) => `${k}: ${v};`)
    .join(" ")} }`;
}

/**
 * The page: exactly the host's HTML (src/extension/panel/panelHtml.ts, with its CSP and nonce), served
 * from `origin` as VS Code serves webview resources, plus two things VS Code provides: the theme's
 * variables (a stylesheet here) and `acquireVsCodeApi` (a fake here, in a script with the page's nonce).
 * `mode` "data" answers ready with sample data; "empty" with nulls; "silent" posts nothing (to see
 * what getState restored).
 * @param {string} origin
 * @param {keyof typeof themes} theme
 * @param {string} mode
 */
function page(origin, theme, mode) {
  // Stand-ins for vscode.Webview and the extension's vscode.Uri, with just what panelHtml() uses.
  const webview = {
    cspSource: origin,
    asWebviewUri: (/** @type {{ path: string }} */ uri) => ({ toString: () => `${origin}/${path.basename(uri.path)}` }),
  };
  const extensionUri = { path: "/extension" };
  const html = panelHtml(
    /** @type {import("vscode").Webview} */ (/** @type {unknown} */ (webview)),
    /** @type {import("vscode").Uri} */ (/** @type {unknown} */ (extensionUri)),
    "Perplexity Lens",
  );
  const nonce = /script-src 'nonce-([^']+)'/.exec(html)?.[1];
  if (!nonce) throw new Error("the host's HTML has no script nonce in its CSP");
  const fakeApi = `<script nonce="${nonce}">
  window.__posted = [];
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
  const mode = ${JSON.stringify(mode)};
  const sample = ${mode === "data" || mode === "reset" ? JSON.stringify(sampleData(mode === "reset")) : "[]"};
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error("acquireVsCodeApi called twice");
    acquired = true;
    return {
      postMessage(message) {
        window.__posted.push(message);
        if (message.type !== "ready") return;
        const answers = mode === "data" || mode === "reset" ? sample : mode === "empty"
          ? [{ type: "model", data: null }, { type: "document", data: null }, { type: "cache", data: null }, { type: "adapters", data: null }]
          : [];
        for (const answer of answers) setTimeout(() => window.postMessage(answer, "*"), 0);
      },
      getState() { const s = localStorage.getItem("state"); return s ? JSON.parse(s) : undefined; },
      setState(state) { localStorage.setItem("state", JSON.stringify(state)); },
    };
  };
</script>
`;
  return html
    .replace("<head>", `<head>\n<link rel="stylesheet" href="${origin}/theme-${theme}.css">`)
    .replace("<body>", `<body class="${themes[theme].bodyClass}">`)
    .replace(`<script nonce="${nonce}" src=`, `${fakeApi}<script nonce="${nonce}" src=`);
}

async function browserPath() {
  if (fs.existsSync("/usr/bin/chromium")) return "/usr/bin/chromium";
  const sparticuz = require("@sparticuz/chromium");
  return (sparticuz.default ?? sparticuz).executablePath();
}

async function main() {
  const bundle = path.join(root, "dist", "webview");
  for (const file of ["webview.js", "panel.css"]) {
    if (!fs.existsSync(path.join(bundle, file))) throw new Error(`dist/webview/${file} is missing: run \`npm run build\` first`);
  }
  fs.mkdirSync(outDir, { recursive: true });

  let origin = "";
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", origin);
    const pageMatch = /^\/(dark|light|hc)\/(data|reset|empty|silent)$/.exec(url.pathname);
    if (pageMatch) {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end(page(origin, /** @type {keyof typeof themes} */ (pageMatch[1]), /** @type {string} */ (pageMatch[2])));
      return;
    }
    const themeMatch = /^\/theme-(dark|light|hc)\.css$/.exec(url.pathname);
    if (themeMatch) {
      res.writeHead(200, { "content-type": "text/css" }).end(themeCss(/** @type {keyof typeof themes} */ (themeMatch[1])));
      return;
    }
    const file = path.join(bundle, path.basename(url.pathname));
    if (!fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file.endsWith(".css") ? "text/css" : "text/javascript" }).end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  const { chromium } = require("playwright-core");
  const browser = await chromium.launch({
    executablePath: await browserPath(),
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const problems = [];
  const context = await browser.newContext({ viewport: { width: sidebarWidth, height: 900 }, deviceScaleFactor: 1 });

  /**
   * @param {string} theme
   * @param {string} mode
   */
  async function open(theme, mode, width = sidebarWidth) {
    const tab = await context.newPage();
    await tab.setViewportSize({ width, height: 900 });
    tab.on("pageerror", (error) => problems.push(`${theme}/${mode}: page error: ${error.message}`));
    tab.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(`${theme}/${mode}: console ${message.type()}: ${message.text()}`);
    });
    await tab.goto(`${origin}/${theme}/${mode}`);
    await tab.waitForFunction(() => document.querySelectorAll("vscode-collapsible").length >= 3);
    await tab.waitForTimeout(300);
    const violations = await tab.evaluate(() => /** @type {any} */ (window).__violations);
    for (const violation of violations) problems.push(`${theme}/${mode}: CSP violation: ${violation}`);
    return tab;
  }

  /**
   * @param {import("playwright-core").Page} tab
   * @param {string} name
   */
  async function shoot(tab, name) {
    const file = path.join(outDir, `${name}.png`);
    await tab.screenshot({ path: file, fullPage: true });
    console.log(`wrote ${file}`);
    // Also in parts of 800 px, which image viewers show without shrinking the text.
    const { width, height } = await tab.evaluate(() => ({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight }));
    for (let part = 0, y = 0; y < height; part++, y += 800) {
      await tab.screenshot({
        path: path.join(outDir, `${name}.part${part + 1}.png`),
        fullPage: true,
        clip: { x: 0, y, width, height: Math.min(800, height - y) },
      });
    }
  }

  for (const theme of ["dark", "light", "hc"]) {
    const tab = await open(theme, "data");
    // Every chart mark must be drawn in a solid colour (themes may give charts.* an alpha, or none).
    const marks = await tab.evaluate(() =>
      [".bar", ".mean", ".gltr-top10", ".gltr-top100", ".gltr-top1000", ".gltr-rest", "rect.reused", "rect.recomputed"].map((selector) => {
        const element = document.querySelector(`svg ${selector}`);
        const style = element ? getComputedStyle(element) : null;
        return { selector, colour: style ? (selector === ".mean" ? style.stroke : style.fill) : "missing" };
      }),
    );
    for (const { selector, colour } of marks) {
      const translucent = /\/\s*0?\.\d+\)$|rgba\([^)]*,\s*0?\.\d+\)$/.test(colour);
      if (colour === "missing" || colour === "none" || translucent || /^rgb\(0, 0, 0\)$/.test(colour)) {
        problems.push(`${theme}: ${selector} is drawn in ${colour}`);
      }
    }
    await shoot(tab, `panel-${theme}`);
    await tab.locator('vscode-collapsible[data-section="lora"]').screenshot({ path: path.join(outDir, `panel-lora-${theme}.png`) });
    await tab.close();
  }

  // A cache reset is announced.
  const resetTab = await open("light", "reset");
  const notice = await resetTab.evaluate(() => document.querySelector(".notice")?.textContent ?? null);
  if (notice !== "Cache reset: adapter changed (legal × 1.0)") problems.push(`the reset notice reads ${JSON.stringify(notice)}`);
  await resetTab.locator('vscode-collapsible[data-section="cache"]').screenshot({ path: path.join(outDir, "panel-reset-light.png") });
  await resetTab.close();

  // Wide, as an editor tab.
  const wide = await open("dark", "data", 1000);
  await shoot(wide, "panel-tab-dark");

  // Clicking a surprising token asks the extension to reveal it.
  await wide.click(".surprising .token-button >> nth=0");
  const posted = await wide.evaluate(() => /** @type {typeof window & { __posted: WebviewToExtMessage[] }} */ (window).__posted);
  const reveal = posted.find((m) => m.type === "revealToken")?.data;
  if (!reveal || !/^doc-[0-9a-f]{16}$/.test(reveal.docId) || !(reveal.index >= 0)) {
    problems.push(`clicking a token posted ${JSON.stringify(posted)}`);
  } else {
    console.log(`click → ${JSON.stringify(reveal)}`);
  }
  if (posted[0]?.type !== "ready") problems.push(`the first message posted was ${JSON.stringify(posted[0])}, not ready`);

  // The LoRA section's switch and slider ask the extension to apply the change (the host answers with the new state).
  await wide.click('[data-adapter="typescript-code"] vscode-checkbox');
  await wide.waitForTimeout(100);
  await wide.evaluate(() => {
    const slider = /** @type {HTMLInputElement | null} */ (document.querySelector('[data-adapter="markdown-prose"] input[type="range"]'));
    if (!slider) return;
    slider.value = "1.5";
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    slider.dispatchEvent(new Event("change", { bubbles: true }));
  });
  const loraPosts = (await wide.evaluate(() => /** @type {typeof window & { __posted: WebviewToExtMessage[] }} */ (window).__posted))
    .filter((m) => m.type === "setAdapter")
    .map((m) => m.data);
  const switchedOn = loraPosts.find((m) => m.id === "adapter-typescript-code");
  const scaled = loraPosts.find((m) => m.id === "adapter-markdown-prose");
  if (!switchedOn || switchedOn.enabled !== true || switchedOn.scale !== 1 || !scaled || scaled.enabled !== true || scaled.scale !== 1.5) {
    problems.push(`the LoRA controls posted ${JSON.stringify(loraPosts)}`);
  } else {
    console.log(`switch → ${JSON.stringify(switchedOn)}; slider → ${JSON.stringify(scaled)}`);
  }
  const shownScale = await wide.evaluate(() => document.querySelector('[data-adapter="markdown-prose"] .lora-scale-value')?.textContent);
  if (shownScale !== "1.50") problems.push(`the slider's value reads ${JSON.stringify(shownScale)} after moving it to 1.5`);

  // Collapse the Model section, then reload with a host that posts nothing: state comes from getState.
  await wide.click('vscode-collapsible[data-section="model"] .collapsible-header');
  await wide.goto(`${origin}/light/silent`);
  await wide.waitForFunction(() => document.querySelectorAll("vscode-collapsible").length >= 3);
  await wide.waitForTimeout(300);
  const restored = await wide.evaluate(() => ({
    tiles: document.querySelectorAll(".tile").length,
    tokens: document.querySelectorAll(".surprising li").length,
    modelOpen: /** @type {any} */ (document.querySelector('vscode-collapsible[data-section="model"]'))?.open,
  }));
  if (restored.tiles !== 4 || restored.tokens === 0 || restored.modelOpen !== false) {
    problems.push(`after a reload the panel restored ${JSON.stringify(restored)}`);
  } else {
    console.log(`reload → restored from getState: ${JSON.stringify(restored)}`);
  }
  await shoot(wide, "panel-restored-light");
  await wide.close();

  // Empty state, fresh storage.
  const emptyContext = await browser.newContext({ viewport: { width: sidebarWidth, height: 600 } });
  const emptyTab = await emptyContext.newPage();
  emptyTab.on("pageerror", (error) => problems.push(`empty: page error: ${error.message}`));
  await emptyTab.goto(`${origin}/dark/empty`);
  await emptyTab.waitForFunction(() => document.querySelectorAll("vscode-collapsible").length >= 3);
  await emptyTab.waitForTimeout(300);
  const file = path.join(outDir, "panel-empty-dark.png");
  await emptyTab.screenshot({ path: file, fullPage: true });
  console.log(`wrote ${file}`);

  await browser.close();
  server.close();
  if (problems.length > 0) {
    console.error(problems.join("\n"));
    process.exitCode = 1;
  } else {
    console.log("no CSP violations, page errors or console errors");
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
