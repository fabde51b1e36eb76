/**
 * Nothing runs that should not: the manifest restricts the path, auto-scoring and cost settings in untrusted
 * workspaces; every onnxruntime session is created with the CPU execution provider only and no custom-op library;
 * model and adapter names cannot escape their folders; the panel's HTML allows no remote content and runs only its
 * own nonce'd script; the panel host passes on only messages that pass the protocol's validation.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installFakeVscode, fakeVscode } from "../../helpers/fakeVscode";
import { Engine, EngineError } from "../../../src/core/engine";
import { RESTRICTED_KEYS } from "../../../src/extension/config";
import { resolveModel, listModels } from "../../../src/extension/modelCatalog";
import { runningSumFolder } from "../../helpers/onnxBuilder";
import { oneSentence } from "../../helpers/reliabilityChecks";
import { committedArtifact, repoRoot } from "../../helpers/paths";

installFakeVscode();
/* eslint-disable @typescript-eslint/no-require-imports */
const { panelHtml, panelWebviewOptions } = require("../../../src/extension/panel/panelHtml") as typeof import("../../../src/extension/panel/panelHtml");
const { WebviewConnection } = require("../../../src/extension/panel/webviewConnection") as typeof import("../../../src/extension/panel/webviewConnection");
const ort = require("onnxruntime-node") as typeof import("onnxruntime-node");
/* eslint-enable @typescript-eslint/no-require-imports */

const root = repoRoot;
const modelsDir = path.join(root, "models");
const defaultModel = path.join(modelsDir, "lens-gpt2-bpe4k");
const hasEmbedded = committedArtifact("models/lens-gpt2-bpe4k/onnx/model.onnx", "npm run models") !== "";
const hasAdapters = committedArtifact("models/lens-gpt2-bpe4k/adapters/markdown-prose/adapter_model.safetensors", "npm run models") !== "";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-security-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("untrusted workspaces", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    capabilities?: { untrustedWorkspaces?: { supported?: unknown; restrictedConfigurations?: string[]; description?: string } };
    contributes: { configuration: { properties: Record<string, { type?: string; scope?: string; markdownDescription?: string; description?: string }> } };
  };

  test("the manifest declares limited support with the path settings, auto-scoring and the cost settings restricted", () => {
    const untrusted = manifest.capabilities?.untrustedWorkspaces;
    assert.equal(untrusted?.supported, "limited");
    assert.ok((untrusted?.description ?? "").length > 20, "says what is limited");
    assert.deepEqual([...(untrusted?.restrictedConfigurations ?? [])].sort(), [
      "perplexityLens.adapterFolders",
      "perplexityLens.autoScoreLanguages",
      "perplexityLens.engine.kvCacheBudgetMB",
      "perplexityLens.engine.threads",
      "perplexityLens.maxDocumentSize",
      "perplexityLens.model",
      "perplexityLens.modelFolders",
      "perplexityLens.scoring.stride",
      "perplexityLens.scoring.window",
    ]);
    assert.deepEqual(
      RESTRICTED_KEYS.map((k) => `perplexityLens.${k}`).sort(),
      [...(untrusted?.restrictedConfigurations ?? [])].sort(),
      "the config reader restricts the same keys",
    );
  });

  test("every setting that can name a file or folder is restricted", () => {
    const restricted = new Set(manifest.capabilities?.untrustedWorkspaces?.restrictedConfigurations ?? []);
    for (const [key, property] of Object.entries(manifest.contributes.configuration.properties)) {
      const describesPath =
        /\b(path|folder|file)s?\b/i.test(`${property.markdownDescription ?? ""} ${property.description ?? ""}`) && /model|adapter|folder|path/i.test(key);
      if (describesPath) assert.ok(restricted.has(key), `${key} names files but is not restricted`);
    }
  });
});

