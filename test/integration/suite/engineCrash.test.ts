/**
 * An engine worker that crashes, as the user sees it: the first crash is answered by a restart and a message, and
 * scoring goes on with the same figures; a second crash stops the engine, says that live scoring is off, and
 * Score Document brings it back. The crash is the worker ending unexpectedly (LensTestHooks.simulateEngineCrash,
 * which exists only when the runner sets PERPLEXITY_LENS_TEST_HOOKS=1).
 */
import * as assert from "assert";
import * as vscode from "vscode";
import { ui, skipWithoutUi, notificationWith, settledStatus, activateExtension, workspaceFile } from "../uiBridge";

interface LensTestHooks {
  simulateEngineCrash(): boolean;
}

describe("an engine crash", () => {
  let hooks: LensTestHooks | undefined;
  let file: string;

  before(async () => {
    hooks = (await activateExtension<LensTestHooks | undefined>()).hooks;
    file = workspaceFile("prose.md");
  });

  afterEach(async () => {
    await vscode.commands.executeCommand("notifications.clearAll");
    await vscode.commands.executeCommand("notifications.hideList");
  });

  it("restarts the engine once with a message, and a second crash stops live scoring and says so", async function () {
    skipWithoutUi(this);
    if (!hooks) this.skip();
    this.timeout(420_000);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    await vscode.commands.executeCommand("notifications.clearAll");
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    const before = await settledStatus();

    // First crash: restarted, with a message; scoring gives the same figures as before.
    assert.equal(hooks?.simulateEngineCrash(), true, "no engine was running");
    const restarted = await notificationWith("was restarted");
    assert.match(restarted, /results in flight were discarded/);
    await vscode.commands.executeCommand("notifications.clearAll");
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    const after = await settledStatus();
    assert.equal(after, before, "the restarted engine scores the document differently");

    // Second crash: the engine stops for good and live scoring is off, said in one message.
    assert.equal(hooks?.simulateEngineCrash(), true, "no engine was running after the restart");
    const stopped = await notificationWith("crashed again");
    assert.match(stopped, /live scoring is off until you run Score Document/);
    await ui.screenshot("engine-crashed-twice");

    // Score Document starts a new engine and scores again.
    await vscode.commands.executeCommand("notifications.clearAll");
    await vscode.commands.executeCommand("perplexityLens.scoreDocument");
    assert.equal(await settledStatus(), before);
  });
});
