/**
 * Which models the user can pick: the extension's embedded models and the configured model folders.
 * No `vscode`: plain Node file system, unit-tested with temporary folders.
 *
 * A model folder holds `config.json` (the Hugging Face layout). A configured folder is either a model
 * folder itself or a folder whose direct subfolders are model folders.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";

export interface ModelEntry {
  /** Folder name, shown in the quick pick and stored in the `model` setting for embedded models. */
  name: string;
  /** Absolute folder path. */
  path: string;
  source: "embedded" | "folder";
  /** The config's model_type when readable (e.g. "gpt2", "llama"). */
  modelType?: string;
}

async function isModelFolder(folder: string): Promise<boolean> {
  try {
    return (await fs.stat(path.join(folder, "config.json"))).isFile();
  } catch {
    return false;
  }
}

async function readModelType(folder: string): Promise<string | undefined> {
  try {
    const config: unknown = JSON.parse(await fs.readFile(path.join(folder, "config.json"), "utf8"));
    const modelType = (config as { model_type?: unknown }).model_type;
    return typeof modelType === "string" ? modelType : undefined;
  } catch {
    return undefined;
  }
}

async function subfolders(folder: string): Promise<string[]> {
  try {
    const entries = await fs.readdir(folder, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => path.join(folder, entry.name))
      .sort();
  } catch {
    return [];
  }
}

async function entry(folder: string, source: ModelEntry["source"]): Promise<ModelEntry> {
  const modelType = await readModelType(folder);
  return { name: path.basename(folder), path: folder, source, ...(modelType ? { modelType } : {}) };
}

/** Model folders in `folder`: itself when it is one, else its direct subfolders that are. */
export async function modelsIn(folder: string, source: ModelEntry["source"]): Promise<ModelEntry[]> {
  if (await isModelFolder(folder)) return [await entry(folder, source)];
  const found: ModelEntry[] = [];
  for (const child of await subfolders(folder)) {
    if (await isModelFolder(child)) found.push(await entry(child, source));
  }
  return found;
}

/** Every model on offer: embedded ones first, then configured folders in the order given. */
export async function listModels(embeddedRoot: string, configuredFolders: readonly string[]): Promise<ModelEntry[]> {
  const models = await modelsIn(embeddedRoot, "embedded");
  for (const folder of configuredFolders) {
    if (!path.isAbsolute(folder)) continue;
    for (const model of await modelsIn(folder, "folder")) {
      if (!models.some((known) => known.path === model.path)) models.push(model);
    }
  }
  return models;
}

/**
 * The folder the `model` setting names: an absolute path; else an embedded model's name; else the name
 * of a model folder found in the configured folders. Throws one sentence when none matches.
 */
export async function resolveModel(setting: string, embeddedRoot: string, configuredFolders: readonly string[]): Promise<ModelEntry> {
  if (path.isAbsolute(setting)) {
    const folder = path.resolve(setting);
    if (!(await isModelFolder(folder))) {
      throw new Error(`Model folder ${folder} has no config.json; choose a Hugging Face model folder.`);
    }
    const insideEmbedded = path.relative(embeddedRoot, folder);
    const embedded = !insideEmbedded.startsWith("..") && !path.isAbsolute(insideEmbedded);
    return entry(folder, embedded ? "embedded" : "folder");
  }
  if (setting.includes("/") || setting.includes("\\") || setting === "." || setting === "..") {
    throw new Error(`Model "${setting}" must be an embedded model's name or an absolute folder path.`);
  }
  const models = await listModels(embeddedRoot, configuredFolders);
  const match = models.find((model) => model.name === setting);
  if (!match) {
    const names = models.map((model) => model.name).join(", ") || "none";
    throw new Error(`Model "${setting}" was not found among the embedded models and model folders (found: ${names}).`);
  }
  return match;
}
