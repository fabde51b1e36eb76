// The embedded models, as the model kit (tools/model-kit) built them: tokenizer ids and PyTorch log-probabilities
// (test/goldens/<model>.json) reproduced with onnxruntime-node and @huggingface/tokenizers, KV-cache decoding
// equal to one full pass, and the default model's LoRA inputs (zeros, rank 0, the shipped PEFT adapters).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { Tokenizer } from "@huggingface/tokenizers";
import { repoRoot } from "../../helpers/paths";

const root = repoRoot;
const MODELS = ["lens-gpt2-bpe4k", "lens-gpt2-byte", "lens-llama-sp"];
const DEFAULT = "lens-gpt2-bpe4k";
const TOL = 1e-4;

interface GoldenText { name: string; text: string; ids: number[]; logprobs: number[] }
interface Golden {
  model: string;
  prefixId: number;
  texts: GoldenText[];
  adapters?: { adapters: { name: string; scale: number }[]; texts: { name: string; logprobs: number[] }[] }[];
}
interface Loaded {
  dir: string;
  config: Record<string, unknown>;
  tokenizer: Tokenizer;
  session: ort.InferenceSession;
  layers: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
}

function readJson<T>(p: string): T {
  return JSON.parse(fs.readFileSync(p, "utf8")) as T;
}

const cache = new Map<string, Promise<Loaded>>();
function load(dir: string): Promise<Loaded> {
  let p = cache.get(dir);
  if (!p) {
    p = (async () => {
      const config = readJson<Record<string, number | string>>(path.join(dir, "config.json"));
      const tokenizer = new Tokenizer(readJson(path.join(dir, "tokenizer.json")), readJson(path.join(dir, "tokenizer_config.json")));
      const session = await ort.InferenceSession.create(path.join(dir, "onnx", "model.onnx"), { intraOpNumThreads: 1 });
      const gpt2 = config.model_type === "gpt2";
      const layers = Number(gpt2 ? config.n_layer : config.num_hidden_layers);
      const heads = Number(gpt2 ? config.n_head : config.num_attention_heads);
      const hidden = Number(gpt2 ? config.n_embd : config.hidden_size);
      const kvHeads = gpt2 ? heads : Number(config.num_key_value_heads);
      const headDim = gpt2 ? hidden / heads : Number(config.head_dim);
      return { dir, config, tokenizer, session, layers, kvHeads, headDim, hidden };
    })();
    cache.set(dir, p);
  }
  return p;
}

type Past = ort.Tensor[]; // [key0, value0, key1, value1, ...]
type Lora = Record<string, ort.Tensor>;

function emptyPast(m: Loaded): Past {
  const out: Past = [];
  for (let i = 0; i < 2 * m.layers; i++) out.push(new ort.Tensor("float32", new Float32Array(0), [1, m.kvHeads, 0, m.headDim]));
  return out;
}

function loraInputs(m: Loaded, perLayer?: (i: number, mod: string) => { A: Float32Array; B: Float32Array; r: number }): Lora {
  const feeds: Lora = {};
  if (!m.session.inputNames.includes("lora.0.q_proj.A")) return feeds;
  for (let i = 0; i < m.layers; i++) {
    for (const mod of ["q_proj", "v_proj"]) {
      const x = perLayer ? perLayer(i, mod) : { A: new Float32Array(0), B: new Float32Array(0), r: 0 };
      feeds[`lora.${i}.${mod}.A`] = new ort.Tensor("float32", x.A, [m.hidden, x.r]);
      feeds[`lora.${i}.${mod}.B`] = new ort.Tensor("float32", x.B, [x.r, m.hidden]);
    }
  }
  return feeds;
}

async function run(m: Loaded, tokens: number[], past: Past, lora: Lora): Promise<{ logits: Float32Array; vocab: number; present: Past }> {
  const pastLen = past[0]!.dims[2]!;
  const n = tokens.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(tokens.map(BigInt)), [1, n]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(pastLen + n).fill(1n), [1, pastLen + n]),
    position_ids: new ort.Tensor("int64", BigInt64Array.from(tokens.map((_, i) => BigInt(pastLen + i))), [1, n]),
    ...lora,
  };
  for (let i = 0; i < m.layers; i++) {
    feeds[`past_key_values.${i}.key`] = past[2 * i]!;
    feeds[`past_key_values.${i}.value`] = past[2 * i + 1]!;
  }
  const out = await m.session.run(feeds);
  const present: Past = [];
  for (let i = 0; i < m.layers; i++) present.push(out[`present.${i}.key`]!, out[`present.${i}.value`]!);
  const logits = out.logits!;
  return { logits: logits.data as Float32Array, vocab: logits.dims[2]!, present };
}

