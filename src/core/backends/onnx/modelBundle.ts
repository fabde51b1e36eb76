/**
 * Finds and validates a Hugging Face model folder (the transformers.js / Optimum layout):
 *   config.json, tokenizer.json, tokenizer_config.json, and one ONNX graph among
 *   onnx/model.onnx | model.onnx | onnx/model_quantized.onnx | onnx/decoder_model_merged.onnx | decoder_model_merged.onnx.
 * Every failure is a ModelBundleError whose message is one sentence naming the file and what was expected.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createArchitecture, ModelConfigError, type ArchitectureSpec } from "../../architecture";
import { BoundedFileError, checkRegularFile, FILE_LIMITS, jsonErrorReason, readBoundedFile } from "../../boundedFile";

export class ModelBundleError extends Error {}

/** ONNX graph file names in the order they are preferred. */
export const ONNX_CANDIDATES = [
  "onnx/model.onnx",
  "model.onnx",
  "onnx/model_quantized.onnx",
  "onnx/decoder_model_merged.onnx",
  "decoder_model_merged.onnx",
] as const;

export interface ModelBundle {
  /** Absolute folder path. */
  dir: string;
  /** Folder name, e.g. "lens-gpt2-bpe4k". */
  name: string;
  config: Record<string, unknown>;
  spec: ArchitectureSpec;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** Absolute path of the ONNX graph. */
  onnxPath: string;
  /** The graph's path relative to `dir`. */
  onnxFile: string;
  /** Files of the bundle with their sizes (graph, external data next to it, tokenizer, config). */
  files: { name: string; bytes: number }[];
}

function readJsonObject(dir: string, file: string): Record<string, unknown> {
  const full = path.join(dir, file);
  let text: string;
  try {
    text = readBoundedFile(full, {
      maxBytes: file === "tokenizer.json" ? FILE_LIMITS.tokenizerJson : FILE_LIMITS.jsonConfig,
      what: file,
      root: dir,
    }).bytes.toString("utf8");
  } catch (e) {
    if (e instanceof BoundedFileError && e.reason !== "missing" && e.reason !== "unreadable") throw new ModelBundleError(e.message);
    throw new ModelBundleError(`The model folder ${dir} has no readable ${file}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelBundleError(`${full} is not valid JSON (${jsonErrorReason(e)}).`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ModelBundleError(`${full} does not hold a JSON object.`);
  return value as Record<string, unknown>;
}

function fileSize(full: string): number {
  try {
    return fs.statSync(full).size;
  } catch {
    return 0;
  }
}

/** Loads the bundle's JSON files and locates its ONNX graph; reads no weights. */
export function openModelBundle(dirInput: string): ModelBundle {
  const dir = path.resolve(dirInput);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new ModelBundleError(`The model folder ${dir} does not exist.`);
  }
  if (!stat.isDirectory())
    throw new ModelBundleError(
      `The model path ${dir} is not a folder (expected a Hugging Face model folder with config.json, tokenizer.json and an ONNX graph).`,
    );

  const config = readJsonObject(dir, "config.json");
  let spec: ArchitectureSpec;
  try {
    spec = createArchitecture(config);
  } catch (e) {
    if (e instanceof ModelConfigError) throw new ModelBundleError(`${path.join(dir, "config.json")}: ${e.message.replace(/^config\.json /, "")}`);
    throw e;
  }
  const tokenizerJson = readJsonObject(dir, "tokenizer.json");
  const model = tokenizerJson["model"];
  if (typeof model !== "object" || model === null)
    throw new ModelBundleError(`${path.join(dir, "tokenizer.json")} has no "model" object (expected a Hugging Face tokenizers file).`);
  const tokenizerConfig = fs.existsSync(path.join(dir, "tokenizer_config.json")) ? readJsonObject(dir, "tokenizer_config.json") : {};

  const onnxFile = ONNX_CANDIDATES.find((candidate) => fs.existsSync(path.join(dir, candidate)));
  if (onnxFile === undefined) throw new ModelBundleError(`The model folder ${dir} has no ONNX graph (expected one of ${ONNX_CANDIDATES.join(", ")}).`);
  const onnxPath = path.join(dir, onnxFile);
  // A folder under a graph's name would otherwise fail later with a bare EISDIR that names neither file nor expectation.
  if (!fs.statSync(onnxPath).isFile()) throw new ModelBundleError(`${onnxPath} is not a file (expected an ONNX model file).`);
  try {
    checkRegularFile(onnxPath, { maxBytes: FILE_LIMITS.onnxGraph, what: "the ONNX graph", root: dir });
  } catch (e) {
    if (e instanceof BoundedFileError) throw new ModelBundleError(e.message);
    throw e;
  }

  const files: { name: string; bytes: number }[] = [];
  const onnxDir = path.dirname(onnxPath);
  const base = path.basename(onnxPath);
  files.push({ name: onnxFile, bytes: fileSize(onnxPath) });
  // External data files sit next to the graph and start with its name (model.onnx_data, model.onnx.data).
  for (const entry of fs.readdirSync(onnxDir)) {
    if (entry !== base && entry.startsWith(base))
      files.push({ name: path.relative(dir, path.join(onnxDir, entry)), bytes: fileSize(path.join(onnxDir, entry)) });
  }
  for (const name of ["config.json", "tokenizer.json", "tokenizer_config.json"]) {
    if (fs.existsSync(path.join(dir, name))) files.push({ name, bytes: fileSize(path.join(dir, name)) });
  }
  return { dir, name: path.basename(dir), config, spec, tokenizerJson, tokenizerConfig, onnxPath, onnxFile, files };
}
