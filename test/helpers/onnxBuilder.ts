/**
 * A small protobuf encoder for ONNX ModelProto, so tests build their own models (no Python, no files in the repo):
 * - constantLogitsModel: every position gets the same logits row (the worked examples of perplexity);
 * - runningSumModel: a causal LM with keys/values whose logits at position t depend on all tokens ≤ t
 *   (logits = tanh(Σ_{s≤t} E[x_s]) · W), with past_key_values/present outputs, to test the KV cache and windows.
 * Also writes Hugging Face model folders (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx).
 */
import * as fs from "node:fs";
import * as path from "node:path";

import { encodeModel, floatToHalf, FLOAT, FLOAT16, INT64, type Dim } from "../../src/core/backends/onnx/onnxEncoder";
import { halfToFloat } from "../../src/core/tokenDistribution";

export { encodeModel, FLOAT, INT64 } from "../../src/core/backends/onnx/onnxEncoder";

// ---------------------------------------------------------------- models

/** logits[b, s, :] = row, whatever the input: a Gather from a [vocab, vocab] table whose rows all equal `row`. */
export function constantLogitsModel(row: number[]): Buffer {
  const v = row.length;
  const table: number[] = [];
  for (let i = 0; i < v; i++) table.push(...row);
  return encodeModel({
    nodes: [{ op: "Gather", inputs: ["table", "input_ids"], outputs: ["logits"], ints: { axis: 0 } }],
    initializers: [{ name: "table", dataType: FLOAT, dims: [v, v], values: table }],
    inputs: [{ name: "input_ids", elemType: INT64, shape: ["batch", "seq"] }],
    outputs: [{ name: "logits", elemType: FLOAT, shape: ["batch", "seq", v] }],
  });
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function uniformRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic pseudo-random numbers in [-1, 1) (uniformRandom, stretched). */
export function seededRandom(seed: number): () => number {
  const next = uniformRandom(seed);
  return () => next() * 2 - 1;
}

/** The running-sum model's weights as stored (rounded to float32): embedding [vocab, dim], head [dim, vocab]. */
export function runningSumWeights(vocab: number, dim: number, seed = 1, kvType: "float32" | "float16" = "float32"): { embedding: number[]; head: number[] } {
  const rand = seededRandom(seed);
  const round = kvType === "float16" ? (x: number) => halfToFloat(floatToHalf(x)) : Math.fround;
  const embedding = Array.from({ length: vocab * dim }, () => round(rand() * 0.6));
  const head = Array.from({ length: dim * vocab }, () => Math.fround(rand() * 3));
  return { embedding, head };
}

/**
 * A one-layer causal LM with a KV cache: present.0.key = concat(past.0.key, E[x]) over the sequence axis, and
 * logits at position t = tanh(Σ_{s≤t} key_s) · W. Inputs follow Optimum's names; attention_mask and position_ids are
 * declared (as real exports do) but unused.
 */
export function runningSumModel(vocab: number, dim: number, seed = 1, kvType: "float32" | "float16" = "float32"): Buffer {
  const { embedding, head } = runningSumWeights(vocab, dim, seed, kvType);
  const kvShape: Dim[] = ["batch", 1, "past", dim];
  const kvElem = kvType === "float16" ? FLOAT16 : FLOAT;
  return encodeModel({
    nodes: [
      { op: "Gather", inputs: ["embedding", "input_ids"], outputs: ["emb"], ints: { axis: 0 } },
      { op: "Unsqueeze", inputs: ["emb", "axis1"], outputs: ["emb4"] },
      { op: "Concat", inputs: ["past_key_values.0.key", "emb4"], outputs: ["present.0.key"], ints: { axis: 2 } },
      { op: "Concat", inputs: ["past_key_values.0.value", "emb4"], outputs: ["present.0.value"], ints: { axis: 2 } },
      // Keys/values stay in their type (float16 exercises the fp16 KV path); the sum runs in float32.
      { op: "Cast", inputs: ["present.0.key"], outputs: ["presentFloat"], ints: { to: FLOAT } },
      { op: "CumSum", inputs: ["presentFloat", "axis2scalar"], outputs: ["running"] },
      { op: "Shape", inputs: ["input_ids"], outputs: ["idsShape"] },
      { op: "Gather", inputs: ["idsShape", "index1"], outputs: ["seqLen"], ints: { axis: 0 } },
      { op: "Neg", inputs: ["seqLen"], outputs: ["minusSeqLen"] },
      { op: "Slice", inputs: ["running", "minusSeqLen", "bigEnd", "axis2"], outputs: ["lastRunning"] },
      { op: "Squeeze", inputs: ["lastRunning", "axis1"], outputs: ["hidden"] },
      { op: "Tanh", inputs: ["hidden"], outputs: ["squashed"] },
      { op: "MatMul", inputs: ["squashed", "head"], outputs: ["logits"] },
    ],
    initializers: [
      { name: "embedding", dataType: kvElem, dims: [vocab, dim], values: embedding },
      { name: "head", dataType: FLOAT, dims: [dim, vocab], values: head },
      { name: "axis1", dataType: INT64, dims: [1], values: [1] },
      { name: "axis2", dataType: INT64, dims: [1], values: [2] },
      { name: "axis2scalar", dataType: INT64, dims: [], values: [2] },
      { name: "index1", dataType: INT64, dims: [1], values: [1] },
      { name: "bigEnd", dataType: INT64, dims: [1], values: [2 ** 53 - 1] },
    ],
    inputs: [
      { name: "input_ids", elemType: INT64, shape: ["batch", "seq"] },
      { name: "attention_mask", elemType: INT64, shape: ["batch", "total"] },
      { name: "position_ids", elemType: INT64, shape: ["batch", "seq"] },
      { name: "past_key_values.0.key", elemType: kvElem, shape: kvShape },
      { name: "past_key_values.0.value", elemType: kvElem, shape: kvShape },
    ],
    outputs: [
      { name: "logits", elemType: FLOAT, shape: ["batch", "seq", vocab] },
      { name: "present.0.key", elemType: kvElem, shape: ["batch", 1, "total", dim] },
      { name: "present.0.value", elemType: kvElem, shape: ["batch", 1, "total", dim] },
    ],
  });
}

// ---------------------------------------------------------------- tokenizers and folders

/** GPT-2's byte → printable character table. */
export function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i]!)]));
}

