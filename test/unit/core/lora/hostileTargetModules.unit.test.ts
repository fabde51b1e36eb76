/**
 * A target_modules regular expression (PEFT: re.fullmatch against each module name) runs on RE2 (re2js), in linear
 * time: `(([a-z_.0-9]+)+)+X`, which hangs a backtracking engine, is answered at once with the usual sentence, and the
 * adapters set before stay active. A pattern RE2 cannot run (a lookaround) is refused in one sentence.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, EngineError } from "../../../../src/core/engine";
import { isTargetModule, loadPeftAdapter } from "../../../../src/core/lora/peftAdapter";
import { LoraError } from "../../../../src/core/lora/loraError";
import { copyAdapter } from "../../../helpers/safetensorsWriter";
import { repoRoot } from "../../../helpers/paths";

const MODEL = path.join(repoRoot, "models", "lens-gpt2-bpe4k");
const SRC = path.join(MODEL, "adapters", "typescript-code");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pl-lora-regex-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const HOSTILE = "(([a-z_.0-9]+)+)+X";

test("target_modules regexes are full matches, as PEFT's re.fullmatch", () => {
  assert.equal(isTargetModule(".*\\.(q_proj|v_proj)", "model.layers.0.self_attn.q_proj"), true);
  assert.equal(isTargetModule("q_proj|v_proj", "q_proj"), true);
  assert.equal(isTargetModule("q_proj|v_proj", "model.q_proj"), false);
  const started = Date.now();
  assert.equal(isTargetModule(HOSTILE, "transformer.h.0.attn.c_attn_" + "a".repeat(200)), false);
  assert.ok(Date.now() - started < 1000, "linear time");
});

test("an adapter whose target_modules pattern would backtrack exponentially is refused at once; the active set stays", async () => {
  const hostile = copyAdapter(SRC, path.join(tmp, "hostile"), { config: (c) => void (c["target_modules"] = HOSTILE) });
  const regex = copyAdapter(SRC, path.join(tmp, "regex"), { config: (c) => void (c["target_modules"] = ".*\\.(q_proj|v_proj)") });
  const lookaround = copyAdapter(SRC, path.join(tmp, "lookaround"), { config: (c) => void (c["target_modules"] = "(?=.*q_proj).*") });
  const started = Date.now();
  assert.throws(
    () => loadPeftAdapter(hostile),
    (e: unknown) => e instanceof LoraError && /is not among its target_modules/.test(e.message),
  );
  assert.ok(Date.now() - started < 2000, `refused in ${Date.now() - started} ms`);
  assert.throws(
    () => loadPeftAdapter(lookaround),
    (e: unknown) =>
      e instanceof LoraError &&
      /^Adapter "lookaround": .*adapter_config\.json has a "target_modules" pattern that is not a regular expression Perplexity Lens can match in linear time/.test(
        e.message,
      ),
  );
  assert.equal(loadPeftAdapter(regex).modules.length, loadPeftAdapter(SRC).modules.length, "a plain regex selects the same modules as the list");

  const engine = new Engine();
  try {
    await engine.loadModel(MODEL, { source: "embedded" });
    await engine.setAdapters([{ name: "regex", path: regex, scale: 1 }]);
    const text = "export const answer = 42;\n";
    const before = await engine.score("a", text, { method: "rolling", window: 0, stride: 0, topK: 0 });
    await assert.rejects(engine.setAdapters([{ name: "hostile", path: hostile, scale: 1 }]), EngineError);
    const afterwards = await engine.score("b", text, { method: "rolling", window: 0, stride: 0, topK: 0 });
    assert.deepEqual(afterwards.tokens, before.tokens, "the previous adapters keep scoring");
  } finally {
    await engine.dispose();
  }
});
