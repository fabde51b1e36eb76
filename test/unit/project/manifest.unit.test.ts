import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../../helpers/paths";

const root = repoRoot;

test("the extension manifest names the webpack bundle as main", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { main: string; name: string };
  assert.equal(manifest.name, "perplexity-lens");
  assert.equal(manifest.main, "./dist/extension.js");
  assert.ok(fs.existsSync(path.join(root, "dist", "extension.js")), "dist/extension.js is built by `npm run build`");
});
