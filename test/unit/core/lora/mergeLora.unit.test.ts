// The merge path: the shipped adapters merged into the default model exported without LoRA inputs
// (test/fixtures/lens-gpt2-bpe4k-nolora) give the feed path's log-probabilities within 1e-4 (and the goldens'); turning
// them off rebuilds the original bit for bit. On small hand-built graphs: each way a linear layer is stored
// (MatMul on Transpose(W [out,in]), Gemm transB=1, constant-folded MatMul(x, W [in,out]) named onnx::MatMul_N and found
// by its node name) is patched to W + s·(alpha/r)·B·A, checked by running the patched graph; non-float32, quantized and
// mismatched weights are refused.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { Engine } from "../../../../src/core/engine";
import { MergeLoraApplier, findLinearWeights, nodeModulePath, suffixMatchLength } from "../../../../src/core/lora/mergeLora";
import type { PeftAdapter } from "../../../../src/core/lora/peftAdapter";
import type { LoraModelSource } from "../../../../src/core/lora/loraApplier";
import { LoraError } from "../../../../src/core/lora/loraError";
import type { ArchitectureSpec } from "../../../../src/core/architecture";
import { parseOnnxModel } from "../../../../src/core/backends/onnx/onnxProto";
import { encodeModel, FLOAT, DOUBLE, INT64, type NodeSpec, type TensorSpec } from "../../../../src/core/backends/onnx/onnxEncoder";
import { seededRandom } from "../../../helpers/onnxBuilder";
import { repoRoot } from "../../../helpers/paths";

const root = repoRoot;
const MODEL = path.join(root, "models", "lens-gpt2-bpe4k");
const NOLORA = path.join(root, "test", "fixtures", "lens-gpt2-bpe4k-nolora");
const TOL = 1e-4;
const OPTIONS = { method: "rolling", window: 0, topK: 0 } as const;

interface Golden {
  texts: { name: string; text: string; logprobs: number[] }[];
  adapters: { adapters: { name: string; scale: number }[]; texts: { name: string; logprobs: number[] }[] }[];
}
const golden = JSON.parse(fs.readFileSync(path.join(root, "test", "goldens", "lens-gpt2-bpe4k.json"), "utf8")) as Golden;

function maxDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
}

describe("merge into lens-gpt2-bpe4k-nolora", () => {
  let feed: Engine;
  let merge: Engine;
  before(async () => {
    feed = new Engine();
    await feed.loadModel(MODEL);
    merge = new Engine();
    await merge.loadModel(NOLORA);
  });
  after(async () => {
    await feed.dispose();
    await merge.dispose();
  });

  const lp = async (e: Engine, id: string, text: string): Promise<number[]> => (await e.score(id, text, OPTIONS)).tokens.map((t) => t.logprob!);

  test("each golden adapter set merged equals the feed path and PyTorch within 1e-4", async () => {
    const fused = merge.session!.signature.fusedStats;
    for (const g of golden.adapters) {
      const label = g.adapters.map((a) => `${a.name}×${a.scale}`).join(" + ");
      const m = await merge.setAdapters(g.adapters.map((a) => ({ ...a, path: path.join(MODEL, "adapters", a.name) })));
      assert.equal(m.mode, "merge");
      assert.equal(merge.session!.signature.fusedStats, fused, "the rebuilt session computes statistics as the original did");
      const f = await feed.setAdapters(g.adapters);
      assert.deepEqual(m.matchedModules, f.matchedModules, "both paths report the same modules");
      assert.equal(m.cache.lastReset, "adapter changed");
      for (const t of g.texts) {
        const text = golden.texts.find((x) => x.name === t.name)!.text;
        const merged = await lp(merge, `${label}:${t.name}`, text);
        const fed = await lp(feed, `${label}:${t.name}`, text);
        assert.ok(maxDiff(merged, fed) < TOL, `${label} ${t.name}: merge vs feed ${maxDiff(merged, fed)}`);
        assert.ok(maxDiff(merged, t.logprobs) < TOL, `${label} ${t.name}: merge vs PyTorch ${maxDiff(merged, t.logprobs)}`);
      }
    }
    await feed.setAdapters([]);
  });

  test("turning the adapters off (or to scale 0) restores the original weights bit for bit", async () => {
    await merge.setAdapters([]);
    const text = golden.texts[1]!.text;
    const base = await lp(merge, "base-1", text);
    assert.ok(maxDiff(base, golden.texts[1]!.logprobs) < TOL);
    await merge.setAdapters([{ name: "markdown-prose", path: path.join(MODEL, "adapters", "markdown-prose"), scale: 1 }]);
    assert.notDeepEqual(await lp(merge, "on", text), base);
    await merge.setAdapters([{ name: "markdown-prose", path: path.join(MODEL, "adapters", "markdown-prose"), scale: 0 }]);
    assert.deepEqual(await lp(merge, "zero", text), base);
    await merge.setAdapters([{ name: "markdown-prose", path: path.join(MODEL, "adapters", "markdown-prose"), scale: 2 }]);
    await merge.setAdapters([]);
    assert.deepEqual(await lp(merge, "off", text), base);
  });
});

