// LoRA through the two outer interfaces: the worker protocol (setAdapters / listAdapters through EngineClient, errors
// as one sentence with the base kept, invalid messages refused) and the command line (--adapter NAME[:SCALE],
// --adapter-dir DIR, `--json` method.adapters, the `adapters` command, exit codes).
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineClient, EngineError } from "../../../src/worker/engineClient";
import { Engine } from "../../../src/core/engine";
import { engineRequestProblem } from "../../../src/protocol/engine";
import type { ScoreReport } from "../../../src/core/types";
import { parseArgs, UsageError } from "../../../src/cli/args";
import { cliScript, repoRoot, workerScript } from "../../helpers/paths";

const root = repoRoot;
const MODEL = path.join(root, "models", "lens-gpt2-bpe4k");
const NOLORA = path.join(root, "test", "fixtures", "lens-gpt2-bpe4k-nolora");
const cli = cliScript;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-lora-cli-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TEXT = 'import { readFileSync } from "node:fs";\n\nexport function load(file: string): string {\n  return readFileSync(file, "utf8");\n}\n';
const file = path.join(tmp, "input.ts");
fs.writeFileSync(file, TEXT);
const OPTIONS = { method: "sliding" as const, window: 0, stride: 0, topK: 3 };

async function inProcess(adapters: { name: string; scale: number; path?: string }[], model = MODEL): Promise<number[]> {
  const engine = new Engine();
  try {
    await engine.loadModel(model);
    if (adapters.length > 0) await engine.setAdapters(adapters);
    return (await engine.score("x", TEXT, OPTIONS)).tokens.map((t) => t.logprob!);
  } finally {
    await engine.dispose();
  }
}

