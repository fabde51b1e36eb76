/**
 * What Compare Tokenizers offers: the models of the model catalog (embedded, then configured model folders) and the
 * tokenizer-only folders found in the configured folders (a folder, or a direct subfolder, with tokenizer.json and no
 * config.json). No `vscode`: plain Node file system.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { listModels } from "./modelCatalog";

export interface ComparisonCandidate {
  name: string;
  /** Absolute folder path. */
  path: string;
  /** "model": scored; "tokenizer": a folder with only tokenizer.json (counts and boundaries). */
  kind: "model" | "tokenizer";
  source: "embedded" | "folder";
  /** The config's model_type, for models whose config is readable. */
  modelType?: string;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Whether `folder` holds a tokenizer.json and no config.json. */
export async function isTokenizerOnlyFolder(folder: string): Promise<boolean> {
  return (await isFile(path.join(folder, "tokenizer.json"))) && !(await isFile(path.join(folder, "config.json")));
}

/** Tokenizer-only folders in `folder`: itself when it is one, else its direct subfolders that are. */
export async function tokenizerFoldersIn(folder: string): Promise<string[]> {
  if (await isTokenizerOnlyFolder(folder)) return [folder];
  let entries: import("node:fs").Dirent[];
  try {
    entries = await fs.readdir(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = path.join(folder, entry.name);
    if (await isTokenizerOnlyFolder(child)) found.push(child);
  }
  return found;
}

/** Every model, then every tokenizer-only folder of the configured folders (absolute paths only), without duplicates. */
export async function listComparisonCandidates(embeddedRoot: string, configuredFolders: readonly string[]): Promise<ComparisonCandidate[]> {
  const candidates: ComparisonCandidate[] = (await listModels(embeddedRoot, configuredFolders)).map((m) => ({
    name: m.name,
    path: m.path,
    kind: "model" as const,
    source: m.source,
    ...(m.modelType !== undefined ? { modelType: m.modelType } : {}),
  }));
  for (const folder of configuredFolders) {
    if (!path.isAbsolute(folder)) continue;
    for (const tokenizerFolder of await tokenizerFoldersIn(folder)) {
      if (!candidates.some((c) => c.path === tokenizerFolder))
        candidates.push({ name: path.basename(tokenizerFolder), path: tokenizerFolder, kind: "tokenizer", source: "folder" });
    }
  }
  return candidates;
}