// ---------------------------------------------------------------- hand-built graphs

const IN = 5;
const OUT = 3;
const RANK = 2;
const source: LoraModelSource = { name: "tiny", onnxPath: "tiny.onnx", spec: {} as ArchitectureSpec, threads: 1 };

function randoms(n: number, seed: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Math.fround(r()));
}

/** W as [out, in], the adapter and the reference ΔW. */
const W = randoms(OUT * IN, 1);
const A = Float32Array.from(randoms(RANK * IN, 2));
const B = Float32Array.from(randoms(OUT * RANK, 3));
const ALPHA = 4;
const SCALE = 0.75;

function adapter(modulePath: string, inFeatures = IN): PeftAdapter {
  return {
    name: "tiny-adapter",
    dir: "/tmp/tiny-adapter",
    config: { r: RANK, loraAlpha: ALPHA, targetModules: ["q_proj"], fanInFanOut: false, useRslora: false, baseModel: "", description: "" },
    scaling: ALPHA / RANK,
    modules: [
      {
        path: modulePath,
        module: "q_proj",
        layer: 0,
        rank: RANK,
        inFeatures,
        outFeatures: OUT,
        A: inFeatures === IN ? A : new Float32Array(RANK * inFeatures),
        B,
      },
    ],
  };
}

/** W + SCALE·(ALPHA/RANK)·B·A, [out, in], in float64. */
function mergedWeight(): number[] {
  const s = SCALE * (ALPHA / RANK);
  return W.map((w, idx) => {
    const o = Math.floor(idx / IN);
    const i = idx % IN;
    let d = 0;
    for (let k = 0; k < RANK; k++) d += B[o * RANK + k]! * A[k * IN + i]!;
    return w + s * d;
  });
}

