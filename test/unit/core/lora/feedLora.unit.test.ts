// The feed path on the embedded default model (its graph takes lora.{i}.{q,v}_proj.A/B): scale 0 and "no adapter" are
// the base bit for bit; each shipped adapter, and two at once at scales 1 and 0.5, reproduce the model kit's PyTorch
// log-probabilities (test/goldens) within 1e-4; switching keeps the session, resets every document's KV cache with the
// reason "adapter changed", and states the adapters in the method.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Engine, EngineError } from "../../../../src/core/engine";
import { repoRoot } from "../../../helpers/paths";

const root = repoRoot;
const MODEL = path.join(root, "models", "lens-gpt2-bpe4k");
const TOL = 1e-4;

interface Golden {
  texts: { name: string; text: string; ids: number[]; logprobs: number[] }[];
  adapters: { adapters: { name: string; scale: number }[]; texts: { name: string; logprobs: number[] }[] }[];
}
const golden = JSON.parse(fs.readFileSync(path.join(root, "test", "goldens", "lens-gpt2-bpe4k.json"), "utf8")) as Golden;
const OPTIONS = { method: "rolling", window: 0, topK: 0 } as const;

let engine: Engine;
before(async () => {
  engine = new Engine();
  await engine.loadModel(MODEL);
});
after(async () => {
  await engine.dispose();
});

async function logprobs(docId: string, text: string): Promise<number[]> {
  const r = await engine.score(docId, text, OPTIONS);
  return r.tokens.map((t) => t.logprob!);
}

function maxDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

test("the base reproduces the goldens, and an adapter at scale 0 (or none) is the base bit for bit", async () => {
  const base: number[][] = [];
  for (const t of golden.texts) {
    const r = await engine.score(`base:${t.name}`, t.text, OPTIONS);
    assert.deepEqual(
      r.tokens.map((x) => x.id),
      t.ids,
      `${t.name}: token ids`,
    );
    const lp = r.tokens.map((x) => x.logprob!);
    assert.ok(maxDiff(lp, t.logprobs) < TOL, `${t.name}: base differs from PyTorch by ${maxDiff(lp, t.logprobs)}`);
    base.push(lp);
  }
  const zero = await engine.setAdapters([
    { name: "typescript-code", scale: 0 },
    { name: "markdown-prose", scale: 0 },
  ]);
  assert.equal(zero.mode, "feed");
  assert.deepEqual(zero.matchedModules, []);
  for (const [i, t] of golden.texts.entries())
    assert.deepEqual(await logprobs(`zero:${t.name}`, t.text), base[i], `${t.name}: scale 0 is bit-identical to the base`);
  const method = (await engine.score("zero:m", "x", OPTIONS)).method;
  assert.equal(method.adapters, undefined, "adapters at scale 0 are not stated as applied");
  await engine.setAdapters([]);
  for (const [i, t] of golden.texts.entries()) assert.deepEqual(await logprobs(`off:${t.name}`, t.text), base[i], `${t.name}: off again is bit-identical`);
});

for (const g of golden.adapters) {
  const label = g.adapters.map((a) => `${a.name}×${a.scale}`).join(" + ");
  test(`${label} reproduces the PyTorch log-probabilities within ${TOL}`, async () => {
    const changed = await engine.setAdapters(g.adapters);
    assert.equal(changed.mode, "feed");
    assert.deepEqual(
      changed.active.map((a) => [a.name, a.scale]),
      g.adapters.map((a) => [a.name, a.scale]),
    );
    assert.equal(changed.matchedModules.length, 8, "q_proj and v_proj of 4 layers");
    assert.ok(changed.matchedModules.includes("transformer.h.0.attn.q_proj"));
    for (const t of g.texts) {
      const text = golden.texts.find((x) => x.name === t.name)!.text;
      const r = await engine.score(`${label}:${t.name}`, text, OPTIONS);
      assert.deepEqual(
        r.method.adapters,
        g.adapters.filter((a) => a.scale !== 0),
      );
      const d = maxDiff(
        r.tokens.map((x) => x.logprob!),
        t.logprobs,
      );
      assert.ok(d < TOL, `${label} on ${t.name}: differs from PyTorch by ${d}`);
    }
    await engine.setAdapters([]);
  });
}

