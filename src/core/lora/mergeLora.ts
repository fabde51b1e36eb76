/**
 * The merge path, for graphs without LoRA inputs (a plain Hugging Face / Optimum export). For each adapted module the
 * weight it is equivalent to is (peftAdapter.ts)
 *
 *     W' = W + Σ_k s_k · scaling_k · B_k·A_k         [out, in]
 *
 * and ΔW is added, in the layout the graph stores W, into the initializer's raw_data inside a copy of the model bytes
 * (same length, so nothing else moves); the session is then rebuilt from those bytes. The base bytes are kept, so
 * removing every adapter (or setting all scales to 0) rebuilds the original model exactly.
 *
 * Finding W: a linear layer appears in the graph as
 *   - MatMul(x, Transpose(W))  with W [out, in] — torch.onnx without constant folding (names like transformer.h.0.attn.q_proj.weight);
 *   - Gemm(x, W, transB=1)     with W [out, in];
 *   - MatMul(x, W) or Gemm(x, W, transB=0) with W [in, out] — constant-folded exports (Optimum), where W is named onnx::MatMul_NNN
 *     and only the node's name (/model/layers.0/self_attn/q_proj/MatMul) tells the module.
 * A module path matches a weight when one of the two names that weight has in the graph — the initializer's name
 * without ".weight", or the consuming node's name read as a dotted path — equals it or ends it (whole segments), the
 * longest such match winning. Weights that are not float32 raw_data (float16, int8/int4 quantized, external data) are
 * refused, as are shapes that disagree with the adapter.
 */
import { OnnxCausalLm } from "../backends/onnx/onnxSession";
import { ONNX_DATA_TYPES, allInitializers, type OnnxGraph, type OnnxInitializer, type OnnxModelProto, type OnnxNode } from "../backends/onnx/onnxProto";
import { LoraError } from "./loraError";
import type { ActiveAdapter, LoraApplication, LoraApplier, LoraModelSource } from "./loraApplier";
import type { LoraModuleWeights } from "./peftAdapter";

