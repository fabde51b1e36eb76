/**
 * The one wrapper every command handler runs in: a failure is logged with the command's tag and shown to the user in
 * its one sentence (with the "Show Log" action), never thrown into VS Code's generic "command failed" error.
 */
import * as vscode from "vscode";

export interface CommandHost {
  register<T extends vscode.Disposable>(disposable: T): T;
  readonly log: { error(message: string): void };
  showFailure(message: string, offerModelActions: boolean): Promise<void>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `handler`, with failures logged under `tag` and shown; resolves with its result, or undefined after a failure. */
export function guarded<A extends unknown[], R>(
  host: CommandHost,
  tag: string,
  handler: (...args: A) => R | Promise<R>,
): (...args: A) => Promise<R | undefined> {
  return async (...args: A) => {
    try {
      return await handler(...args);
    } catch (error) {
      host.log.error(`[${tag}] ${messageOf(error)}`);
      void host.showFailure(messageOf(error), false);
      return undefined;
    }
  };
}

/** Registers command `id` for the extension's lifetime, guarded. */
export function registerGuardedCommand<A extends unknown[], R>(host: CommandHost, id: string, handler: (...args: A) => R | Promise<R>): void {
  host.register(vscode.commands.registerCommand(id, guarded(host, `command ${id}`, handler)));
}