/** ln p(target | row) for each row, log-softmax in float64. */
function logprobsOf(logits: Float32Array, vocab: number, rows: number, targets: number[], firstRow = 0): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const off = (firstRow + r) * vocab;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[off + v]!);
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[off + v]! - max);
    out.push(logits[off + targets[r]!]! - max - Math.log(sum));
  }
  return out;
}

async function fullPass(m: Loaded, prefix: number, ids: number[], lora: Lora): Promise<{ lp: number[]; logits: Float32Array }> {
  const r = await run(m, [prefix, ...ids.slice(0, -1)], emptyPast(m), lora);
  return { lp: logprobsOf(r.logits, r.vocab, ids.length, ids), logits: r.logits };
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  actual.forEach((a, i) => {
    const d = Math.abs(a - expected[i]!);
    if (!(d <= worst)) { worst = d; at = i; }
  });
  assert.ok(worst <= tol, `${what}: max |diff| ${worst} at ${at} exceeds ${tol}`);
}

// ---------------------------------------------------------------- safetensors + PEFT config (fp32 only here)

function readSafetensors(file: string): Map<string, { shape: number[]; data: Float32Array }> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of Object.entries(header)) {
    if (k === "__metadata__") continue;
    assert.equal(v.dtype, "F32");
    const [s, e] = v.data_offsets;
    const bytes = buf.subarray(8 + n + s, 8 + n + e);
    const data = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
    out.set(k, { shape: v.shape, data });
  }
  return out;
}

/** Feed tensors for several adapters: A = lora_A^T [d, R], B = (alpha/r*scale) lora_B^T [R, d], concatenated along R. */
function adapterFeeds(m: Loaded, adapters: { name: string; scale: number }[]): Lora {
  const loaded = adapters.map((a) => {
    const dir = path.join(m.dir, "adapters", a.name);
    const cfg = readJson<{ r: number; lora_alpha: number; target_modules: string[] }>(path.join(dir, "adapter_config.json"));
    return { ...a, cfg, w: readSafetensors(path.join(dir, "adapter_model.safetensors")) };
  });
  const d = m.hidden;
  return loraInputs(m, (i, mod) => {
    const R = loaded.reduce((s, a) => s + a.cfg.r, 0);
    const A = new Float32Array(d * R);
    const B = new Float32Array(R * d);
    let off = 0;
    for (const a of loaded) {
      const r = a.cfg.r;
      const key = `base_model.model.transformer.h.${i}.attn.${mod}`;
      const la = a.w.get(`${key}.lora_A.weight`)!; // [r, d]
      const lb = a.w.get(`${key}.lora_B.weight`)!; // [d, r]
      assert.deepEqual(la.shape, [r, d]);
      assert.deepEqual(lb.shape, [d, r]);
      const s = (a.cfg.lora_alpha / r) * a.scale;
      for (let k = 0; k < r; k++) {
        for (let j = 0; j < d; j++) {
          A[j * R + off + k] = la.data[k * d + j]!;
          B[(off + k) * d + j] = lb.data[j * r + k]! * s;
        }
      }
      off += r;
    }
    return { A, B, r: R };
  });
}

// ---------------------------------------------------------------- tests

for (const name of MODELS) {
  const dir = path.join(root, "models", name);
  const golden = readJson<Golden>(path.join(root, "test", "goldens", `${name}.json`));

  test(`${name}: tokenizer ids equal the goldens and round-trip`, async () => {
    const m = await load(dir);
    for (const t of golden.texts) {
      const ids = m.tokenizer.encode(t.text, { add_special_tokens: false }).ids;
      assert.deepEqual(ids, t.ids, t.name);
      assert.equal(m.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), t.text, t.name);
    }
  });

  test(`${name}: one full pass reproduces the PyTorch log-probabilities (1e-4)`, async () => {
    const m = await load(dir);
    for (const t of golden.texts) {
      const { lp } = await fullPass(m, golden.prefixId, t.ids, loraInputs(m));
      assertClose(lp, t.logprobs, TOL, `${name}/${t.name}`);
    }
  });

  test(`${name}: token-by-token decoding with the KV cache equals the full pass (1e-4)`, async () => {
    const m = await load(dir);
    for (const t of golden.texts) {
      const { lp: full } = await fullPass(m, golden.prefixId, t.ids, loraInputs(m));
      const inputs = [golden.prefixId, ...t.ids.slice(0, -1)];
      let past = emptyPast(m);
      const step: number[] = [];
      const steps = Math.min(inputs.length, 40); // one token at a time for the first 40, then a chunk (below)
      for (let i = 0; i < steps; i++) {
        const r = await run(m, [inputs[i]!], past, loraInputs(m));
        step.push(...logprobsOf(r.logits, r.vocab, 1, [t.ids[i]!]));
        past = r.present;
      }
      assertClose(step, full.slice(0, steps), TOL, `${name}/${t.name} incremental`);
      // a chunk of several tokens after a cached prefix, too
      const half = Math.floor(inputs.length / 2);
      const a = await run(m, inputs.slice(0, half), emptyPast(m), loraInputs(m));
      const b = await run(m, inputs.slice(half), a.present, loraInputs(m));
      assertClose(logprobsOf(b.logits, b.vocab, inputs.length - half, t.ids.slice(half)), full.slice(half), TOL, `${name}/${t.name} chunked`);
    }
  });
}