const FLOAT32 = 1;
const QUANTIZED_MATMULS = new Set(["MatMulNBits", "MatMulInteger", "QLinearMatMul", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm"]);

/** A weight a linear layer multiplies by, and how it is stored. */
export interface LinearWeight {
  initializer: OnnxInitializer;
  /** "out_in": W [out, in] (consumed transposed); "in_out": W [in, out] (consumed as is). */
  layout: "out_in" | "in_out";
  /** Dotted module paths the graph gives this weight (from the initializer and the consuming node). */
  paths: string[];
  nodeName: string;
  /** Why it cannot be patched, or null. */
  unpatchable: string | null;
}

/** "/model/layers.0/self_attn/q_proj/MatMul" → "model.layers.0.self_attn.q_proj" (the op's own segment dropped). */
export function nodeModulePath(nodeName: string): string | null {
  const parts = nodeName.split("/").filter((p) => p !== "");
  if (parts.length < 2) return null;
  return parts.slice(0, -1).join(".");
}

/** How many trailing dotted segments `a` and `b` share when one ends the other; 0 when neither does. */
export function suffixMatchLength(a: string, b: string): number {
  const x = a.split(".");
  const y = b.split(".");
  const n = Math.min(x.length, y.length);
  for (let i = 1; i <= n; i++) if (x[x.length - i] !== y[y.length - i]) return 0;
  return n;
}

function describeType(init: OnnxInitializer): string {
  return ONNX_DATA_TYPES[init.dataType]?.name ?? `data type ${init.dataType}`;
}

/** Every MatMul/Gemm weight of the graph (and subgraphs), with its layout. */
export function findLinearWeights(graph: OnnxGraph): LinearWeight[] {
  const initializers = new Map(allInitializers(graph).map((i) => [i.name, i]));
  const nodes: OnnxNode[] = [];
  const collect = (g: OnnxGraph): void => {
    nodes.push(...g.nodes);
    g.subgraphs.forEach(collect);
  };
  collect(graph);
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);

  const out: LinearWeight[] = [];
  const add = (init: OnnxInitializer, layout: LinearWeight["layout"], node: OnnxNode, unpatchable: string | null): void => {
    const paths: string[] = [];
    if (init.name.endsWith(".weight")) paths.push(init.name.slice(0, -".weight".length));
    const fromNode = nodeModulePath(node.name);
    if (fromNode !== null) paths.push(fromNode);
    out.push({ initializer: init, layout, paths, nodeName: node.name, unpatchable });
  };
  const storage = (init: OnnxInitializer): string | null => {
    if (init.external) return `is stored in external data, which the merge path cannot patch`;
    if (init.dataType !== FLOAT32)
      return `is ${describeType(init)}, and only float32 weights can be merged into (quantized or half-precision models need an export with LoRA inputs)`;
    if (init.rawData === null) return `is not stored as raw_data`;
    return null;
  };
  for (const node of nodes) {
    const wName = node.inputs[1];
    if (wName === undefined) continue;
    if (QUANTIZED_MATMULS.has(node.opType)) {
      const init = initializers.get(wName);
      if (init) add(init, "in_out", node, `is a quantized weight (${node.opType}), which the merge path cannot patch`);
      continue;
    }
    if (node.opType !== "MatMul" && node.opType !== "Gemm") continue;
    const direct = initializers.get(wName);
    if (direct !== undefined) {
      if (direct.dims.length !== 2) continue;
      const transB = node.opType === "Gemm" && (node.intAttributes["transB"]?.[0] ?? 0) === 1;
      add(direct, transB ? "out_in" : "in_out", node, storage(direct));
      continue;
    }
    const before = producer.get(wName);
    if (before === undefined) continue;
    if (before.opType === "Transpose") {
      const init = initializers.get(before.inputs[0] ?? "");
      const perm = before.intAttributes["perm"];
      if (init === undefined || init.dims.length !== 2 || (perm !== undefined && !(perm[0] === 1 && perm[1] === 0))) continue;
      const transB = node.opType === "Gemm" && (node.intAttributes["transB"]?.[0] ?? 0) === 1;
      // Transpose then (Gemm without transB or MatMul) consumes W [out, in]; transposing twice would be [in, out].
      add(init, transB ? "in_out" : "out_in", node, storage(init));
    } else if (before.opType === "DequantizeLinear") {
      const init = initializers.get(before.inputs[0] ?? "");
      if (init) add(init, "in_out", node, `is a quantized weight (DequantizeLinear), which the merge path cannot patch`);
    }
  }
  return out;
}

interface WeightPatch {
  weight: LinearWeight;
  parts: Array<{ module: LoraModuleWeights; factor: number }>;
}

export class MergeLoraApplier implements LoraApplier {
  readonly mode = "merge" as const;
  readonly weights: LinearWeight[];
  /** Whether the session in use was built from patched bytes (false: the original model). */
  private patched = false;

  constructor(
    private readonly baseBytes: Uint8Array,
    proto: OnnxModelProto,
    private readonly source: LoraModelSource,
  ) {
    const external = allInitializers(proto.graph).find((i) => i.external);
    if (external !== undefined) {
      throw new LoraError(
        `LoRA adapters cannot be merged into ${source.name}: it keeps its weights in external data (${external.name}), which a session rebuilt from patched bytes cannot read (export it as one file, or with LoRA inputs).`,
      );
    }
    this.weights = findLinearWeights(proto.graph);
    if (this.weights.length === 0)
      throw new LoraError(`LoRA adapters cannot be applied to ${source.name}: its graph has neither LoRA inputs nor MatMul/Gemm weights to merge into.`);
  }

  /** The weight `module` of adapter `name` adapts; throws when there is none, several, or it cannot be patched. */
  matchWeight(name: string, module: LoraModuleWeights): LinearWeight {
    let best = 0;
    let found: LinearWeight[] = [];
    for (const w of this.weights) {
      const score = Math.max(0, ...w.paths.map((p) => suffixMatchLength(p, module.path)));
      if (score === 0 || score < best) continue;
      if (score > best) found = [];
      best = score;
      if (!found.some((f) => f.initializer === w.initializer)) found.push(w);
    }
    if (found.length === 0)
      throw new LoraError(
        `Adapter "${name}" adapts ${module.path}, which matches no weight of ${this.source.name} (neither an initializer ${module.path}.weight nor a MatMul/Gemm node named after it).`,
      );
    if (found.length > 1) {
      throw new LoraError(
        `Adapter "${name}": ${module.path} matches several weights of ${this.source.name} (${found
          .slice(0, 3)
          .map((f) => f.initializer.name)
          .join(", ")}), so it is not clear which to merge into.`,
      );
    }
    const w = found[0]!;
    if (w.unpatchable !== null)
      throw new LoraError(`Adapter "${name}" cannot be merged into ${this.source.name}: the weight ${w.initializer.name} of ${module.path} ${w.unpatchable}.`);
    const expected = w.layout === "out_in" ? [module.outFeatures, module.inFeatures] : [module.inFeatures, module.outFeatures];
    if (w.initializer.dims[0] !== expected[0] || w.initializer.dims[1] !== expected[1]) {
      throw new LoraError(
        `Adapter "${name}": ${module.path} maps ${module.inFeatures} → ${module.outFeatures} features but the weight ${w.initializer.name} is [${w.initializer.dims.join(", ")}] (stored ${w.layout === "out_in" ? "[out, in]" : "[in, out]"}), so the shapes disagree.`,
      );
    }
    return w;
  }

  /** The model bytes with every active adapter merged in (a copy; the base bytes are never changed). */
  patchBytes(adapters: readonly ActiveAdapter[]): { bytes: Uint8Array; matchedModules: string[]; patchedWeights: string[] } {
    const patches = new Map<string, WeightPatch>();
    const matched = new Set<string>();
    for (const { adapter, scale } of adapters) {
      // Matched even at scale 0, so a bad adapter is refused whatever its scale.
      const weights = adapter.modules.map((m) => this.matchWeight(adapter.name, m));
      if (scale === 0) continue;
      adapter.modules.forEach((module, i) => {
        const w = weights[i]!;
        const patch = patches.get(w.initializer.name) ?? { weight: w, parts: [] };
        patch.parts.push({ module, factor: scale * adapter.scaling });
        patches.set(w.initializer.name, patch);
        matched.add(module.path);
      });
    }
    if (patches.size === 0) return { bytes: this.baseBytes, matchedModules: [], patchedWeights: [] };
    // A copy (Buffer#slice would be a view and patch the base bytes themselves).
    const bytes = new Uint8Array(this.baseBytes);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const { weight, parts } of patches.values()) {
      const { rawData } = weight.initializer;
      const [rows, cols] = weight.initializer.dims as [number, number];
      const delta = new Float64Array(rows * cols);
      for (const { module, factor } of parts) {
        const { rank: r, inFeatures: nIn, outFeatures: nOut, A, B } = module;
        // ΔW[o][i] = factor · Σ_k B[o][k] · A[k][i], written at [o][i] (out_in) or [i][o] (in_out).
        for (let o = 0; o < nOut; o++) {
          for (let k = 0; k < r; k++) {
            const b = factor * B[o * r + k]!;
            if (b === 0) continue;
            const aRow = k * nIn;
            if (weight.layout === "out_in") for (let i = 0; i < nIn; i++) delta[o * nIn + i]! += b * A[aRow + i]!;
            else for (let i = 0; i < nIn; i++) delta[i * nOut + o]! += b * A[aRow + i]!;
          }
        }
      }
      const base = rawData!.offset;
      if ((bytes.byteOffset + base) % 4 === 0) {
        // raw_data is little-endian float32, as is every host onnxruntime-node runs on.
        const stored = new Float32Array(bytes.buffer, bytes.byteOffset + base, delta.length);
        for (let e = 0; e < delta.length; e++) stored[e]! += delta[e]!;
      } else {
        for (let e = 0; e < delta.length; e++) {
          const at = base + 4 * e;
          view.setFloat32(at, view.getFloat32(at, true) + delta[e]!, true);
        }
      }
    }
    return { bytes, matchedModules: [...matched].sort(), patchedWeights: [...patches.keys()].sort() };
  }

  async apply(adapters: readonly ActiveAdapter[], current: OnnxCausalLm): Promise<LoraApplication> {
    const { bytes, matchedModules, patchedWeights } = this.patchBytes(adapters);
    if (patchedWeights.length === 0 && !this.patched) return { model: current, matchedModules };
    const file = patchedWeights.length > 0 ? `${this.source.onnxPath} (with adapters merged)` : this.source.onnxPath;
    let model: OnnxCausalLm | null = null;
    try {
      // The rebuilt session computes statistics the way the replaced one did (fused into the graph or not), so the
      // engine's scoring path stays valid.
      const sessionOptions = {
        threads: this.source.threads,
        fuseStatistics: current.signature.fusedStats,
        graphFile: this.source.onnxPath,
        ...(this.source.root !== undefined ? { root: this.source.root } : {}),
        ...(this.source.logger ? { logger: this.source.logger } : {}),
      };
      model = await OnnxCausalLm.load(bytes, this.source.spec, sessionOptions, file);
      const probe = await model.forward([0], null);
      probe.logits?.dispose();
      if (probe.present) for (const t of probe.present.tensors) t.dispose();
    } catch (e) {
      if (model !== null) await model.release().catch(() => undefined);
      throw new LoraError(`The session of ${this.source.name} could not be rebuilt with the adapters merged (${(e as Error).message.replace(/\.$/, "")}).`);
    }
    this.source.logger?.log("debug", `merged into ${patchedWeights.length} weights: ${patchedWeights.join(", ")}`);
    this.patched = patchedWeights.length > 0;
    return { model, matchedModules };
  }
}
