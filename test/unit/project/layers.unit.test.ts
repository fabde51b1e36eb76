/**
 * The rules that keep the layers apart (eslint.config.mjs's `layerRules`, README "Layers") and the absence of import
 * cycles, tested so that a rule that silently stops matching fails the tests instead of letting a forbidden import in.
 *
 * The probes are texts linted as if they were files at the given paths; none of them exists on disk. The repository's
 * config is type-aware (parserOptions.project), and typescript-eslint refuses a file that none of the projects lists,
 * so:
 * - the import probes are linted with typescript-eslint's `disableTypeChecked` config laid over the real one (no
 *   parserOptions.project, the rules that need type information off); every other rule of the real config runs, so
 *   "exactly one no-restricted-imports error" also means the probe trips nothing else;
 * - the floating-promise probes get their type information from a one-file TypeScript program holding the probe text
 *   in memory at its path (parserOptions.programs), which also avoids building the whole test project.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import * as ts from "typescript";
import { repoRoot } from "../../helpers/paths";

interface MadgeResult {
  circular(): string[][];
  obj(): Record<string, string[]>;
  warnings(): { skipped: string[] };
}
type Madge = (paths: string | string[], config: { baseDir?: string; fileExtensions: string[]; tsConfig: string }) => Promise<MadgeResult>;
// madge has no type declarations, so it is required and given the shape used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const madge = require("madge") as Madge;

interface Finding {
  ruleId: string | null;
  severity: number;
  message: string;
}

/**
 * The real config with type-aware parsing off: typescript-eslint's own `disableTypeChecked` clears
 * parserOptions.project/projectService and turns off every rule that needs type information.
 */
const untyped = new ESLint({ cwd: repoRoot, overrideConfig: tseslint.configs.disableTypeChecked });

function findings(results: ESLint.LintResult[]): Finding[] {
  assert.equal(results.length, 1);
  return results[0]!.messages.map(({ ruleId, severity, message }) => ({ ruleId, severity, message }));
}

/** The findings for a file at `relativePath` that imports `specifier` (and uses it, so no-unused-vars stays quiet). */
async function lintImport(relativePath: string, specifier: string): Promise<Finding[]> {
  const code = `import * as probe from ${JSON.stringify(specifier)};\nexport const used = probe;\n`;
  return findings(await untyped.lintText(code, { filePath: path.join(repoRoot, relativePath) }));
}

/** The findings for `code` at `relativePath`, linted with type information from a program holding just that text. */
async function lintTyped(relativePath: string, code: string, types: string[] = []): Promise<Finding[]> {
  const fileName = path.join(repoRoot, relativePath);
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    lib: ["lib.es2022.d.ts"],
    strict: true,
    noEmit: true,
    types,
    typeRoots: [path.join(repoRoot, "node_modules/@types")],
  };
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName ? ts.createSourceFile(name, code, languageVersion, true) : getSourceFile.call(host, name, languageVersion, ...rest);
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? code : readFile.call(host, name));
  const program = ts.createProgram([fileName], options, host);
  const eslint = new ESLint({ cwd: repoRoot, overrideConfig: { languageOptions: { parserOptions: { project: null, programs: [program] } } } });
  return findings(await eslint.lintText(code, { filePath: fileName }));
}

function assertOnlyRestrictedImport(found: Finding[], what: string): void {
  assert.deepEqual(
    found.map(({ ruleId, severity }) => ({ ruleId, severity })),
    [{ ruleId: "no-restricted-imports", severity: 2 }],
    `${what}: expected exactly one no-restricted-imports error, got ${JSON.stringify(found)}`,
  );
}

const forbidden: [file: string, specifier: string][] = [
  ["src/core/probe.ts", "../protocol/engine"],
  ["src/core/probe.ts", "../worker/engineRpc"],
  ["src/core/probe.ts", "../extension/ctx"],
  ["src/core/probe.ts", "../cli/args"],
  ["src/core/probe.ts", "vscode"],
  ["src/protocol/probe.ts", "node:fs"],
  ["src/protocol/probe.ts", "../worker/engineRpc"],
  ["src/protocol/probe.ts", "vscode"],
  ["src/worker/probe.ts", "../extension/ctx"],
  ["src/worker/probe.ts", "vscode"],
  ["src/cli/probe.ts", "../extension/ctx"],
  ["webview-ui/src/probe.ts", "../../src/core/types"],
  ["webview-ui/src/probe.ts", "../../src/worker/engineRpc"],
  ["webview-ui/src/probe.ts", "node:fs"],
  ["webview-ui/src/probe.ts", "vscode"],
];

