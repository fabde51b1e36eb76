/**
 * Perplexity Lens makes no network requests. Two checks:
 * - at run time, with every network entry point of Node trapped (test/helpers/networkTrap.ts: sockets, TLS, HTTP/1/2,
 *   DNS, UDP, fetch/undici, WebSocket — recorded, then thrown), the engine in this thread, the engine worker (trap
 *   installed in its own thread) and the command line (its own process) load models, score, switch LoRA adapters,
 *   list adapters and compare tokenizers, and not one attempt is recorded;
 * - statically, the shipped bundles dist/extension.js, dist/worker.js and dist/cli.js require only an allow-list of
 *   modules (no net, http, https, http2, dns, tls, dgram, undici, child_process) and call no fetch/WebSocket/XMLHttpRequest.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { installNetworkTrap, type NetworkTrap } from "../../helpers/networkTrap";
import { Engine } from "../../../src/core/engine";
import { EngineClient } from "../../../src/worker/engineClient";
import { runningSumFolder } from "../../helpers/onnxBuilder";
import { runCliBatch } from "../../helpers/reliabilityChecks";
import { committedArtifact, helperScript, repoRoot } from "../../helpers/paths";

const root = repoRoot;
const modelsDir = path.join(root, "models");
const defaultModel = path.join(modelsDir, "lens-gpt2-bpe4k");
const byteModel = path.join(modelsDir, "lens-gpt2-byte");
const hasEmbedded = committedArtifact("models/lens-gpt2-bpe4k/onnx/model.onnx", "npm run models") !== "";
const hasAdapters = committedArtifact("models/lens-gpt2-bpe4k/adapters/markdown-prose/adapter_model.safetensors", "npm run models") !== "";
const trapWorkerScript = helperScript("networkTrapWorker.js");
const text = "# Offline\n\nPerplexity Lens scores text with a local model and never talks to the network.\n";
const options = { method: "sliding" as const, window: 0, stride: 0, topK: 3 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-nonet-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let trap: NetworkTrap;
let modelDir: string;
let otherModelDir: string;
before(() => {
  trap = installNetworkTrap();
  modelDir = hasEmbedded ? defaultModel : runningSumFolder(path.join(tmp, "sum"), { dim: 8, positions: 64 });
  otherModelDir =
    hasEmbedded && fs.existsSync(path.join(byteModel, "onnx", "model.onnx"))
      ? byteModel
      : runningSumFolder(path.join(tmp, "sum2"), { dim: 8, positions: 64, seed: 3 });
});

describe("no network at run time", { concurrency: false }, () => {
  test("the trap itself works: an HTTP request and a fetch are recorded and refused", async () => {
    const before = trap.attempts.length;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const http = require("node:http") as typeof import("node:http");
    assert.throws(() => http.get("http://example.invalid/"), /Network access is not allowed/);
    await assert.rejects(async () => fetch("https://example.invalid/"), /Network access is not allowed/);
    assert.equal(trap.attempts.length, before + 2);
    trap.attempts.splice(before);
  });

  test("the engine in this thread: load, score, adapters, release — no attempt", async () => {
    const engine = new Engine();
    try {
      await engine.loadModel(modelDir);
      const result = await engine.score("d", text, options);
      assert.ok(result.tokens.length > 0);
      if (hasAdapters) {
        const changed = await engine.setAdapters([{ name: "markdown-prose", scale: 1 }]);
        assert.equal(changed.active.length, 1);
        await engine.score("d", text + "more", options);
      }
      engine.listAdapters([]);
      await engine.releaseDocument("d");
      await engine.loadModel(otherModelDir);
      await engine.score("d", text, options);
    } finally {
      await engine.dispose();
    }
    assert.deepEqual(trap.attempts, []);
  });

  test("the engine worker (trap in its thread): load, score, adapters, compare, stats — no attempt", async () => {
    const logs: string[] = [];
    const client = new EngineClient(trapWorkerScript, (level, message) => void logs.push(`${level} ${message}`));
    try {
      await client.request("loadModel", { path: modelDir, source: "folder", kvBudgetBytes: 64 * 2 ** 20, threads: 1 });
      const result = await client.request("score", { docId: "d", version: 1, text, options });
      assert.ok(result.tokens.length > 0);
      await client.request("listAdapters", { extraDirs: [] });
      if (hasAdapters) await client.request("setAdapters", { adapters: [{ name: "typescript-code", scale: 0.5 }] });
      const comparison = await client.request("compare", {
        text,
        targets: [{ path: modelDir }, { path: otherModelDir }],
        options: { method: "sliding", window: 0, stride: 0 },
      });
      assert.equal(comparison.entries.length, 2);
      await client.request("getStats", {});
    } finally {
      await client.dispose();
    }
    assert.ok(logs.includes("info [network-trap] installed"), "the trap was in place in the worker");
    assert.deepEqual(
      logs.filter((l) => l.includes("[network-trap]") && !l.endsWith("installed")),
      [],
    );
  });

  test("the command line (trap in its process): score, info, adapters, compare — no attempt", () => {
    const file = path.join(tmp, "offline.md");
    fs.writeFileSync(file, text);
    const cliAttempts = { attempts: [] as string[] };
    const results = runCliBatch(
      [
        ["score", file, "--model", modelDir, "--json"],
        ["info", "--model", modelDir],
        ["adapters", "--model", modelDir],
        ["compare", file, "--model", modelDir, "--model", otherModelDir, "--json"],
        ...(hasAdapters ? [["score", file, "--model", modelDir, "--adapter", "markdown-prose:1", "--csv"]] : []),
      ],
      undefined,
      cliAttempts,
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(cliAttempts.attempts, []);
  });
});

describe("no network in the shipped bundles", () => {
  /** Modules a bundle may require; everything else (net, http, https, http2, dns, tls, dgram, undici, child_process…) fails. */
  // vscode-jsonrpc (the engine protocol's transport) requires crypto, fs, os, path and util without the node: prefix;
  // its `net` require is replaced by an empty module in the bundles (webpack.config.js).
  const jsonrpc = ["crypto", "fs", "os", "path", "util"];
  const allowed: Record<string, string[]> = {
    "extension.js": ["vscode", "node:crypto", "node:fs", "node:fs/promises", "node:path", "node:worker_threads", "node:os", "node:util", ...jsonrpc],
    "worker.js": ["onnxruntime-node", "node:fs", "node:path", "node:worker_threads", "node:os", "node:util", ...jsonrpc],
    "cli.js": ["onnxruntime-node", "node:fs", "node:path", "node:os", "node:util"],
  };
  for (const [bundle, modules] of Object.entries(allowed)) {
    const file = path.join(root, "dist", bundle);
    test(`dist/${bundle} requires only ${modules.join(", ")} and calls no fetch, WebSocket or XMLHttpRequest`, () => {
      committedArtifact(path.relative(root, file), "npm run build");
      const source = fs.readFileSync(file, "utf8");
      const required = new Set([...source.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!));
      const imported = new Set([...source.matchAll(/\bimport\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!));
      for (const name of [...required, ...imported]) assert.ok(modules.includes(name), `dist/${bundle} requires "${name}", which is not on the allow-list`);
      assert.ok(!/\brequire\(\s*[a-zA-Z_$][\w$]*\s*\)/.test(source.replace(/__webpack_require__\(/g, "")), `dist/${bundle} has no require of a computed name`);
      for (const call of [/\bfetch\s*\(/, /\bnew\s+WebSocket\b/, /\bXMLHttpRequest\b/, /\bprocess\.binding\s*\(/])
        assert.ok(!call.test(source), `dist/${bundle} contains ${call}`);
    });
  }

  test("onnxruntime-node's JavaScript requires no network module", () => {
    const dirs = [path.join(root, "node_modules", "onnxruntime-node", "dist"), path.join(root, "node_modules", "onnxruntime-common", "dist", "cjs")].filter(
      (d) => fs.existsSync(d),
    );
    assert.ok(dirs.length > 0);
    for (const dir of dirs) {
      for (const entry of fs.readdirSync(dir, { recursive: true }) as string[]) {
        if (!entry.endsWith(".js")) continue;
        const source = fs.readFileSync(path.join(dir, entry), "utf8");
        assert.ok(!/require\(["'](node:)?(net|http|https|http2|dns|tls|dgram|undici|child_process)["']\)/.test(source), `${entry} requires a network module`);
      }
    }
  });
});