function transposed(m: number[], rows: number, cols: number): number[] {
  const t = new Array<number>(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}

function graph(nodes: NodeSpec[], initializers: TensorSpec[]): Buffer {
  return encodeModel({
    nodes,
    initializers,
    inputs: [{ name: "x", elemType: FLOAT, shape: [2, IN] }],
    outputs: [{ name: "y", elemType: FLOAT, shape: [2, OUT] }],
  });
}

const layouts: Array<{ name: string; module: string; bytes: Buffer; weight: string; layout: "out_in" | "in_out" }> = [
  {
    name: "MatMul(x, Transpose(W [out,in])) named by module path (torch.onnx, no constant folding)",
    module: "transformer.h.0.attn.q_proj",
    weight: "transformer.h.0.attn.q_proj.weight",
    layout: "out_in",
    bytes: graph(
      [
        { op: "Transpose", name: "/h.0/attn/q_proj/Transpose", inputs: ["transformer.h.0.attn.q_proj.weight"], outputs: ["wt"], intLists: { perm: [1, 0] } },
        { op: "MatMul", name: "/h.0/attn/q_proj/MatMul", inputs: ["x", "wt"], outputs: ["y"] },
      ],
      [{ name: "transformer.h.0.attn.q_proj.weight", dataType: FLOAT, dims: [OUT, IN], values: W }],
    ),
  },
  {
    name: "Gemm(x, W [out,in], transB=1)",
    module: "model.layers.0.self_attn.q_proj",
    weight: "model.layers.0.self_attn.q_proj.weight",
    layout: "out_in",
    bytes: graph(
      [
        {
          op: "Gemm",
          name: "/model/layers.0/self_attn/q_proj/Gemm",
          inputs: ["x", "model.layers.0.self_attn.q_proj.weight"],
          outputs: ["y"],
          ints: { transB: 1 },
        },
      ],
      [{ name: "model.layers.0.self_attn.q_proj.weight", dataType: FLOAT, dims: [OUT, IN], values: W }],
    ),
  },
  {
    name: "constant-folded MatMul(x, W [in,out]) named onnx::MatMul_N, found by its node name (Optimum)",
    module: "model.layers.0.self_attn.q_proj",
    weight: "onnx::MatMul_1234",
    layout: "in_out",
    bytes: graph(
      [
        { op: "MatMul", name: "/model/layers.0/self_attn/k_proj/MatMul", inputs: ["x", "onnx::MatMul_1233"], outputs: ["k"] },
        { op: "MatMul", name: "/model/layers.0/self_attn/q_proj/MatMul", inputs: ["x", "onnx::MatMul_1234"], outputs: ["q"] },
        { op: "Add", name: "/model/layers.0/add", inputs: ["q", "k"], outputs: ["y"] },
      ],
      [
        { name: "onnx::MatMul_1233", dataType: FLOAT, dims: [IN, OUT], values: new Array<number>(IN * OUT).fill(0) },
        { name: "onnx::MatMul_1234", dataType: FLOAT, dims: [IN, OUT], values: transposed(W, OUT, IN) },
      ],
    ),
  },
  {
    name: "GPT-2 Conv1D: MatMul(x, W [in,out]) with the weight named by module path (fan_in_fan_out adapters)",
    module: "transformer.h.0.attn.c_attn",
    weight: "transformer.h.0.attn.c_attn.weight",
    layout: "in_out",
    bytes: graph(
      [
        { op: "MatMul", name: "/transformer/h.0/attn/c_attn/MatMul", inputs: ["x", "transformer.h.0.attn.c_attn.weight"], outputs: ["xw"] },
        { op: "Add", name: "/transformer/h.0/attn/c_attn/Add", inputs: ["xw", "transformer.h.0.attn.c_attn.bias"], outputs: ["y"] },
      ],
      [
        { name: "transformer.h.0.attn.c_attn.weight", dataType: FLOAT, dims: [IN, OUT], values: transposed(W, OUT, IN) },
        { name: "transformer.h.0.attn.c_attn.bias", dataType: FLOAT, dims: [OUT], values: [0, 0, 0] },
      ],
    ),
  },
];

describe("merge layouts on hand-built graphs", () => {
  test("node names read as module paths; suffix matches count whole segments", () => {
    assert.equal(nodeModulePath("/model/layers.0/self_attn/q_proj/MatMul"), "model.layers.0.self_attn.q_proj");
    assert.equal(nodeModulePath("/h.0/attn/q_proj/MatMul"), "h.0.attn.q_proj");
    assert.equal(nodeModulePath("MatMul_3"), null);
    assert.equal(suffixMatchLength("h.0.attn.q_proj", "transformer.h.0.attn.q_proj"), 4);
    assert.equal(suffixMatchLength("h.10.attn.q_proj", "transformer.h.0.attn.q_proj"), 0);
    assert.equal(suffixMatchLength("xq_proj", "q_proj"), 0);
  });

  for (const l of layouts) {
    test(`${l.name}: patched to W + s·(alpha/r)·B·A`, async () => {
      const proto = parseOnnxModel(l.bytes);
      const found = findLinearWeights(proto.graph).find((w) => w.initializer.name === l.weight)!;
      assert.equal(found.layout, l.layout);
      const applier = new MergeLoraApplier(l.bytes, proto, source);
      const { bytes, matchedModules, patchedWeights } = applier.patchBytes([{ adapter: adapter(l.module), scale: SCALE }]);
      assert.deepEqual(matchedModules, [l.module]);
      assert.deepEqual(patchedWeights, [l.weight]);
      assert.equal(bytes.length, l.bytes.length, "patched in place");
      assert.notEqual(bytes, l.bytes);
      // The stored weight, read back from the patched bytes.
      const init = parseOnnxModel(bytes).graph.initializers.find((i) => i.name === l.weight)!;
      const raw = Buffer.from(bytes.buffer, bytes.byteOffset + init.rawData!.offset, init.rawData!.length);
      const stored = Array.from({ length: IN * OUT }, (_, e) => raw.readFloatLE(4 * e));
      const expected = l.layout === "out_in" ? mergedWeight() : transposed(mergedWeight(), OUT, IN);
      stored.forEach((v, e) => assert.ok(Math.abs(v - expected[e]!) < 1e-6, `element ${e}: ${v} vs ${expected[e]}`));
      // And the graph computes y = x·W'ᵀ with it.
      const x = randoms(2 * IN, 9);
      const session = await ort.InferenceSession.create(bytes);
      const y = (await session.run({ x: new ort.Tensor("float32", Float32Array.from(x), [2, IN]) }))["y"]!.data as Float32Array;
      await session.release();
      const m = mergedWeight();
      for (let b = 0; b < 2; b++) {
        for (let o = 0; o < OUT; o++) {
          let want = 0;
          for (let i = 0; i < IN; i++) want += x[b * IN + i]! * m[o * IN + i]!;
          assert.ok(Math.abs(y[b * OUT + o]! - want) < 1e-5, `y[${b},${o}] = ${y[b * OUT + o]} vs ${want}`);
        }
      }
      // Scale 0 or no adapter gives back the original bytes untouched.
      assert.equal(applier.patchBytes([{ adapter: adapter(l.module), scale: 0 }]).bytes, l.bytes);
    });
  }

  const refuse = (bytes: Buffer, module: string, pattern: RegExp, inFeatures = IN): void => {
    const applier = new MergeLoraApplier(bytes, parseOnnxModel(bytes), source);
    assert.throws(
      () => applier.patchBytes([{ adapter: adapter(module, inFeatures), scale: 1 }]),
      (e: unknown) => e instanceof LoraError && pattern.test(e.message) && e.message.startsWith('Adapter "tiny-adapter"'),
    );
  };

  test("a float64 weight is refused (only float32 can be merged)", () => {
    const bytes = graph(
      [{ op: "Gemm", name: "/m/q_proj/Gemm", inputs: ["x", "m.q_proj.weight"], outputs: ["y"], ints: { transB: 1 } }],
      [{ name: "m.q_proj.weight", dataType: DOUBLE, dims: [OUT, IN], values: W }],
    );
    refuse(bytes, "m.q_proj", /the weight m\.q_proj\.weight of m\.q_proj is float64, and only float32 weights can be merged into/);
  });

  test("a quantized weight (MatMulNBits) is refused", () => {
    const bytes = graph(
      [{ op: "MatMulNBits", name: "/model/layers.0/self_attn/q_proj/MatMul_Q4", inputs: ["x", "q_packed", "q_scales"], outputs: ["y"] }],
      [
        { name: "q_packed", dataType: INT64, dims: [OUT, 1], values: [0, 0, 0] },
        { name: "q_scales", dataType: FLOAT, dims: [OUT], values: [1, 1, 1] },
      ],
    );
    refuse(bytes, "model.layers.0.self_attn.q_proj", /is a quantized weight \(MatMulNBits\), which the merge path cannot patch/);
  });

  test("a weight that reaches MatMul through DequantizeLinear is refused as quantized", () => {
    const bytes = graph(
      [
        { op: "DequantizeLinear", name: "/model/layers.0/self_attn/q_proj/DequantizeLinear", inputs: ["q_int", "q_scale"], outputs: ["q_w"] },
        { op: "MatMul", name: "/model/layers.0/self_attn/q_proj/MatMul", inputs: ["x", "q_w"], outputs: ["y"] },
      ],
      [
        { name: "q_int", dataType: INT64, dims: [IN, OUT], values: new Array<number>(IN * OUT).fill(0) },
        { name: "q_scale", dataType: FLOAT, dims: [], values: [1] },
      ],
    );
    refuse(bytes, "model.layers.0.self_attn.q_proj", /the weight q_int of model\.layers\.0\.self_attn\.q_proj is a quantized weight \(DequantizeLinear\)/);
  });

  test("shapes that disagree and modules that match nothing are refused", () => {
    const l = layouts[0]!;
    refuse(
      l.bytes,
      l.module,
      /maps 4 → 3 features but the weight transformer\.h\.0\.attn\.q_proj\.weight is \[3, 5\] \(stored \[out, in\]\), so the shapes disagree/,
      4,
    );
    refuse(l.bytes, "transformer.h.1.attn.q_proj", /adapts transformer\.h\.1\.attn\.q_proj, which matches no weight of tiny/);
  });

  test("a graph with no MatMul/Gemm weights at all cannot take adapters", () => {
    const bytes = graph([{ op: "Identity", inputs: ["x"], outputs: ["y"] }], []);
    assert.throws(
      () => new MergeLoraApplier(bytes, parseOnnxModel(bytes), source),
      /cannot be applied to tiny: its graph has neither LoRA inputs nor MatMul\/Gemm weights/,
    );
  });
});
