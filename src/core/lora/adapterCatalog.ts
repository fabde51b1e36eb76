/**
 * Where adapters are found: the model folder's `adapters/` (one sub-folder per adapter, as the embedded models ship them)
 * and folders the user configures (`perplexityLens.adapterFolders`), each either an adapter folder itself or a folder of
 * adapter folders. An adapter folder is one that holds `adapter_config.json`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AdapterInfo } from "./adapterTypes";
import { LoraError } from "./loraError";
import { ADAPTER_CONFIG_FILE, adapterInfo, readPeftConfig } from "./peftAdapter";

export const MODEL_ADAPTERS_FOLDER = "adapters";

export function modelAdaptersDir(modelDir: string): string {
  return path.join(modelDir, MODEL_ADAPTERS_FOLDER);
}

export interface AdapterCatalog {
  adapters: AdapterInfo[];
  /** One sentence per adapter folder that could not be read, or configured folder that does not exist. */
  problems: string[];
}

function isAdapterFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, ADAPTER_CONFIG_FILE));
}

/** The adapter folders in `dir`: `dir` itself when it is one, else its sub-folders that are (sorted by name). */
function adapterFoldersIn(dir: string): string[] {
  if (isAdapterFolder(dir)) return [dir];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isAdapterFolder(path.join(dir, e.name)))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/**
 * Lists the adapters of the model in `modelDir` (its adapters/ folder, which may be absent) and of `extraDirs`,
 * reading only their configs. An adapter whose folder path was already listed is not listed twice.
 */
export function listAdapters(modelDir: string | null, extraDirs: readonly string[]): AdapterCatalog {
  const adapters: AdapterInfo[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const roots: Array<{ dir: string; optional: boolean }> = [];
  if (modelDir !== null) roots.push({ dir: modelAdaptersDir(modelDir), optional: true });
  for (const d of extraDirs) roots.push({ dir: path.resolve(d), optional: false });
  for (const root of roots) {
    if (!fs.existsSync(root.dir) || !fs.statSync(root.dir).isDirectory()) {
      if (!root.optional) problems.push(`The adapter folder ${root.dir} does not exist.`);
      continue;
    }
    let folders: string[];
    try {
      folders = adapterFoldersIn(root.dir);
    } catch (e) {
      problems.push(`The adapter folder ${root.dir} could not be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
      continue;
    }
    for (const dir of folders) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      const name = path.basename(dir);
      try {
        adapters.push(adapterInfo(name, dir, readPeftConfig(dir, name)));
      } catch (e) {
        problems.push(e instanceof LoraError ? e.message : `Adapter "${name}" in ${dir} could not be read (${(e as Error).message}).`);
      }
    }
  }
  return { adapters, problems };
}

/**
 * The folder of the adapter selected by `name` (a folder under the model's adapters/, then under `extraDirs`) or by an
 * explicit `path`. Throws LoraError naming the adapter and where it was looked for.
 */
export function resolveAdapterDir(selection: { name: string; path?: string }, modelDir: string, extraDirs: readonly string[] = []): string {
  if (selection.path !== undefined) {
    const dir = path.resolve(selection.path);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new LoraError(`Adapter "${selection.name}": the folder ${dir} does not exist.`);
    return dir;
  }
  if (selection.name === "" || selection.name.includes("/") || selection.name.includes("\\") || selection.name === "." || selection.name === "..") {
    throw new LoraError(
      `"${selection.name}" is not an adapter name (a folder name under the model's ${MODEL_ADAPTERS_FOLDER}/ is expected; give a path for other folders).`,
    );
  }
  const candidates = [modelAdaptersDir(modelDir), ...extraDirs.map((d) => path.resolve(d))];
  for (const root of candidates) {
    const dir = path.join(root, selection.name);
    if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) return dir;
  }
  const known = listAdapters(
    modelDir,
    extraDirs.filter((d) => fs.existsSync(d)),
  ).adapters.map((a) => a.name);
  throw new LoraError(
    `There is no adapter "${selection.name}" in ${candidates.join(" or ")} (${known.length > 0 ? `available: ${known.join(", ")}` : "no adapters are there"}).`,
  );
}
