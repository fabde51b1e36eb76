/**
 * Entry point. `activate` builds the one `LensContext` that owns everything; it does not start the engine
 * worker or load onnxruntime (the first scoring does). VS Code swallows activation errors, so they are
 * logged, shown with actions, and rethrown (as rust-analyzer does).
 */
import * as vscode from "vscode";
import { registerCommands } from "./commands";
import { registerCompareTokenizers } from "./compareTokenizers";
import { LensContext, errorMessage } from "./ctx";

let context: LensContext | undefined;

/**
 * What activate() returns to the integration tests, and only to them: VS Code hands an extension's exports to any
 * other extension, so the hook exists only when the test runner sets PERPLEXITY_LENS_TEST_HOOKS=1.
 */
export interface LensTestHooks {
  /** Ends the engine worker as a crash would; false when no engine runs. */
  simulateEngineCrash(): boolean;
}

export function activate(extensionContext: vscode.ExtensionContext): LensTestHooks | undefined {
  const log = vscode.window.createOutputChannel("Perplexity Lens", { log: true });
  extensionContext.subscriptions.push(log);
  const started = Date.now();
  try {
    context = new LensContext(extensionContext, log);
    extensionContext.subscriptions.push(context);
    registerCommands(context);
    registerCompareTokenizers(context);
    log.info(`[activate] Perplexity Lens ${String(extensionContext.extension.packageJSON.version)} activated in ${Date.now() - started} ms`);
    const lens = context;
    return process.env.PERPLEXITY_LENS_TEST_HOOKS === "1" ? { simulateEngineCrash: () => lens.simulateEngineCrash() } : undefined;
  } catch (error) {
    const message = `Perplexity Lens failed to start: ${errorMessage(error)}`;
    log.error(`[activate] ${message}${error instanceof Error && error.stack ? `\n${error.stack}` : ""}`);
    void vscode.window.showErrorMessage(message, "Show Log", "Open Settings").then((choice) => {
      if (choice === "Show Log") log.show();
      else if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "perplexityLens");
    });
    throw error;
  }
}

export function deactivate(): void {
  // Disposing the context terminates the worker; VS Code disposes the subscriptions too, which is harmless.
  context?.dispose();
  context = undefined;
}
