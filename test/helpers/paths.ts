/**
 * Where things are, for every test wherever it sits under test/: computed from this file's own place
 * (out/test/helpers/ once compiled), so moving a test never changes what it finds.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The repository's root. */
export const repoRoot = path.resolve(__dirname, "../../..");
/** The compiled tree (out/). */
export const outRoot = path.resolve(__dirname, "../..");
/** The compiled engine worker. */
export const workerScript = path.join(outRoot, "src/worker/engineWorker.js");
/** The compiled command line. */
export const cliScript = path.join(outRoot, "src/cli/main.js");

/** A compiled helper script of test/helpers/ (e.g. a worker that crashes on purpose). */
export function helperScript(name: string): string {
  return path.join(__dirname, name);
}

/** The folder of an embedded model under models/. */
export function embeddedModelDir(name: string): string {
  return path.join(repoRoot, "models", name);
}

/**
 * A committed artifact's path, or a thrown error naming the command that rebuilds it: a missing artifact makes the
 * test fail with the fix, never skip.
 */
export function committedArtifact(relative: string, rebuild: string): string {
  const full = path.join(repoRoot, relative);
  if (!fs.existsSync(full)) throw new Error(`${relative} is missing; rebuild it with \`${rebuild}\`.`);
  return full;
}
