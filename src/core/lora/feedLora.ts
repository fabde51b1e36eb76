/**
 * The feed path: the graph computes, for each adapted projection (lora.{i}.{module}),
 *
 *     y = x·Wᵀ + b + (x·A)·B,      A [in, R],  B [R, out]
 *
 * with the rank R a dynamic axis. For adapters k = 1…n with PEFT matrices A_k = lora_A [r_k, in], B_k = lora_B [out, r_k],
 * scaling_k = alpha_k / r_k (peftAdapter.ts) and the user's scale s_k, the feeds are
 *
 *     A = [A_1ᵀ | A_2ᵀ | … ]                          (concatenated along the rank axis: columns)
 *     B = [s_1·scaling_1·B_1ᵀ ; s_2·scaling_2·B_2ᵀ ; …] (rows)
 *
 * so (x·A)·B = Σ_k s_k·scaling_k · x·A_kᵀ·B_kᵀ, exactly the sum of the adapters' updates. Adapters with scale 0 are
 * left out; with none left the feeds have rank 0 and the graph adds nothing, which is the base model bit for bit.
 * Switching replaces the feed tensors only: no session is rebuilt.
 */
import * as ort from "onnxruntime-node";
import type { OnnxCausalLm } from "../backends/onnx/onnxSession";
import type { GraphSignature } from "../backends/onnx/graphSignature";
import type { OnnxValueInfo } from "../backends/onnx/onnxProto";
import { LoraError } from "./loraError";
import type { ActiveAdapter, LoraApplication, LoraApplier, LoraModelSource } from "./loraApplier";
import type { LoraModuleWeights } from "./peftAdapter";

const LORA_INPUT_RE = /^lora\.(\d+)\.([A-Za-z0-9_]+)\.(A|B)$/;

/** One adapted projection of the graph: its two inputs and their fixed dimensions (null when declared symbolic). */
interface FeedSlot {
  layer: number;
  module: string;
  inputA: string;
  inputB: string;
  inFeatures: number | null;
  outFeatures: number | null;
}

function slotKey(layer: number, module: string): string {
  return `${layer}.${module}`;
}

export class FeedLoraApplier implements LoraApplier {
  readonly mode = "feed" as const;
  private readonly slots = new Map<string, FeedSlot>();
  /** The feeds set last (empty = rank 0 everywhere), restored when a new set fails its probe run. */
  private current: ReadonlyMap<string, ort.Tensor> = new Map();

  constructor(
    signature: GraphSignature,
    declaredInputs: readonly OnnxValueInfo[],
    private readonly source: LoraModelSource,
  ) {
    const dim = (name: string, axis: number): number | null => {
      const d = declaredInputs.find((v) => v.name === name)?.shape?.[axis];
      return typeof d === "number" && d > 0 ? d : null;
    };
    for (const name of signature.loraInputs) {
      const m = LORA_INPUT_RE.exec(name);
      if (m === null || m[3] !== "A") continue;
      const layer = Number(m[1]);
      const module = m[2]!;
      const inputB = `lora.${layer}.${module}.B`;
      if (!signature.loraInputs.includes(inputB)) throw new LoraError(`The graph of ${source.name} has the LoRA input ${name} but not ${inputB}.`);
      this.slots.set(slotKey(layer, module), { layer, module, inputA: name, inputB, inFeatures: dim(name, 0), outFeatures: dim(inputB, 1) });
    }
  }

  /** "q_proj, v_proj in layers 0–3": what the graph can be fed, for messages. */
  private describeSlots(): string {
    const modules = [...new Set([...this.slots.values()].map((s) => s.module))].sort();
    const layers = [...new Set([...this.slots.values()].map((s) => s.layer))].sort((a, b) => a - b);
    return `${modules.join(", ")} in layers ${layers[0] ?? 0}–${layers[layers.length - 1] ?? 0}`;
  }