for (const name of MODELS) {
  test(`${name}: a right-padded batch of two equals the single-sequence passes (1e-4)`, async () => {
    const m = await load(path.join(root, "models", name));
    const golden = readJson<Golden>(path.join(root, "test", "goldens", `${name}.json`));
    const a = [golden.prefixId, ...golden.texts[0]!.ids.slice(0, 30)];
    const b = [golden.prefixId, ...golden.texts[2]!.ids.slice(0, 18)];
    const T = a.length;
    const ids = new BigInt64Array(2 * T);
    const mask = new BigInt64Array(2 * T);
    const pos = new BigInt64Array(2 * T);
    for (let t = 0; t < T; t++) {
      ids[t] = BigInt(a[t]!); mask[t] = 1n; pos[t] = BigInt(t);
      ids[T + t] = BigInt(t < b.length ? b[t]! : 0); mask[T + t] = t < b.length ? 1n : 0n; pos[T + t] = BigInt(t);
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", ids, [2, T]), attention_mask: new ort.Tensor("int64", mask, [2, T]),
      position_ids: new ort.Tensor("int64", pos, [2, T]), ...loraInputs(m),
    };
    for (let i = 0; i < m.layers; i++) {
      for (const kv of ["key", "value"]) feeds[`past_key_values.${i}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [2, m.kvHeads, 0, m.headDim]);
    }
    const out = await m.session.run(feeds);
    const logits = out.logits!.data as Float32Array;
    const V = out.logits!.dims[2]!;
    assert.ok(logits.every((x) => Number.isFinite(x)), "no NaN/inf, padded rows included");
    for (const [row, seq] of [[0, a], [1, b]] as const) {
      const single = await run(m, seq, emptyPast(m), loraInputs(m));
      const got = Array.from(logits.subarray(row * T * V, (row * T + seq.length) * V));
      assertClose(got, Array.from(single.logits), TOL, `${name} batch row ${row}`);
    }
  });
}

test("lens-gpt2-bpe4k: zero and rank-0 LoRA inputs reproduce the base model exactly", async () => {
  const m = await load(path.join(root, "models", DEFAULT));
  const golden = readJson<Golden>(path.join(root, "test", "goldens", `${DEFAULT}.json`));
  const t = golden.texts[0]!;
  const rank0 = await fullPass(m, golden.prefixId, t.ids, loraInputs(m));
  const zeros = await fullPass(m, golden.prefixId, t.ids, loraInputs(m, () => ({ A: new Float32Array(m.hidden * 8), B: new Float32Array(8 * m.hidden), r: 8 })));
  assert.deepEqual(zeros.logits, rank0.logits);
  const plain = await load(path.join(root, "test", "fixtures", "lens-gpt2-bpe4k-nolora"));
  assert.ok(!plain.session.inputNames.some((n) => n.startsWith("lora.")));
  const base = await fullPass(plain, golden.prefixId, t.ids, {});
  assert.deepEqual(rank0.logits, base.logits);
});

test("lens-gpt2-bpe4k: the shipped PEFT adapters fed as LoRA inputs match the PyTorch goldens (1e-4)", async () => {
  const m = await load(path.join(root, "models", DEFAULT));
  const golden = readJson<Golden>(path.join(root, "test", "goldens", `${DEFAULT}.json`));
  assert.ok(golden.adapters && golden.adapters.length >= 3);
  for (const combo of golden.adapters) {
    const feeds = adapterFeeds(m, combo.adapters);
    for (const gt of combo.texts) {
      const t = golden.texts.find((x) => x.name === gt.name)!;
      const { lp } = await fullPass(m, golden.prefixId, t.ids, feeds);
      assertClose(lp, gt.logprobs, TOL, `${combo.adapters.map((a) => `${a.name}:${a.scale}`).join("+")}/${t.name}`);
    }
  }
});
