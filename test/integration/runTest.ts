/**
 * Starts the integration suite (test/integration/suite) in a real VS Code, through
 * `@vscode/test-electron`'s `runTests`:
 *  - VSCODE_PATH=/path/to/code: that desktop VS Code (UI checks skip: no UI bridge there);
 *  - PERPLEXITY_LENS_VSCODE=download: runTests downloads a desktop VS Code (needs the network);
 *  - otherwise (the default, and the only way on machines that cannot download VS Code): the
 *    executable is scripts/vscode-test-shim.js, which runs the same suite in code-server driven by
 *    headless Chromium, with a UI bridge for checks of what the user sees.
 * Both hosts get the same arguments: the repository as the extension under development and
 * sample-workspace/ as the folder.
 */
import * as path from "path";
import { runTests } from "@vscode/test-electron";

async function main(): Promise<void> {
  const root = path.resolve(__dirname, "..", "..", "..");
  const extensionTestsPath = path.join(__dirname, "suite", "index.js");
  const workspace = path.join(root, "sample-workspace");
  const desktop = process.env.VSCODE_PATH;
  const download = process.env.PERPLEXITY_LENS_VSCODE === "download";
  const vscodeExecutablePath = desktop ?? (download ? undefined : path.join(root, "scripts", "vscode-test-shim.js"));

  await runTests({
    ...(vscodeExecutablePath ? { vscodeExecutablePath } : {}),
    extensionDevelopmentPath: root,
    extensionTestsPath,
    launchArgs: [workspace, "--disable-extensions"],
    extensionTestsEnv: {
      PERPLEXITY_LENS_TEST_OUTPUT: path.join(root, "test-output"),
      PERPLEXITY_LENS_REPO_ROOT: root,
      // Lets the suite end the engine worker as a crash would (src/extension/extension.ts, LensTestHooks).
      PERPLEXITY_LENS_TEST_HOOKS: "1",
    },
  });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