/** Byte-level BPE without merges: id = byte value, 256 = <|endoftext|>. */
export function byteTokenizer(): { tokenizer: object; config: object } {
  const table = bytesToUnicode();
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[table.get(b)!] = b;
  vocab["<|endoftext|>"] = 256;
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    tokenizer: {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [{ id: 256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: byteLevel,
      decoder: byteLevel,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: "",
        end_of_word_suffix: "",
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    },
    config: {
      add_bos_token: false,
      bos_token: "<|endoftext|>",
      eos_token: "<|endoftext|>",
      clean_up_tokenization_spaces: false,
      tokenizer_class: "GPT2Tokenizer",
    },
  };
}

/**
 * Whole words from a fixed list, split on whitespace (BPE with ignore_merges: a word in the vocabulary is one token).
 * `endOfText` is appended as a special token; it serves as the prefix token (the tokenizer adds no BOS).
 */
export function wordTokenizer(words: string[], endOfText = "<|endoftext|>"): { tokenizer: object; config: object } {
  const vocab: Record<string, number> = {};
  words.forEach((w, i) => (vocab[w] = i));
  vocab[endOfText] = words.length;
  return {
    tokenizer: {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [{ id: words.length, content: endOfText, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
      normalizer: null,
      pre_tokenizer: { type: "WhitespaceSplit" },
      post_processor: null,
      decoder: null,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: true,
        vocab,
        merges: [],
      },
    },
    config: { add_bos_token: false, eos_token: endOfText, clean_up_tokenization_spaces: false },
  };
}

export function gpt2Config(vocab: number, layers: number, heads: number, embd: number, positions: number): object {
  return { model_type: "gpt2", vocab_size: vocab, n_layer: layers, n_head: heads, n_embd: embd, n_positions: positions };
}

export function writeModelFolder(dir: string, parts: { config: object; tokenizer: object; tokenizerConfig: object; onnx: Uint8Array }): string {
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(parts.config));
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(parts.tokenizer));
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(parts.tokenizerConfig));
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), parts.onnx);
  return dir;
}

/** A model folder with the running-sum model (vocab 257, byte tokenizer) and a small context, in a fresh temp dir. */
export function runningSumFolder(dir: string, options: { dim?: number; positions?: number; seed?: number; kvType?: "float32" | "float16" } = {}): string {
  const dim = options.dim ?? 8;
  const { tokenizer, config } = byteTokenizer();
  return writeModelFolder(dir, {
    config: gpt2Config(257, 1, 1, dim, options.positions ?? 64),
    tokenizer,
    tokenizerConfig: config,
    onnx: runningSumModel(257, dim, options.seed ?? 1, options.kvType ?? "float32"),
  });
}

/** A model folder with constant logits over `words` + <|endoftext|> (whose logit is −1e9: probability exactly 0). */
export function constantWordsFolder(dir: string, words: string[], wordLogits: number[]): string {
  const { tokenizer, config } = wordTokenizer(words);
  return writeModelFolder(dir, {
    config: gpt2Config(words.length + 1, 1, 1, 4, 64),
    tokenizer,
    tokenizerConfig: config,
    onnx: constantLogitsModel([...wordLogits, -1e9]),
  });
}

/**
 * The three folders the comparison tests compare: a runningSum model, a constant-logits model over red/blue/green
 * (blue twice as likely), and a folder with only that tokenizer's tokenizer.json.
 */
export function comparisonFolders(dir: string): { sum: string; words: string; tokenizerOnly: string } {
  const sum = runningSumFolder(path.join(dir, "sum"), { dim: 8, positions: 64 });
  const words = constantWordsFolder(path.join(dir, "words"), ["red", "blue", "green"], [0, Math.log(2), 0]);
  const tokenizerOnly = path.join(dir, "tokenizer-only");
  fs.mkdirSync(tokenizerOnly);
  fs.writeFileSync(path.join(tokenizerOnly, "tokenizer.json"), JSON.stringify(wordTokenizer(["red", "blue", "green"]).tokenizer));
  return { sum, words, tokenizerOnly };
}
