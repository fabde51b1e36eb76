/**
 * A stand-in for the `vscode` module, for unit tests of editor-layer code that touches `vscode` at run time only
 * lightly (progress notifications, Uri.joinPath). `installFakeVscode()` makes `require("vscode")` return it; call it
 * before the module under test is first required (use `require`, not a static import, for that module).
 */
import Module from "node:module";
import * as path from "node:path";

export interface FakeUri {
  scheme: string;
  path: string;
  toString(): string;
}

function uri(scheme: string, p: string): FakeUri {
  return { scheme, path: p, toString: () => `${scheme}://${p}` };
}

/** Progress notifications the code under test opened (title), and whether each was ended. */
export const progressShown: Array<{ title: string; ended: boolean }> = [];

export const fakeVscode = {
  Uri: {
    file: (p: string): FakeUri => uri("file", p),
    joinPath: (base: FakeUri, ...parts: string[]): FakeUri => uri(base.scheme, path.posix.join(base.path, ...parts)),
  },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  window: {
    withProgress<T>(
      options: { title?: string },
      task: (progress: { report(v: unknown): void }, token: { onCancellationRequested(l: () => void): void }) => Promise<T>,
    ): Promise<T> {
      const entry = { title: options.title ?? "", ended: false };
      progressShown.push(entry);
      return task({ report: () => undefined }, { onCancellationRequested: () => undefined }).finally(() => (entry.ended = true));
    },
  },
};

let installed = false;

export function installFakeVscode(): void {
  if (installed) return;
  installed = true;
  const fakePath = path.join(__dirname, "__fake_vscode__.js");
  const moduleWithResolver = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
  const original = moduleWithResolver._resolveFilename;
  moduleWithResolver._resolveFilename = function (request: string, ...rest: unknown[]): string {
    if (request === "vscode") return fakePath;
    return original.call(this, request, ...rest);
  };
  const fake = new Module(fakePath);
  fake.exports = fakeVscode;
  fake.loaded = true;
  require.cache[fakePath] = fake;
}
