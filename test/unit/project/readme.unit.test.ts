import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../../helpers/paths";

const root = repoRoot;
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, { default: unknown }> }; commands: { title: string }[] };
};

test("the README's settings table lists every setting with its default", () => {
  for (const [key, schema] of Object.entries(manifest.contributes.configuration.properties)) {
    const row = readme.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
    assert.ok(row, `README.md has no settings row for ${key}`);
    assert.ok(row.includes(`\`${JSON.stringify(schema.default)}\``), `README.md's row for ${key} does not show its default ${JSON.stringify(schema.default)}`);
  }
});

test("the README names every command", () => {
  for (const { title } of manifest.contributes.commands) {
    const words = title.replace(/…$/, "");
    assert.ok(readme.includes(words), `README.md does not mention the command "${title}"`);
  }
});

test("the README shows the two quick-start commands", () => {
  assert.ok(readme.includes("npm ci && npm start"));
  assert.ok(readme.includes("npm ci && npm test"));
});
