/**
 * The adapters active on the loaded model: resolves selections to folders, loads them, applies them through the applier
 * the graph allows (created on first use, so models never used with adapters pay nothing), and remembers the set.
 * A set that fails to load or apply changes nothing: the previous set stays active.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AdapterInfo, AdapterSelection, AdapterSetResult } from "./adapterTypes";
import type { OnnxCausalLm } from "../backends/onnx/onnxSession";
import { resolveAdapterDir } from "./adapterCatalog";
import { createLoraApplier } from "./createLoraApplier";
import type { ActiveAdapter, LoraApplier, LoraModelSource } from "./loraApplier";
import { LoraError } from "./loraError";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, adapterInfo, loadPeftAdapter, type PeftAdapter } from "./peftAdapter";

export type { AdapterSetResult } from "./adapterTypes";

/** Size and modification time of an adapter's two files: a loaded adapter is reused while they are unchanged. */
function fileStamp(dir: string): string {
  return [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]
    .map((f) => {
      try {
        const s = fs.statSync(path.join(dir, f));
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return "missing";
      }
    })
    .join("|");
}

export class LoraAdapterState {
  private applier: LoraApplier | null = null;
  /** Adapters read before, by folder and name, with the stamp of their files. */
  private readonly loadedAdapters = new Map<string, { stamp: string; adapter: PeftAdapter }>();
  private active: AdapterSelection[] = [];
  private infos: AdapterInfo[] = [];
  private matched: string[] = [];
  /** Identity of the weights in effect: folder, file stamp and scale of each adapter with a non-zero scale. */
  private weightsKey = "[]";

  constructor(
    private readonly modelDir: string,
    private readonly source: LoraModelSource,
    private readonly signature: OnnxCausalLm["signature"],
  ) {}

  /** Active adapters with a non-zero scale, as MethodInfo states them. */
  get effective(): { name: string; scale: number }[] {
    return this.active.filter((a) => a.scale !== 0).map((a) => ({ name: a.name, scale: a.scale }));
  }

  get result(): AdapterSetResult {
    return { active: this.active.map((a) => ({ ...a })), adapters: [...this.infos], mode: this.applier?.mode ?? "none", matchedModules: [...this.matched] };
  }

  /**
   * Replaces the active set with `selections` on `model` (the session in use). Returns the session to use from now on
   * (a new one on the merge path; the caller releases the old one), the new state, and whether the weights changed
   * (false when the same adapters at the same scales are set again, or only scale-0 ones come and go: cached keys and
   * values then stay valid). Throws LoraError, changing nothing.
   */
  async set(
    selections: readonly AdapterSelection[],
    model: OnnxCausalLm,
    extraDirs: readonly string[] = [],
  ): Promise<{ model: OnnxCausalLm; result: AdapterSetResult; weightsChanged: boolean }> {
    for (const s of selections) {
      if (!Number.isFinite(s.scale)) throw new LoraError(`Adapter "${s.name}" has a scale that is not a finite number.`);
    }
    const effective: Array<[string, string, number]> = [];
    const loaded: ActiveAdapter[] = selections.map((s) => {
      const dir = resolveAdapterDir(s, this.modelDir, extraDirs);
      const key = `${dir}\u0000${s.name}`;
      const stamp = fileStamp(dir);
      if (s.scale !== 0) effective.push([dir, stamp, s.scale]);
      const cached = this.loadedAdapters.get(key);
      if (cached !== undefined && cached.stamp === stamp) return { adapter: cached.adapter, scale: s.scale };
      const adapter = loadPeftAdapter(dir, s.name);
      this.loadedAdapters.set(key, { stamp, adapter });
      return { adapter, scale: s.scale };
    });
    const weightsKey = JSON.stringify(effective);
    if (this.applier === null && loaded.length === 0) return { model, result: this.result, weightsChanged: false };
    if (this.applier === null) this.applier = createLoraApplier(this.signature, this.source);
    const applied = await this.applier.apply(loaded, model);
    for (const { adapter } of loaded) {
      const base = adapter.config.baseModel;
      if (base !== "" && !base.endsWith(this.source.name)) {
        this.source.logger?.log("warn", `adapter "${adapter.name}" was trained on ${base}, not ${this.source.name}; its shapes fit, so it is applied`);
      }
    }
    this.active = selections.map((s) => ({ ...s }));
    this.infos = loaded.map(({ adapter }) => adapterInfo(adapter.name, adapter.dir, adapter.config));
    this.matched = applied.matchedModules;
    const weightsChanged = weightsKey !== this.weightsKey || applied.model !== model;
    this.weightsKey = weightsKey;
    return { model: applied.model, result: this.result, weightsChanged };
  }
}