test("switching resets every document's KV cache with the reason and rescoring recomputes every token", async () => {
  const text = golden.texts[0]!.text;
  await engine.score("doc-a", text, OPTIONS);
  await engine.score("doc-b", golden.texts[1]!.text, OPTIONS);
  const again = await engine.score("doc-a", text, OPTIONS);
  assert.equal(again.rescore.tokensRecomputed, 0, "unchanged text is served from the cache");
  assert.ok(engine.cacheStats().tokensCached > 0);
  const changed = await engine.setAdapters([{ name: "markdown-prose", scale: 1 }]);
  assert.equal(changed.cache.lastReset, "adapter changed");
  assert.equal(changed.cache.tokensCached, 0);
  const after = await engine.score("doc-a", text, OPTIONS);
  assert.equal(after.rescore.tokensReused, 0);
  assert.equal(after.rescore.tokensRecomputed, golden.texts[0]!.ids.length);
  assert.equal(after.cache.lastReset, "adapter changed");
  assert.deepEqual(after.method.adapters, [{ name: "markdown-prose", scale: 1 }]);
  assert.deepEqual(engine.activeAdapters().active, [{ name: "markdown-prose", scale: 1 }]);
  await engine.setAdapters([]);
});

test("setting the same weights again keeps the cache; a scale change resets it", async () => {
  const text = golden.texts[2]!.text;
  await engine.setAdapters([{ name: "typescript-code", scale: 1 }]);
  await engine.score("same", text, OPTIONS);
  const again = await engine.setAdapters([
    { name: "typescript-code", scale: 1 },
    { name: "markdown-prose", scale: 0 },
  ]);
  assert.ok(again.cache.tokensCached > 0, "an added scale-0 adapter changes no weight");
  assert.equal((await engine.score("same", text, OPTIONS)).rescore.tokensRecomputed, 0);
  const scaled = await engine.setAdapters([{ name: "typescript-code", scale: 0.5 }]);
  assert.equal(scaled.cache.tokensCached, 0);
  assert.equal(scaled.cache.lastReset, "adapter changed");
  assert.equal((await engine.score("same", text, OPTIONS)).rescore.tokensReused, 0);
  await engine.setAdapters([]);
});

test("the same adapter twice at 0.5 equals it once at 1 (ranks concatenate, scales add)", async () => {
  const text = golden.texts[2]!.text;
  await engine.setAdapters([{ name: "typescript-code", scale: 1 }]);
  const once = await logprobs("once", text);
  await engine.setAdapters([
    { name: "typescript-code", scale: 0.5 },
    { name: "typescript-code", scale: 0.5 },
  ]);
  const twice = await logprobs("twice", text);
  assert.ok(maxDiff(once, twice) < 1e-5, `${maxDiff(once, twice)}`);
  await engine.setAdapters([]);
});

test("unknown names and non-finite scales are refused with one sentence and the active set is kept", async () => {
  await engine.setAdapters([{ name: "typescript-code", scale: 1 }]);
  const expected = await logprobs("keep-1", golden.texts[2]!.text);
  await assert.rejects(engine.setAdapters([{ name: "no-such-adapter", scale: 1 }]), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.code, "badInput");
    assert.match(e.message, /There is no adapter "no-such-adapter" in .*adapters \(available: markdown-prose, typescript-code\)\./);
    return true;
  });
  await assert.rejects(engine.setAdapters([{ name: "../models", scale: 1 }]), /is not an adapter name/);
  await assert.rejects(engine.setAdapters([{ name: "typescript-code", scale: Number.NaN }]), /scale that is not a finite number/);
  assert.deepEqual(engine.activeAdapters().active, [{ name: "typescript-code", scale: 1 }]);
  assert.deepEqual(await logprobs("keep-2", golden.texts[2]!.text), expected);
  await engine.setAdapters([]);
});

test("listAdapters reads each adapter's config: rank, alpha, targets, description", () => {
  const { adapters, problems } = engine.listAdapters();
  assert.deepEqual(problems, []);
  assert.deepEqual(
    adapters.map((a) => a.name),
    ["markdown-prose", "typescript-code"],
  );
  for (const a of adapters) {
    const config = JSON.parse(fs.readFileSync(path.join(MODEL, "adapters", a.name, "adapter_config.json"), "utf8")) as {
      r: number;
      lora_alpha: number;
      target_modules: string[];
      description: string;
    };
    assert.equal(a.rank, config.r);
    assert.equal(a.alpha, config.lora_alpha);
    assert.deepEqual(a.targetModules, config.target_modules);
    assert.equal(a.description, config.description);
    assert.equal(a.baseModel, "lens-gpt2-bpe4k");
    assert.equal(a.path, path.join(MODEL, "adapters", a.name));
  }
});