describe("the worker protocol", () => {
  test("setAdapters / listAdapters round trip; a bad adapter is one sentence and the active set keeps scoring", async () => {
    const client = new EngineClient(workerScript, () => undefined);
    try {
      await client.request("loadModel", { path: MODEL, source: "embedded", kvBudgetBytes: 64 * 1024 * 1024, threads: 1 });
      const before = await client.request("listAdapters", { extraDirs: [] });
      assert.deepEqual(
        before.adapters.map((a) => [a.name, a.rank, a.targetModules]),
        [
          ["markdown-prose", 8, ["q_proj", "v_proj"]],
          ["typescript-code", 8, ["q_proj", "v_proj"]],
        ],
      );
      assert.deepEqual(before.active, []);
      assert.equal(before.mode, "none");

      await client.request("score", { docId: "d", version: 1, text: TEXT, options: OPTIONS });
      const changed = await client.request("setAdapters", { adapters: [{ name: "typescript-code", scale: 1 }] });
      assert.equal(changed.mode, "feed");
      assert.equal(changed.matchedModules.length, 8);
      assert.equal(changed.adapters[0]!.name, "typescript-code");
      assert.equal(changed.cache.lastReset, "adapter changed");
      assert.ok(changed.millis >= 0);

      const scored = await client.request("score", { docId: "d", version: 2, text: TEXT, options: OPTIONS });
      assert.deepEqual(scored.method.adapters, [{ name: "typescript-code", scale: 1 }]);
      assert.equal(scored.rescore.tokensReused, 0);
      const expected = await inProcess([{ name: "typescript-code", scale: 1 }]);
      assert.deepEqual(
        scored.tokens.map((t) => t.logprob),
        expected,
      );

      await assert.rejects(client.request("setAdapters", { adapters: [{ name: "nope", scale: 1 }] }), (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.equal(e.code, "badInput");
        assert.match(e.message, /^There is no adapter "nope" in .+\.$/);
        return true;
      });
      const still = await client.request("score", { docId: "d", version: 3, text: TEXT, options: OPTIONS });
      assert.deepEqual(
        still.tokens.map((t) => t.logprob),
        expected,
      );
      const listed = await client.request("listAdapters", { extraDirs: [path.join(tmp, "missing")] });
      assert.deepEqual(listed.active, [{ name: "typescript-code", scale: 1 }]);
      assert.equal(listed.mode, "feed");
      assert.match(listed.problems[0]!, /^The adapter folder \S+missing does not exist\.$/);
    } finally {
      await client.dispose();
    }
  });

  test("malformed setAdapters / listAdapters messages are refused by the validator", () => {
    assert.equal(engineRequestProblem("setAdapters", { adapters: [{ name: "a", scale: 1 }] }), null);
    assert.equal(engineRequestProblem("setAdapters", { adapters: [], extraDirs: ["/x"] }), null);
    assert.equal(
      engineRequestProblem("setAdapters", { adapters: [{ name: "a", scale: Number.NaN }] }),
      "params.adapters[0].scale must be a finite number, not NaN",
    );
    assert.equal(engineRequestProblem("setAdapters", { adapters: [{ name: "a" }] }), "params.adapters[0].scale must be a finite number, not missing");
    assert.equal(engineRequestProblem("setAdapters", { adapters: [], extraDirs: [1] }), "params.extraDirs[0] must be a string, not 1");
    assert.equal(engineRequestProblem("listAdapters", {}), "params.extraDirs must be a list (each a string), not missing");
  });
});

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the command line", () => {
  test("--adapter NAME[:SCALE] is repeatable; --json states the adapters in method and gives the engine's numbers", async () => {
    const out = run(["score", file, "--json", "--top", "3", "--adapter", "typescript-code:0.5", "--adapter", "markdown-prose"]);
    assert.equal(out.status, 0, out.stderr);
    const report = JSON.parse(out.stdout) as ScoreReport;
    assert.deepEqual(report.method.adapters, [
      { name: "typescript-code", scale: 0.5 },
      { name: "markdown-prose", scale: 1 },
    ]);
    const expected = await inProcess([
      { name: "typescript-code", scale: 0.5 },
      { name: "markdown-prose", scale: 1 },
    ]);
    assert.deepEqual(
      report.tokens.map((t) => t.logprob),
      expected,
    );
    const plain = JSON.parse(run(["score", file, "--json"]).stdout) as ScoreReport;
    assert.equal(plain.method.adapters, undefined);
  });

  test("--adapter-dir applies a folder anywhere, here merged into the model without LoRA inputs", async () => {
    const dir = path.join(MODEL, "adapters", "markdown-prose");
    const out = run(["score", file, "--json", "--top", "3", "--model", NOLORA, "--adapter-dir", dir]);
    assert.equal(out.status, 0, out.stderr);
    const report = JSON.parse(out.stdout) as ScoreReport;
    assert.deepEqual(report.method.adapters, [{ name: "markdown-prose", scale: 1 }]);
    const fed = await inProcess([{ name: "markdown-prose", scale: 1 }]);
    const d = report.tokens.reduce((m, t, i) => Math.max(m, Math.abs(t.logprob! - fed[i]!)), 0);
    assert.ok(d < 1e-4, `merged via the CLI vs fed in process: ${d}`);
    const text = run(["score", file, "--no-color", "--adapter", "typescript-code:2"]);
    assert.match(text.stdout, /LoRA adapters\s+typescript-code × 2/);
  });

  test("bad adapters exit 1 with one sentence; malformed flags exit 2", () => {
    const missing = run(["score", file, "--adapter", "nope"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^perplexity-lens: There is no adapter "nope" in \S+ \(available: markdown-prose, typescript-code\)\.\n$/);
    const notAdapter = run(["score", file, "--adapter-dir", tmp]);
    assert.equal(notAdapter.status, 1);
    assert.match(notAdapter.stderr, /^perplexity-lens: Adapter "pl-lora-cli-\w+" has no readable adapter_config\.json in \S+\.\n$/);
    const usage = run(["score", file, "--adapter", "a/b"]);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--adapter takes a name under the model's adapters\/, not "a\/b" \(use --adapter-dir for a folder\)\./);
  });

  test("adapters lists rank, targets and description (text and --json)", () => {
    const text = run(["adapters"]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /LoRA adapters for lens-gpt2-bpe4k \(fed to the graph's LoRA inputs, no reload\)/);
    assert.match(text.stdout, /typescript-code\n\s+rank \/ alpha\s+8 \/ 16\n\s+targets\s+q_proj, v_proj\n\s+description\s+TypeScript/);
    const json = JSON.parse(run(["adapters", "--json", "--model", NOLORA, "--adapter-dir", path.join(MODEL, "adapters")]).stdout) as {
      model: string;
      loraInputs: boolean;
      adapters: { name: string }[];
      problems: string[];
    };
    assert.equal(json.model, "lens-gpt2-bpe4k-nolora");
    assert.equal(json.loraInputs, false);
    assert.deepEqual(
      json.adapters.map((a) => a.name),
      ["markdown-prose", "typescript-code"],
    );
  });

  test("argument parsing: scales, Windows-like paths, usage errors", () => {
    const a = parseArgs([
      "score",
      "f",
      "--adapter",
      "x",
      "--adapter=y:0.25",
      "--adapter",
      "z:-1e-1",
      "--adapter-dir",
      "C:\\adapters\\w",
      "--adapter-dir",
      "/a/b:2",
    ]);
    assert.deepEqual(a.adapters.slice(0, 3), [
      { name: "x", scale: 1 },
      { name: "y", scale: 0.25 },
      { name: "z", scale: -0.1 },
    ]);
    assert.equal(a.adapters[3]!.scale, 1);
    assert.ok(a.adapters[3]!.path!.endsWith("C:\\adapters\\w"));
    assert.deepEqual(a.adapters[4], { name: "b", path: "/a/b", scale: 2 });
    assert.throws(() => parseArgs(["score", "f", "--adapter"]), UsageError);
    assert.throws(() => parseArgs(["score", "f", "--adapter", ""]), /--adapter needs an adapter name/);
    assert.equal(parseArgs(["adapters"]).command, "adapters");
  });
});
