/**
 * Entry point of the integration suite inside the extension host (VS Code requires this file's
 * `run()` through --extensionTestsPath, and passes that path as the first argument). It runs every
 * `*.test.js` beside it with mocha.
 *
 * The extension host of code-server swallows console output, so when the host names a report file
 * (PERPLEXITY_LENS_TEST_REPORT, set by scripts/vscode-test-shim.js) mocha's spec reporter writes
 * there and the shim prints it; in desktop VS Code it goes to the console as usual.
 *
 * After a failing test a screenshot of the workbench goes to test-output/<test title>.png (through
 * the UI bridge; see uiBridge.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { inspect, format } from "util";
import Mocha from "mocha";
import * as vscode from "vscode";
import { ui } from "../uiBridge";

function routeReporterOutput(): void {
  const reportFile = process.env.PERPLEXITY_LENS_TEST_REPORT;
  if (!reportFile) return;
  Mocha.reporters.Base.consoleLog = (...args: unknown[]): void => {
    const line = args.length === 0 ? "" : typeof args[0] === "string" ? format(...(args as [string, ...unknown[]])) : args.map((a) => inspect(a)).join(" ");
    fs.appendFileSync(reportFile, `${line}\n`);
  };
}

/**
 * The compiled tests beside this file. out/ is not cleaned between builds, so a compiled test whose
 * source was deleted or renamed would still run: those are skipped (the sources sit at the same
 * relative path under the repository, as tsconfig.test.json compiles with rootDir ".").
 */
function testFiles(dir: string): string[] {
  const outRoot = path.resolve(__dirname, "..", "..", "..");
  const repoRoot = path.resolve(outRoot, "..");
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.js"))
    .sort()
    .map((f) => path.join(dir, f))
    .filter((f) => {
      const source = path.join(repoRoot, path.relative(outRoot, f)).replace(/\.js$/, ".ts");
      if (fs.existsSync(source)) return true;
      Mocha.reporters.Base.consoleLog(`(skipping ${path.relative(outRoot, f)}: its source ${path.relative(repoRoot, source)} is gone)`);
      return false;
    });
}

export function run(testsRoot?: string): Promise<void> {
  routeReporterOutput();
  const mocha = new Mocha({
    ui: "bdd",
    reporter: "spec",
    color: false,
    // Scoring loads a model and the workbench renders asynchronously: allow for a slow CI machine.
    timeout: Number(process.env.PERPLEXITY_LENS_TEST_TIMEOUT_MS ?? 60_000),
    slow: 5_000,
  });
  const grep = process.env.PERPLEXITY_LENS_TEST_GREP;
  if (grep) mocha.grep(grep);

  mocha.suite.afterEach(async function screenshotOnFailure() {
    const test = this.currentTest;
    if (test?.state !== "failed" || !ui.available) return;
    try {
      const file = await ui.screenshot(`failed-${test.fullTitle()}`);
      Mocha.reporters.Base.consoleLog(`    screenshot: ${file}`);
    } catch (e) {
      Mocha.reporters.Base.consoleLog(`    (no screenshot: ${e instanceof Error ? e.message : String(e)})`);
    }
  });

  // testsRoot is this file's path (or its folder in older VS Code versions).
  const dir = testsRoot && fs.existsSync(testsRoot) && fs.statSync(testsRoot).isDirectory() ? testsRoot : __dirname;
  const files = testFiles(dir);
  for (const f of files) mocha.addFile(f);
  // The first line tells the shim that the suite has started (it gives up early when none comes).
  Mocha.reporters.Base.consoleLog(
    `Integration suite: ${files.length} test file(s) in ${process.env.PERPLEXITY_LENS_TEST_HOST ?? "desktop VS Code"} ${vscode.version}, Node ${process.version}`,
  );

  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
