/**
 * The built-in demonstration rests on measured numbers: the model kit's validation figures (models/NAME/eval.json,
 * written by tools/model-kit/evaluate.py with PyTorch) reproduced by this engine on the same texts with the same method
 * — per validation file, prefix token + lm-evaluation-harness rolling disjoint windows with max_seq_len = the context
 * length, NLL summed over files; tokenPerplexity = exp(ΣNLL / Σtokens), bitsPerByte = ΣNLL / (Σbytes · ln 2) — within
 * 1e-3 (relative). Expected values are read from eval.json, never written here: the kit replaces the models and their
 * eval.json together when it retrains them.
 *
 * Cost: the byte model scores one token per byte, so the code set alone is ~202k tokens (≈25 s of CPU for the byte
 * model, ≈9 s for a 4k-vocabulary model; onnxruntime is compute-bound here at ≈125 µs per byte-model token with a
 * 512-token window). The unit suite therefore reproduces the code set fully for the embedded pair (lens-gpt2-bpe4k,
 * lens-gpt2-byte); PERPLEXITY_LENS_FULL_VALIDATION=1 adds the prose set and lens-llama-sp.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Engine } from "../../../src/core/engine";
import { committedArtifact, repoRoot } from "../../helpers/paths";

const root = repoRoot;
const FULL = process.env["PERPLEXITY_LENS_FULL_VALIDATION"] === "1";
const TOLERANCE = 1e-3;

interface KitFigures {
  files: number;
  tokens: number;
  bytes: number;
  nll: number;
  tokenPerplexity: number;
  bitsPerByte: number;
}
interface KitEval {
  model: string;
  method: {
    maxSeqLen: number;
    contextLen: number;
    prefixTokenId: number;
    prefixToken: string;
    addSpecialTokens: boolean;
    validationFiles: Record<string, string>;
  };
  code: KitFigures;
  prose: KitFigures;
}

function validationTexts(file: string): string[] {
  return fs
    .readFileSync(path.join(root, file), "utf8")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => (JSON.parse(line) as { text: string }).text);
}

function relativeDifference(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

const cases: Array<{ model: string; kind: "code" | "prose" }> = [
  { model: "lens-gpt2-bpe4k", kind: "code" },
  { model: "lens-gpt2-byte", kind: "code" },
  ...(FULL
    ? [
        { model: "lens-gpt2-bpe4k", kind: "prose" as const },
        { model: "lens-gpt2-byte", kind: "prose" as const },
        { model: "lens-llama-sp", kind: "code" as const },
        { model: "lens-llama-sp", kind: "prose" as const },
      ]
    : []),
];

describe("the model kit's validation figures, reproduced by the engine", () => {
  for (const { model, kind } of cases) {
    const dir = path.join(root, "models", model);
    const evalPath = path.join(dir, "eval.json");
    committedArtifact(path.relative(root, evalPath), "npm run models");
    test(`${model} on the ${kind} validation set: token perplexity and bits per byte within ${TOLERANCE}`, async (t) => {
      const kit = JSON.parse(fs.readFileSync(evalPath, "utf8")) as KitEval;
      const expected = kit[kind];
      const engine = new Engine();
      const info = await engine.loadModel(dir, { source: "embedded" });
      try {
        // The same method as the kit: rolling windows of the full context, the same prefix token, nothing added.
        const method = engine.resolveMethod({ method: "rolling", window: 0 });
        assert.equal(kit.method.contextLen, 1);
        assert.equal(kit.method.addSpecialTokens, false);
        assert.equal(method.window, kit.method.maxSeqLen, "window = the kit's max_seq_len");
        assert.equal(method.prefix.replace(/^(bos|eos):/, ""), kit.method.prefixToken, "prefix token");
        assert.equal(engine.tokenizer?.tokenId(kit.method.prefixToken), kit.method.prefixTokenId, "prefix token id");

        const texts = validationTexts(kit.method.validationFiles[kind] ?? `tools/model-kit/validation/${kind}.jsonl`);
        const started = Date.now();
        const cpuStart = process.cpuUsage();
        let nll = 0;
        let tokens = 0;
        let bytes = 0;
        for (const text of texts) {
          const result = await engine.score("validation", text, { method: "rolling", window: 0, stride: 0, topK: 0 });
          await engine.releaseDocument("validation");
          assert.equal(result.metrics.scoredTokens, result.metrics.tokens, "every token scored once");
          nll += result.metrics.nll;
          tokens += result.metrics.tokens;
          bytes += result.metrics.bytes;
        }
        const cpu = process.cpuUsage(cpuStart);
        const tokenPerplexity = Math.exp(nll / tokens);
        const bitsPerByte = nll / (bytes * Math.LN2);
        t.diagnostic(
          `${info.name} ${kind}: ${texts.length} files, ${tokens} tokens in ${Date.now() - started} ms (${Math.round((cpu.user + cpu.system) / 1000)} ms CPU); ` +
            `token perplexity ${tokenPerplexity} (kit ${expected.tokenPerplexity}, rel. diff ${relativeDifference(tokenPerplexity, expected.tokenPerplexity).toExponential(2)}), ` +
            `bits per byte ${bitsPerByte} (kit ${expected.bitsPerByte}, rel. diff ${relativeDifference(bitsPerByte, expected.bitsPerByte).toExponential(2)})`,
        );
        assert.equal(texts.length, expected.files, "files");
        assert.equal(tokens, expected.tokens, "tokens (the tokenizers agree)");
        assert.equal(bytes, expected.bytes, "UTF-8 bytes");
        assert.ok(
          relativeDifference(tokenPerplexity, expected.tokenPerplexity) <= TOLERANCE,
          `token perplexity ${tokenPerplexity} vs the kit's ${expected.tokenPerplexity}`,
        );
        assert.ok(relativeDifference(bitsPerByte, expected.bitsPerByte) <= TOLERANCE, `bits per byte ${bitsPerByte} vs the kit's ${expected.bitsPerByte}`);
      } finally {
        await engine.dispose();
      }
    });
  }
});