for (const [file, specifier] of forbidden) {
  test(`the layer rules refuse ${file} importing "${specifier}"`, async () => {
    assertOnlyRestrictedImport(await lintImport(file, specifier), `${file} importing "${specifier}"`);
  });
}

const allowed: [file: string, specifier: string][] = [
  ["src/protocol/probe.ts", "../core/types"],
  ["src/worker/probe.ts", "../protocol/engine"],
  ["src/worker/probe.ts", "../core/engine"],
  ["src/cli/probe.ts", "../core/engine"],
  ["src/extension/probe.ts", "../worker/engineClient"],
  ["src/extension/probe.ts", "vscode"],
  ["webview-ui/src/probe.ts", "../../src/protocol/webview"],
];

for (const [file, specifier] of allowed) {
  test(`the layer rules let ${file} import "${specifier}"`, async () => {
    assert.deepEqual(await lintImport(file, specifier), []);
  });
}

test("a floating promise in src/ is an error, one marked with void is not", async () => {
  const work = "async function work(): Promise<void> {}\n";
  const floating = await lintTyped("src/core/probe.ts", `${work}work();\n`);
  assert.deepEqual(
    floating.map(({ ruleId, severity }) => ({ ruleId, severity })),
    [{ ruleId: "@typescript-eslint/no-floating-promises", severity: 2 }],
    JSON.stringify(floating),
  );
  assert.deepEqual(await lintTyped("src/core/probe.ts", `${work}void work();\n`), []);
});

test("node:test's test() may go unawaited in a test file, other promises may not", async () => {
  const file = "test/unit/probe.unit.test.ts";
  assert.deepEqual(await lintTyped(file, 'import { test } from "node:test";\ntest("probe", async () => {});\n', ["node"]), []);
  const floating = await lintTyped(file, 'import { test } from "node:test";\nPromise.resolve(test);\n', ["node"]);
  assert.deepEqual(
    floating.map(({ ruleId }) => ruleId),
    ["@typescript-eslint/no-floating-promises"],
    JSON.stringify(floating),
  );
});

function tsFilesUnder(relativeDir: string): string[] {
  return fs
    .readdirSync(path.join(repoRoot, relativeDir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => path.posix.join(relativeDir, name.split(path.sep).join("/")));
}

test("src/ and webview-ui/src/ have no import cycle", async () => {
  const result = await madge([path.join(repoRoot, "src"), path.join(repoRoot, "webview-ui/src")], {
    baseDir: repoRoot,
    fileExtensions: ["ts"],
    tsConfig: path.join(repoRoot, "tsconfig.json"),
  });
  // The graph really covers the sources (an empty graph has no cycle either) and every import resolved.
  const graph = result.obj();
  for (const file of [...tsFilesUnder("src"), ...tsFilesUnder("webview-ui/src")]) assert.ok(file in graph, `madge did not see ${file}`);
  assert.ok((graph["src/extension/extension.ts"] ?? []).length > 0, "madge found no imports in src/extension/extension.ts");
  assert.deepEqual(result.warnings().skipped, [], "imports madge could not resolve");
  assert.deepEqual(result.circular(), [], "import cycles (each listed as the files around the cycle)");
});

test("the cycle check sees a cycle", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lens-cycle-"));
  try {
    fs.writeFileSync(path.join(dir, "a.ts"), 'import { b } from "./b";\nexport const a = (): unknown => b;\n');
    fs.writeFileSync(path.join(dir, "b.ts"), 'import { a } from "./a";\nexport const b = (): unknown => a;\n');
    const result = await madge(dir, { baseDir: dir, fileExtensions: ["ts"], tsConfig: path.join(repoRoot, "tsconfig.json") });
    assert.deepEqual(result.circular(), [["a.ts", "b.ts"]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
