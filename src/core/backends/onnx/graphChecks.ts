/**
 * The checks every ONNX graph passes before onnxruntime sees it, whichever way its session is built (from the file,
 * from bytes with the statistics fused in, from bytes with LoRA weights merged):
 * - every tensor anywhere (initializers, attribute tensors such as Constant's `value` in any subgraph, sparse
 *   initializers) that keeps its values in external data names a relative `location` that, resolved against the
 *   graph's folder and through symlinks, stays inside the model folder, is a regular file, and holds offset + length;
 *   onnxruntime resolves the external data of a model built from bytes against the process's working directory, so
 *   such a model is never built from bytes;
 * - declared dims are below 2^31 and fit the bytes the tensor has (onnxruntime's own overflow check reports `safeint.h`).
 * Each refusal is one OnnxModelError sentence naming the graph file and the tensor or location.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { allTensors, ONNX_DATA_TYPES, type OnnxModelProto, type OnnxInitializer } from "./onnxProto";
import { OnnxModelError } from "./graphSignature";
import { isInside } from "../../boundedFile";

/** Whether any tensor of the graph keeps its values in external data. */
export function hasExternalData(proto: OnnxModelProto): boolean {
  return allTensors(proto.graph).some((t) => t.external || Object.keys(t.externalData).length > 0);
}

function quoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 77)}...` : clean);
}

function tensorLabel(t: OnnxInitializer): string {
  return t.name === "" ? "an unnamed tensor" : `the tensor ${quoted(t.name)}`;
}

function nonNegativeInteger(text: string | undefined): number | null {
  if (text === undefined || text === "") return 0;
  if (!/^\d{1,16}$/.test(text)) return null;
  return Number(text);
}

/**
 * Checks the external data and the declared sizes of every tensor of `proto`, the graph in the file `graphFile` of the
 * model folder `root`. `fromBytes`: the session is to be built from bytes, which must then hold every value.
 */
export function checkGraphTensors(proto: OnnxModelProto, graphFile: string, root: string, fromBytes: boolean, fileBytes: number): void {
  const graphDir = path.dirname(path.resolve(graphFile));
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    realRoot = path.resolve(root);
  }
  for (const t of allTensors(proto.graph)) {
    const external = t.external || Object.keys(t.externalData).length > 0;
    const type = ONNX_DATA_TYPES[t.dataType];
    for (const d of t.dims) {
      if (!Number.isSafeInteger(d) || d < 0 || d >= 2 ** 31)
        throw new OnnxModelError(`${graphFile}: ${tensorLabel(t)} declares the dimension ${d}, outside 0 to 2^31 - 1.`);
    }
    const elements = t.dims.reduce((a, b) => a * b, 1);
    let available = t.rawData?.length ?? fileBytes;
    if (external) {
      if (fromBytes)
        throw new OnnxModelError(
          `${graphFile} keeps ${tensorLabel(t)} in external data, which a session built from bytes cannot read safely, so the model is not loaded this way.`,
        );
      const location = t.externalData["location"];
      if (location === undefined || location === "") throw new OnnxModelError(`${graphFile}: ${tensorLabel(t)} is in external data but names no location.`);
      if (path.isAbsolute(location) || location.includes("\0"))
        throw new OnnxModelError(`${graphFile}: the external data location ${quoted(location)} is not a relative path inside the model folder.`);
      const target = path.resolve(graphDir, location);
      let real: string;
      try {
        real = fs.realpathSync(target);
      } catch {
        throw new OnnxModelError(`${graphFile}: the external data location ${quoted(location)} does not exist.`);
      }
      if (!isInside(realRoot, real))
        throw new OnnxModelError(`${graphFile}: the external data location ${quoted(location)} leads outside the model folder ${root}, so it is not read.`);
      const stat = fs.statSync(real);
      if (!stat.isFile()) throw new OnnxModelError(`${graphFile}: the external data location ${quoted(location)} is not a regular file.`);
      const offset = nonNegativeInteger(t.externalData["offset"]);
      const length = t.externalData["length"] === undefined ? stat.size - (offset ?? 0) : nonNegativeInteger(t.externalData["length"]);
      if (offset === null || length === null || offset + length > stat.size)
        throw new OnnxModelError(
          `${graphFile}: ${tensorLabel(t)} asks for bytes ${t.externalData["offset"] ?? "0"}+${t.externalData["length"] ?? "?"} of ${quoted(location)}, which has ${stat.size} bytes.`,
        );
      available = length;
    }
    // Values in typed fields take at least a byte each; raw and external data take exactly the type's size.
    const needed = t.rawData !== null || external ? elements * (type?.bytes ?? 0) : elements;
    if (needed > available)
      throw new OnnxModelError(
        `${graphFile}: ${tensorLabel(t)} declares ${elements} elements of ${type?.name ?? `data type ${t.dataType}`}, more than the ${available} bytes it holds.`,
      );
  }
}