describe("onnxruntime sessions: CPU only, no custom ops", () => {
  test("every session the engine creates (model, statistics, adapters) gets executionProviders ['cpu'] and nothing that loads code", async () => {
    const calls: Array<Record<string, unknown>> = [];
    const session = ort.InferenceSession as unknown as { create: (...args: unknown[]) => Promise<unknown> };
    const original = session.create;
    session.create = function (...args: unknown[]) {
      const options = args.find((a, i) => i > 0 && typeof a === "object" && a !== null && !ArrayBuffer.isView(a)) as Record<string, unknown> | undefined;
      calls.push(options ?? {});
      return original.apply(this, args);
    };
    const engine = new Engine({ statistics: "onnx" });
    try {
      await engine.loadModel(hasEmbedded ? defaultModel : runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 }));
      await engine.score("d", "CPU only.", { method: "sliding", window: 0, stride: 0, topK: 2 });
      if (hasAdapters) await engine.setAdapters([{ name: "markdown-prose", scale: 1 }]);
      const fixture = path.join(root, "test", "fixtures", "lens-gpt2-bpe4k-nolora");
      if (hasAdapters && fs.existsSync(path.join(fixture, "onnx", "model.onnx"))) {
        // A graph without LoRA inputs: adapters are merged into the weights and a new session is built.
        await engine.loadModel(fixture);
        await engine.setAdapters([{ name: "markdown-prose", path: path.join(defaultModel, "adapters", "markdown-prose"), scale: 1 }]);
      }
    } finally {
      await engine.dispose();
      session.create = original;
    }
    assert.ok(calls.length >= 1);
    const allowedKeys = new Set(["executionProviders", "intraOpNumThreads", "interOpNumThreads", "graphOptimizationLevel", "logSeverityLevel"]);
    for (const options of calls) {
      assert.deepEqual(options["executionProviders"], ["cpu"]);
      for (const key of Object.keys(options))
        assert.ok(allowedKeys.has(key), `session option ${key} is not expected (custom ops, extra config or other providers could come through it)`);
    }
    console.log(`[security] ${calls.length} onnxruntime sessions created, all with executionProviders ['cpu'] and no custom-op or extra options`);
  });

  test("the source names no other execution provider and registers no custom-op library", () => {
    const files = (fs.readdirSync(path.join(root, "src"), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts"));
    for (const file of files) {
      const source = fs.readFileSync(path.join(root, "src", file), "utf8");
      for (const m of source.matchAll(/executionProviders\s*:\s*(\[[^\]]*\])/g)) assert.equal(m[1], '["cpu"]', `${file}: ${m[0]}`);
      assert.ok(!/registerCustomOp|customOpsLibrary|custom_op|session\.use_|extra\s*:/.test(source), `${file} configures custom ops or extra session options`);
    }
  });
});