  /** The slot each module of `adapter` feeds; throws when one has none or its dimensions disagree. */
  private slotOf(name: string, module: LoraModuleWeights): FeedSlot {
    const slot = module.layer === null ? undefined : this.slots.get(slotKey(module.layer, module.module));
    if (slot === undefined) {
      throw new LoraError(`Adapter "${name}" adapts ${module.path}, but the graph of ${this.source.name} has LoRA inputs only for ${this.describeSlots()}.`);
    }
    if ((slot.inFeatures !== null && slot.inFeatures !== module.inFeatures) || (slot.outFeatures !== null && slot.outFeatures !== module.outFeatures)) {
      throw new LoraError(
        `Adapter "${name}": ${module.path} maps ${module.inFeatures} → ${module.outFeatures} features but the graph's ${slot.inputA}/${slot.inputB} take ${slot.inFeatures ?? "?"} → ${slot.outFeatures ?? "?"} (a different base model?).`,
      );
    }
    return slot;
  }

  /** Builds the feed tensors for `adapters` (see the formula at the top). Pure: touches no session. */
  buildFeeds(adapters: readonly ActiveAdapter[]): { feeds: Map<string, ort.Tensor>; matchedModules: string[]; shapesDeclared: boolean } {
    const perSlot = new Map<string, Array<{ module: LoraModuleWeights; factor: number }>>();
    const matched = new Set<string>();
    for (const { adapter, scale } of adapters) {
      // Every module is checked even at scale 0, so a bad adapter is refused whatever its scale.
      const slots = adapter.modules.map((module) => this.slotOf(adapter.name, module));
      if (scale === 0) continue;
      adapter.modules.forEach((module, i) => {
        const key = slotKey(slots[i]!.layer, slots[i]!.module);
        const list = perSlot.get(key) ?? [];
        list.push({ module, factor: scale * adapter.scaling });
        perSlot.set(key, list);
        matched.add(module.path);
      });
    }
    const feeds = new Map<string, ort.Tensor>();
    let shapesDeclared = true;
    for (const [key, parts] of perSlot) {
      const slot = this.slots.get(key)!;
      if (slot.inFeatures === null || slot.outFeatures === null) shapesDeclared = false;
      const inF = parts[0]!.module.inFeatures;
      const outF = parts[0]!.module.outFeatures;
      for (const p of parts) {
        if (p.module.inFeatures !== inF || p.module.outFeatures !== outF) {
          throw new LoraError(
            `The active adapters disagree on the shape of ${p.module.path} (${inF} → ${outF} and ${p.module.inFeatures} → ${p.module.outFeatures}).`,
          );
        }
      }
      const rank = parts.reduce((sum, p) => sum + p.module.rank, 0);
      const A = new Float32Array(inF * rank); // [in, R]
      const B = new Float32Array(rank * outF); // [R, out]
      let offset = 0;
      for (const { module, factor } of parts) {
        const r = module.rank;
        for (let k = 0; k < r; k++) {
          for (let x = 0; x < inF; x++) A[x * rank + offset + k] = module.A[k * inF + x]!;
          for (let o = 0; o < outF; o++) B[(offset + k) * outF + o] = factor * module.B[o * r + k]!;
        }
        offset += r;
      }
      feeds.set(slot.inputA, new ort.Tensor("float32", A, [inF, rank]));
      feeds.set(slot.inputB, new ort.Tensor("float32", B, [rank, outF]));
    }
    return { feeds, matchedModules: [...matched].sort(), shapesDeclared };
  }

  async apply(adapters: readonly ActiveAdapter[], current: OnnxCausalLm): Promise<LoraApplication> {
    const { feeds, matchedModules, shapesDeclared } = this.buildFeeds(adapters);
    current.setLoraFeeds(feeds);
    if (feeds.size > 0 && !shapesDeclared) {
      // The graph does not declare every dimension the feeds were checked against: one pass on a single token proves
      // onnxruntime accepts them before any document is scored with them.
      try {
        const probe = await current.forward([0], null);
        probe.logits?.dispose();
        if (probe.present) for (const t of probe.present.tensors) t.dispose();
      } catch (e) {
        current.setLoraFeeds(this.current);
        const names = adapters.map((a) => `"${a.adapter.name}"`).join(", ");
        throw new LoraError(`The adapters ${names} could not be fed to ${this.source.name} (${(e as Error).message.split("\n")[0]!.replace(/\.$/, "")}).`);
      }
    }
    this.current = feeds;
    return { model: current, matchedModules };
  }
}
