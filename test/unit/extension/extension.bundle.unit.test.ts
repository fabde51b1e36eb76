import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../../helpers/paths";

const root = repoRoot;

test("the extension host bundle never loads onnxruntime (only the engine worker does)", () => {
  const bundle = path.join(root, "dist", "extension.js");
  if (!fs.existsSync(bundle)) throw new Error("dist/extension.js is missing; build it with `npm run build`.");
  const source = fs.readFileSync(bundle, "utf8");
  assert.doesNotMatch(source, /require\(["']onnxruntime/);
  assert.doesNotMatch(source, /InferenceSession/, "no engine code in the extension host bundle");
});

test("activation is lazy: no '*' or startup activation event", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { activationEvents: string[] };
  for (const event of manifest.activationEvents) assert.ok(event !== "*" && event !== "onStartupFinished", event);
});

test("every command the manifest contributes is in the Perplexity Lens category", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    contributes: { commands: { command: string; category: string }[]; keybindings: { command: string }[] };
  };
  for (const command of manifest.contributes.commands) {
    assert.match(command.command, /^perplexityLens\./);
    assert.equal(command.category, "Perplexity Lens");
  }
  assert.ok(manifest.contributes.keybindings.some((k) => k.command === "perplexityLens.scoreDocument"));
});
