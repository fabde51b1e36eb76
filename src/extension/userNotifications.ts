/**
 * What the user is told, in one place: errors with the actions that can fix them, information messages, and the
 * rule that a failure of work the user did not ask for (live rescoring, auto-scoring) is shown once, not on every
 * keystroke.
 */
import * as vscode from "vscode";
import { CONFIG_SECTION } from "./config";

export class UserNotifications {
  /** Failure messages already shown for runs the user did not ask for. */
  private readonly shown = new Set<string>();

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** The command behind "Select Model". */
    private readonly selectModelCommand: string,
  ) {}

  /** Shows an error with the actions that can fix it; resolves when the user picked one (or dismissed it). */
  async showFailure(message: string, offerModelActions: boolean): Promise<void> {
    const actions = offerModelActions ? ["Select Model", "Open Settings", "Show Log"] : ["Show Log"];
    const choice = await vscode.window.showErrorMessage(message, ...actions);
    if (choice === "Show Log") this.log.show();
    else if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", CONFIG_SECTION);
    else if (choice === "Select Model") void vscode.commands.executeCommand(this.selectModelCommand);
  }

  /** Shows `message` unless it was shown already since the last forgetShown(); returns whether it was shown. */
  showFailureOnce(message: string, offerModelActions: boolean): boolean {
    if (this.shown.has(message)) return false;
    this.shown.add(message);
    void this.showFailure(message, offerModelActions);
    return true;
  }

  /** An information message, logged too. */
  notify(message: string): void {
    this.log.info(`[ctx] ${message}`);
    void vscode.window.showInformationMessage(message);
  }

  /** The user acted (a command, a settings change): the same failure may be shown again. */
  forgetShown(): void {
    this.shown.clear();
  }
}
