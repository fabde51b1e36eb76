// Each shipped adapter lowers perplexity on its own domain's validation text, and the engine's figures for it equal the
// model kit's PyTorch figures (models/lens-gpt2-bpe4k/adapters/eval.json) within 1e-4 (relative for perplexity, absolute
// for bits per byte), computed with the method eval.json states: per validation file, lm-evaluation-harness rolling
// windows (max_seq_len = model context, context_len = 1), prefix <|endoftext|>, NLL summed over all files.
//
// The full validation set of a domain is ~64k tokens (two evaluations here, one per adapter on its own domain: ~10 s on
// an idle 2-core machine, minutes when the machine is busy). LENS_LORA_FULL_TABLE=1 also evaluates every adapter on the
// other domain and the base on both, against every row of eval.json.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Engine } from "../../../../src/core/engine";
import { repoRoot } from "../../../helpers/paths";

const root = repoRoot;
const MODEL = path.join(root, "models", "lens-gpt2-bpe4k");
const EVAL = path.join(MODEL, "adapters", "eval.json");
const TOL = 1e-4;

interface Figures {
  tokens: number;
  nll: number;
  tokenPerplexity: number;
  bitsPerByte: number;
}
interface EvalRow {
  adapter: string | null;
  scale: number;
  domain?: "code" | "prose";
  code: Figures;
  prose: Figures;
}
interface AdapterEval {
  method: { maxSeqLen: number; contextLen: number; prefixTokenId: number; validationFiles: Record<"code" | "prose", string> };
  rows: EvalRow[];
}

const evalFile: AdapterEval | null = fs.existsSync(EVAL) ? (JSON.parse(fs.readFileSync(EVAL, "utf8")) as AdapterEval) : null;
if (evalFile === null) throw new Error("models/lens-gpt2-bpe4k/adapters/eval.json is missing; rebuild it with `npm run models`.");
const skip = false;

let engine: Engine;
before(async () => {
  // One forward pass per window, as the PyTorch evaluation does (chunks of the full context).
  engine = new Engine({ chunkTokens: evalFile?.method.maxSeqLen ?? 512 });
  await engine.loadModel(MODEL);
});
after(async () => {
  await engine.dispose();
});

/** Perplexity and bits per byte of a domain's validation files with the given adapter (null: base), as eval.json defines them. */
async function evaluate(adapter: string | null, domain: "code" | "prose"): Promise<Figures> {
  await engine.setAdapters(adapter === null ? [] : [{ name: adapter, scale: 1 }]);
  const lines = fs
    .readFileSync(path.join(root, evalFile!.method.validationFiles[domain]), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  let nll = 0;
  let tokens = 0;
  let bytes = 0;
  for (const [i, line] of lines.entries()) {
    const text = (JSON.parse(line) as { text: string }).text;
    const r = await engine.score(`val-${i}`, text, { method: "rolling", window: evalFile!.method.maxSeqLen, topK: 0 });
    await engine.releaseDocument(`val-${i}`);
    assert.equal(r.metrics.scoredTokens, r.metrics.tokens, "rolling windows score every token");
    nll += r.metrics.nll;
    tokens += r.metrics.tokens;
    bytes += Buffer.byteLength(text, "utf8");
  }
  // tokenPerplexity = exp(Σ NLL / Σ tokens); bitsPerByte = Σ NLL / (Σ UTF-8 bytes · ln 2)  (tools/model-kit/lenskit/common.py).
  return { tokens, nll, tokenPerplexity: Math.exp(nll / tokens), bitsPerByte: nll / (bytes * Math.LN2) };
}

function assertMatches(got: Figures, want: Figures, label: string): void {
  assert.equal(got.tokens, want.tokens, `${label}: tokens`);
  const rel = Math.abs(got.tokenPerplexity / want.tokenPerplexity - 1);
  assert.ok(rel < TOL, `${label}: perplexity ${got.tokenPerplexity} vs PyTorch ${want.tokenPerplexity} (relative ${rel})`);
  assert.ok(Math.abs(got.bitsPerByte - want.bitsPerByte) < TOL, `${label}: bits per byte ${got.bitsPerByte} vs ${want.bitsPerByte}`);
}

test("each adapter lowers perplexity on its own domain, matching the model kit's PyTorch figures", { skip }, async () => {
  const base = evalFile!.rows.find((r) => r.adapter === null)!;
  for (const row of evalFile!.rows.filter((r) => r.adapter !== null && r.domain !== undefined)) {
    const domain = row.domain!;
    const got = await evaluate(row.adapter, domain);
    assertMatches(got, row[domain], `${row.adapter} on ${domain}`);
    assert.ok(
      got.tokenPerplexity < base[domain].tokenPerplexity,
      `${row.adapter} on ${domain}: ${got.tokenPerplexity} is not below the base's ${base[domain].tokenPerplexity}`,
    );
    process.stdout.write(
      `${row.adapter} on ${domain}: perplexity ${got.tokenPerplexity.toFixed(4)} (PyTorch ${row[domain].tokenPerplexity.toFixed(4)}, base ${base[domain].tokenPerplexity.toFixed(4)})\n`,
    );
  }
});

test(
  "the full table: base and every adapter on both domains",
  { skip: skip || (process.env["LENS_LORA_FULL_TABLE"] === "1" ? false : "set LENS_LORA_FULL_TABLE=1 (six evaluations)") },
  async () => {
    for (const row of evalFile!.rows) {
      for (const domain of ["code", "prose"] as const) {
        const got = await evaluate(row.adapter, domain);
        assertMatches(got, row[domain], `${row.adapter ?? "base"} on ${domain}`);
        process.stdout.write(
          `${row.adapter ?? "base"} on ${domain}: perplexity ${got.tokenPerplexity.toFixed(4)} bits/byte ${got.bitsPerByte.toFixed(4)} (PyTorch ${row[domain].tokenPerplexity.toFixed(4)} / ${row[domain].bitsPerByte.toFixed(4)})\n`,
        );
      }
    }
  },
);