describe("paths are resolved and checked before use", () => {
  test("adapter names cannot leave the adapters/ folder", async () => {
    const engine = new Engine();
    try {
      await engine.loadModel(defaultModel);
      await engine.setAdapters([{ name: "markdown-prose", scale: 1 }]);
      for (const name of [
        "..",
        ".",
        "",
        "../markdown-prose",
        "../../lens-gpt2-byte",
        "../../../../etc",
        "markdown-prose/../../onnx",
        "..\\..\\secrets",
        "/etc",
      ]) {
        await assert.rejects(engine.setAdapters([{ name, scale: 1 }]), (e: unknown) => {
          assert.ok(e instanceof EngineError, String(e));
          assert.equal(e.code, "badInput");
          assert.match(e.message, /is not an adapter name \(a folder name under the model's adapters\/ is expected; give a path for other folders\)\.$/, name);
          oneSentence(e.message);
          return true;
        });
      }
      assert.deepEqual(engine.activeAdapters().active, [{ name: "markdown-prose", scale: 1 }], "the active adapter stays");
    } finally {
      await engine.dispose();
    }
  });

  test("model settings: names cannot be paths, relative folders are ignored, absolute paths are normalised", async () => {
    for (const setting of ["../models/lens-gpt2-bpe4k", "lens-gpt2-bpe4k/../../x", "..", ".", "sub\\dir"]) {
      await assert.rejects(
        resolveModel(setting, modelsDir, []),
        (e: unknown) => e instanceof Error && /must be an embedded model's name or an absolute folder path\.$/.test(e.message),
        setting,
      );
    }
    const relativeFolder = path.relative(process.cwd(), path.join(tmp, "relative-models"));
    runningSumFolder(path.join(tmp, "relative-models", "sneaky"));
    const listed = await listModels(path.join(tmp, "no-embedded"), [relativeFolder, path.join(tmp, "relative-models")]);
    assert.deepEqual(
      listed.map((m) => m.path),
      [path.join(tmp, "relative-models", "sneaky")],
      "the relative entry is skipped; the absolute one is used",
    );
    if (hasEmbedded) {
      const roundabout = path.join(modelsDir, "lens-gpt2-byte", "..", "lens-gpt2-bpe4k");
      const resolved = await resolveModel(roundabout, modelsDir, []);
      assert.equal(resolved.path, defaultModel, "'..' segments are resolved before use");
      assert.equal(resolved.source, "embedded");
    }
  });

  test("the engine resolves a relative model path and names the absolute folder", async () => {
    const engine = new Engine();
    await assert.rejects(
      engine.loadModel("no/such/model"),
      (e: unknown) => e instanceof EngineError && e.message === `The model folder ${path.resolve("no/such/model")} does not exist.`,
    );
    await engine.dispose();
  });
});

describe("the panel webview", () => {
  const extensionUri = fakeVscode.Uri.file("/ext/perplexity-lens");
  const cspSource = "https://file+.vscode-resource.vscode-cdn.net";
  const webview = { cspSource, asWebviewUri: (uri: { path: string }) => ({ toString: () => `${cspSource}${uri.path}` }) };
  const html = (title = "Perplexity Lens") => panelHtml(webview as never, extensionUri as never, title);

  test("CSP: default-src 'none', the script only by nonce, styles/fonts/images only from the extension; no remote content", () => {
    const page = html();
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)?.[1];
    assert.ok(csp, "the page has a CSP meta tag");
    const directives = new Map(
      csp
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name!, values]),
    );
    assert.deepEqual(directives.get("default-src"), ["'none'"]);
    assert.equal(directives.get("script-src")?.length, 1);
    assert.match(directives.get("script-src")![0]!, /^'nonce-[A-Za-z0-9+/=]{16,}'$/);
    for (const [name, values] of directives) {
      for (const value of values) {
        assert.ok(!["*", "'unsafe-inline'", "'unsafe-eval'", "http:", "https:", "ws:", "wss:", "blob:"].includes(value), `${name} allows ${value}`);
        if (/^[a-z]+:\/\//.test(value)) assert.equal(value, cspSource, `${name} allows only the webview's own resources, not ${value}`);
      }
    }
    assert.equal(directives.has("connect-src"), false, "no connections (default-src 'none' applies)");
    assert.equal(directives.has("frame-src"), false);
    const scripts = [...page.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 1);
    const nonce = directives.get("script-src")![0]!.slice("'nonce-".length, -1);
    assert.ok(scripts[0]!.includes(`nonce="${nonce}"`));
    assert.ok(scripts[0]!.includes(`src="${cspSource}/ext/perplexity-lens/dist/webview/webview.js"`));
    assert.ok(!/\son[a-z]+=/i.test(page), "no inline event handlers");
    assert.notEqual(/nonce-([^']+)/.exec(html())?.[1], nonce, "a fresh nonce per page");
  });

  test("the title is escaped, and the webview may load nothing outside dist/webview and run no command URIs", () => {
    const page = html(`<img src=x onerror="alert(1)">`);
    assert.ok(!page.includes("<img"), "markup in the title is not interpreted");
    assert.ok(page.includes("&#60;img src=x onerror=&#34;alert(1)&#34;&#62;"));
    const options = panelWebviewOptions(extensionUri as never);
    assert.equal(options.enableCommandUris, false);
    assert.deepEqual(
      (options.localResourceRoots ?? []).map((u) => (u as unknown as { path: string }).path),
      ["/ext/perplexity-lens/dist/webview"],
    );
  });

  test("the panel host passes on only messages that pass validation; everything else is logged and dropped", () => {
    let listener: (raw: unknown) => void = () => undefined;
    const fakeWebview = { onDidReceiveMessage: (l: (raw: unknown) => void) => ((listener = l), { dispose: () => undefined }), postMessage: async () => true };
    const warnings: string[] = [];
    const log = { warn: (m: string) => void warnings.push(m), debug: () => undefined };
    const received: unknown[] = [];
    const connection = new WebviewConnection(fakeWebview as never, "view", log as never, (message) => void received.push(message));
    const hostile: unknown[] = [
      null,
      undefined,
      "ready",
      42,
      [],
      { type: "executeCommand", command: "workbench.action.terminal.new" },
      { type: "revealToken", data: { docUri: "file:///etc/passwd", start: 0, end: 10 } },
      { type: "revealToken", data: { docId: 7, index: 0 } },
      { type: "revealToken", data: { docId: "doc-1", index: Number.NaN } },
      { type: "revealToken", docId: "doc-1", index: 0 },
      { type: "setAdapter", data: { name: "x", path: "/etc", enabled: true, scale: 1 } },
      { type: "webviewError", data: { message: { toString: "x" } } },
      JSON.parse('{"__proto__": {"polluted": true}, "type": "nope"}'),
      { type: "ready".padEnd(1_000_000, "y") },
    ];
    for (const raw of hostile) listener(raw);
    assert.equal(received.length, 0, "nothing invalid reached the host");
    assert.equal(warnings.length, hostile.length, "each invalid message was logged once");
    assert.ok(
      warnings.every((w) => w.length < 500),
      "log lines stay short even for huge messages",
    );
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined, "no prototype pollution");
    assert.equal(connection.isReady, false);
    listener({ type: "ready", data: {} });
    listener({ type: "revealToken", data: { docId: "doc-0123456789abcdef", index: 3 } });
    assert.deepEqual(received, [
      { type: "ready", data: {} },
      { type: "revealToken", data: { docId: "doc-0123456789abcdef", index: 3 } },
    ]);
    assert.equal(connection.isReady, true);
    connection.dispose();
  });
});
