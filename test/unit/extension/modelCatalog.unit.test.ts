import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { listModels, resolveModel } from "../../../src/extension/modelCatalog";

function makeTree(): { root: string; embedded: string; folders: string; single: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "lens-catalog-"));
  const model = (dir: string, type: string) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model_type: type }));
  };
  const embedded = path.join(root, "ext", "models");
  model(path.join(embedded, "lens-gpt2-bpe4k"), "gpt2");
  model(path.join(embedded, "lens-llama-sp"), "llama");
  fs.mkdirSync(path.join(embedded, "not-a-model"));
  const folders = path.join(root, "my-models");
  model(path.join(folders, "qwen"), "qwen2");
  const single = path.join(root, "single-model");
  model(single, "gpt2");
  return { root, embedded, folders, single };
}

test("models are listed from the embedded folder and the configured folders", async () => {
  const t = makeTree();
  const models = await listModels(t.embedded, [t.folders, t.single, "relative/ignored", path.join(t.root, "missing")]);
  assert.deepEqual(
    models.map((m) => [m.name, m.source, m.modelType]),
    [
      ["lens-gpt2-bpe4k", "embedded", "gpt2"],
      ["lens-llama-sp", "embedded", "llama"],
      ["qwen", "folder", "qwen2"],
      ["single-model", "folder", "gpt2"],
    ],
  );
});

test("the model setting resolves a name or an absolute path, and refuses the rest in one sentence", async () => {
  const t = makeTree();
  assert.equal((await resolveModel("lens-llama-sp", t.embedded, [])).path, path.join(t.embedded, "lens-llama-sp"));
  assert.equal((await resolveModel("qwen", t.embedded, [t.folders])).source, "folder");
  assert.equal((await resolveModel(t.single, t.embedded, [])).source, "folder");
  assert.equal((await resolveModel(path.join(t.embedded, "lens-gpt2-bpe4k"), t.embedded, [])).source, "embedded");
  await assert.rejects(resolveModel("nope", t.embedded, []), /Model "nope" was not found .*found: lens-gpt2-bpe4k, lens-llama-sp\)\.$/);
  await assert.rejects(resolveModel("../etc", t.embedded, []), /must be an embedded model's name or an absolute folder path/);
  await assert.rejects(resolveModel(path.join(t.root, "missing"), t.embedded, []), /has no config\.json/);
});
