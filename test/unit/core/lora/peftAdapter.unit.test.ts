// Broken copies of the shipped adapters (written into a temp folder): each is refused with one sentence naming the
// adapter, the previously active set stays active and the model keeps scoring exactly as before. F16 and BF16 copies
// load and equal the F32 adapter rounded the same way, bit for bit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, EngineError } from "../../../../src/core/engine";
import { loadPeftAdapter } from "../../../../src/core/lora/peftAdapter";
import { LoraError } from "../../../../src/core/lora/loraError";
import { listAdapters } from "../../../../src/core/lora/adapterCatalog";
import { copyAdapter, f32Bytes, halfBytes, toBfloat16Bits, toFloat16Bits, type RawTensor } from "../../../helpers/safetensorsWriter";
import { float16ToNumber } from "../../../../src/core/safetensors";
import { repoRoot } from "../../../helpers/paths";

const root = repoRoot;
const MODEL = path.join(root, "models", "lens-gpt2-bpe4k");
const NOLORA = path.join(root, "test", "fixtures", "lens-gpt2-bpe4k-nolora");
const SRC = path.join(MODEL, "adapters", "typescript-code");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-lora-bad-"));
const TEXT = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";
const OPTIONS = { method: "rolling", window: 0, topK: 0 } as const;

let engine: Engine;
let merge: Engine;
before(async () => {
  engine = new Engine();
  await engine.loadModel(MODEL);
  merge = new Engine();
  await merge.loadModel(NOLORA);
});
after(async () => {
  await engine.dispose();
  await merge.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function logprobs(e: Engine, docId: string): Promise<number[]> {
  return (await e.score(docId, TEXT, OPTIONS)).tokens.map((t) => t.logprob!);
}

function mapTensors(fn: (t: RawTensor) => RawTensor | RawTensor[] | null): (ts: RawTensor[]) => RawTensor[] {
  return (ts) => ts.flatMap((t) => fn(t) ?? []);
}

function floats(t: RawTensor): Float32Array {
  return new Float32Array(t.data.slice().buffer);
}

/** Broken adapters: folder name → (how it is made, what the error says). Engines: which paths refuse it. */
const broken: Array<{ name: string; make: (dest: string) => void; message: RegExp; paths?: Array<"feed" | "merge"> }> = [
  {
    name: "missing-weights",
    make: (d) => {
      copyAdapter(SRC, d);
      fs.rmSync(path.join(d, "adapter_model.safetensors"));
    },
    message: /^Adapter "missing-weights" has no adapter_model\.safetensors in \S+\.$/,
  },
  {
    name: "pickle-only",
    make: (d) => {
      copyAdapter(SRC, d);
      fs.renameSync(path.join(d, "adapter_model.safetensors"), path.join(d, "adapter_model.bin"));
    },
    message: /^Adapter "pickle-only" has only adapter_model\.bin \(a PyTorch pickle.*\); save it as adapter_model\.safetensors/,
  },
  {
    name: "missing-config",
    make: (d) => {
      copyAdapter(SRC, d);
      fs.rmSync(path.join(d, "adapter_config.json"));
    },
    message: /^Adapter "missing-config" has no readable adapter_config\.json in \S+\.$/,
  },
  {
    name: "bad-json",
    make: (d) => {
      copyAdapter(SRC, d);
      fs.writeFileSync(path.join(d, "adapter_config.json"), "{ r: 8 ");
    },
    message: /^Adapter "bad-json": \S+adapter_config\.json is not valid JSON/,
  },
  {
    name: "wrong-rank",
    make: (d) => copyAdapter(SRC, d, { config: (c) => void (c["r"] = 4) }),
    message: /^Adapter "wrong-rank": transformer\.h\.0\.attn\.q_proj has rank 8 \(lora_A \[8,256\], lora_B \[256,8\]\) but adapter_config\.json says r = 4\.$/,
  },
  {
    name: "wrong-shape",
    // lora_A keeps its first 128 input features: the adapter maps 128 → 256, the model's projections 256 → 256.
    make: (d) =>
      copyAdapter(SRC, d, {
        tensors: mapTensors((t) => {
          if (!t.name.endsWith("lora_A.weight")) return t;
          const v = floats(t);
          const cut = new Float32Array(8 * 128);
          for (let k = 0; k < 8; k++) cut.set(v.subarray(k * 256, k * 256 + 128), k * 128);
          return { ...t, shape: [8, 128], data: f32Bytes(cut) };
        }),
      }),
    message:
      /^Adapter "wrong-shape": transformer\.h\.0\.attn\.q_proj maps 128 → 256 features but (the graph's lora\.0\.q_proj\.A\/lora\.0\.q_proj\.B take 256 → 256|the weight transformer\.h\.0\.attn\.q_proj\.weight is \[256, 256\] \(stored \[out, in\]\), so the shapes disagree)/,
  },
  {
    name: "unknown-module",
    // An extra module the graph has no LoRA input for (feed) and no weight for (merge).
    make: (d) =>
      copyAdapter(SRC, d, {
        config: (c) => void (c["target_modules"] = ["q_proj", "v_proj", "z_proj"]),
        tensors: mapTensors((t) => (t.name.includes("h.0.attn.q_proj") ? [t, { ...t, name: t.name.replace("q_proj", "z_proj") }] : t)),
      }),
    message:
      /^Adapter "unknown-module" adapts transformer\.h\.0\.attn\.z_proj, (but the graph of lens-gpt2-bpe4k has LoRA inputs only for q_proj, v_proj in layers 0–3|which matches no weight of lens-gpt2-bpe4k-nolora)/,
  },
  {
    name: "k-proj",
    // k_proj exists in the model but the feed graph takes no LoRA input for it; the merge path can patch it.
    make: (d) =>
      copyAdapter(SRC, d, {
        config: (c) => void (c["target_modules"] = ["q_proj", "v_proj", "k_proj"]),
        tensors: mapTensors((t) => (t.name.includes("h.1.attn.v_proj") ? [t, { ...t, name: t.name.replace("v_proj", "k_proj") }] : t)),
      }),
    message:
      /^Adapter "k-proj" adapts transformer\.h\.1\.attn\.k_proj, but the graph of lens-gpt2-bpe4k has LoRA inputs only for q_proj, v_proj in layers 0–3\.$/,
    paths: ["feed"],
  },
  {
    name: "not-a-target",
    make: (d) => copyAdapter(SRC, d, { config: (c) => void (c["target_modules"] = ["q_proj"]) }),
    message: /^Adapter "not-a-target" has weights for transformer\.h\.0\.attn\.v_proj, which is not among its target_modules \(\["q_proj"\]\)\.$/,
  },
  {
    name: "half-missing",
    make: (d) => copyAdapter(SRC, d, { tensors: mapTensors((t) => (t.name.includes("h.2.attn.v_proj.lora_B") ? null : t)) }),
    message: /^Adapter "half-missing" has lora_A but no lora_B for transformer\.h\.2\.attn\.v_proj\.$/,
  },
  {
    name: "truncated",
    make: (d) => {
      copyAdapter(SRC, d);
      const f = path.join(d, "adapter_model.safetensors");
      const bytes = fs.readFileSync(f);
      fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
    },
    message:
      /^Adapter "truncated": \S+adapter_model\.safetensors is truncated: tensor \S+ ends at byte \d+ of the data but the file holds only \d+ data bytes\.$/,
  },
  {
    name: "nan",
    make: (d) =>
      copyAdapter(SRC, d, {
        tensors: mapTensors((t) => (t.name.includes("h.3.attn.q_proj.lora_B") ? { ...t, data: f32Bytes(floats(t).map((v, i) => (i === 5 ? NaN : v))) } : t)),
      }),
    message: /^Adapter "nan": \S+h\.3\.attn\.q_proj\.lora_B\.weight contains a non-finite value/,
  },
  {
    name: "dora",
    make: (d) => copyAdapter(SRC, d, { config: (c) => void (c["use_dora"] = true) }),
    message: /^Adapter "dora" is a DoRA adapter \(use_dora\), which Perplexity Lens cannot apply\.$/,
  },
];

test("each broken adapter is refused with one sentence naming it, and the active adapter keeps scoring", async () => {
  for (const b of broken) b.make(path.join(tmp, b.name));
  for (const [pathName, e] of [
    ["feed", engine],
    ["merge", merge],
  ] as const) {
    await e.setAdapters([{ name: "typescript-code", path: SRC, scale: 1 }]);
    const expected = await logprobs(e, `${pathName}-before`);
    const resetBefore = e.cacheStats();
    for (const b of broken) {
      if (b.paths && !b.paths.includes(pathName)) continue;
      await assert.rejects(
        e.setAdapters([
          { name: "typescript-code", path: SRC, scale: 1 },
          { name: b.name, path: path.join(tmp, b.name), scale: 1 },
        ]),
        (err: unknown) => {
          assert.ok(err instanceof EngineError, String(err));
          assert.equal(err.code, "badInput");
          assert.match(err.message, b.message, `${pathName} ${b.name}`);
          assert.equal(err.message.split("\n").length, 1);
          return true;
        },
      );
      // A bad adapter at scale 0 is refused too: "off" must not hide a broken file.
      await assert.rejects(e.setAdapters([{ name: b.name, path: path.join(tmp, b.name), scale: 0 }]), EngineError);
      assert.deepEqual(e.activeAdapters().active, [{ name: "typescript-code", path: SRC, scale: 1 }]);
    }
    assert.equal(e.cacheStats().tokensCached, resetBefore.tokensCached, "refusals keep the cache");
    assert.deepEqual(await logprobs(e, `${pathName}-after`), expected, `${pathName}: scoring is unchanged after the refusals`);
    await e.setAdapters([]);
  }
});

test("the merge path accepts k_proj (a weight the feed graph has no input for)", async () => {
  const dir = path.join(tmp, "k-proj");
  if (!fs.existsSync(dir)) broken.find((b) => b.name === "k-proj")!.make(dir);
  const r = await merge.setAdapters([{ name: "k-proj", path: dir, scale: 1 }]);
  assert.equal(r.mode, "merge");
  assert.equal(r.matchedModules.length, 9);
  assert.ok(r.matchedModules.includes("transformer.h.1.attn.k_proj"));
  await merge.setAdapters([]);
});

test("the catalog lists good adapters and one problem sentence per unreadable folder", () => {
  const dir = path.join(tmp, "catalog");
  copyAdapter(SRC, path.join(dir, "good"));
  copyAdapter(SRC, path.join(dir, "no-config"));
  fs.rmSync(path.join(dir, "no-config", "adapter_config.json"));
  fs.mkdirSync(path.join(dir, "broken-config"));
  fs.writeFileSync(path.join(dir, "broken-config", "adapter_config.json"), JSON.stringify({ r: 0, target_modules: ["q_proj"] }));
  const cat = listAdapters(MODEL, [dir, path.join(tmp, "does-not-exist"), path.join(tmp, "missing-weights")]);
  assert.deepEqual(
    cat.adapters.map((a) => a.name),
    ["markdown-prose", "typescript-code", "good", "missing-weights"],
  );
  assert.equal(cat.problems.length, 2);
  assert.match(cat.problems[0]!, /^Adapter "broken-config": \S+ needs a positive integer "r", not 0\.$/);
  assert.match(cat.problems[1]!, /^The adapter folder \S+does-not-exist does not exist\.$/);
});

for (const [dtype, convert, back] of [
  ["F16", toFloat16Bits, (b: number) => float16ToNumber(b)],
  ["BF16", toBfloat16Bits, (b: number) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!],
] as const) {
  test(`an adapter saved as ${dtype} loads and scores exactly like its values rounded to ${dtype} and saved as F32`, async () => {
    const half = copyAdapter(SRC, path.join(tmp, `as-${dtype}`), { tensors: mapTensors((t) => ({ ...t, dtype, data: halfBytes(floats(t), convert) })) });
    const rounded = copyAdapter(SRC, path.join(tmp, `rounded-${dtype}`), {
      tensors: mapTensors((t) => ({ ...t, data: f32Bytes(floats(t).map((v) => back(convert(v)))) })),
    });
    const a = loadPeftAdapter(half);
    const b = loadPeftAdapter(rounded);
    assert.equal(a.modules.length, 8);
    a.modules.forEach((m, i) => {
      assert.deepEqual(m.A, b.modules[i]!.A);
      assert.deepEqual(m.B, b.modules[i]!.B);
    });
    await engine.setAdapters([{ name: "h", path: half, scale: 1 }]);
    const lpHalf = await logprobs(engine, `h-${dtype}`);
    await engine.setAdapters([{ name: "r", path: rounded, scale: 1 }]);
    assert.deepEqual(await logprobs(engine, `r-${dtype}`), lpHalf);
    await engine.setAdapters([{ name: "typescript-code", scale: 1 }]);
    const full = await logprobs(engine, `f-${dtype}`);
    const diff = full.reduce((m, x, i) => Math.max(m, Math.abs(x - lpHalf[i]!)), 0);
    assert.ok(diff < 1e-2, `${dtype} rounding moves log-probabilities by ${diff}`);
    await engine.setAdapters([]);
  });
}

test("loadPeftAdapter errors are LoraErrors naming the adapter", () => {
  assert.throws(
    () => loadPeftAdapter(path.join(tmp, "nowhere"), "ghost"),
    (e: unknown) => e instanceof LoraError && /^Adapter "ghost": the folder \S+nowhere does not exist\.$/.test(e.message),
  );
});
