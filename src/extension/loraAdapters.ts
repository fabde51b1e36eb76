/**
 * The active LoRA adapters, as one state that the command palette, the status bar and the panel all read
 * (`onDidChange`), and that survives an engine restart: the set is sent again to a new worker after its
 * model loads. Loading another model starts with no adapters (they belong to the model they were trained on).
 * No `vscode` at run time: unit-tested with a fake session.
 */
import type { AdapterInfo, AdapterList, AdapterMode, AdapterSelection, AdaptersChanged } from "../protocol/engine";
import type { EngineSession } from "./engineSession";

/** The parts of the log and the engine session this module uses. */
export interface AdapterLog {
  info(message: string): void;
  error(message: string): void;
}
export type AdapterEngine = Pick<EngineSession, "request">;

export interface AdapterSnapshot {
  /** The selections active now, scale 0 included (0 keeps an adapter loaded but off). */
  active: AdapterSelection[];
  /** The active adapters' configs, in the order of `active`. */
  activeInfo: AdapterInfo[];
  mode: AdapterMode;
  matchedModules: string[];
}

/** "legal ×0.5": how an active adapter is named in the status bar and pickers. */
export function adapterLabel(selection: Pick<AdapterSelection, "name" | "scale">): string {
  return selection.scale === 1 ? selection.name : `${selection.name} ×${selection.scale}`;
}

/** Whether two sets of selections are the same (order included: it is the order they are applied in). */
export function sameSelections(a: readonly AdapterSelection[], b: readonly AdapterSelection[]): boolean {
  return a.length === b.length && a.every((s, i) => s.name === b[i]?.name && s.scale === b[i]?.scale && s.path === b[i]?.path);
}

export class LoraAdapters {
  private snapshot: AdapterSnapshot = { active: [], activeInfo: [], mode: "none", matchedModules: [] };
  /** Which session has which set applied; a new session (engine restart) gets the set again. */
  private readonly applied = new WeakMap<AdapterEngine, AdapterSelection[]>();
  private readonly listeners = new Set<(snapshot: AdapterSnapshot) => void>();

  constructor(private readonly log: AdapterLog) {}

  /** Calls `listener` with every new state until the returned object is disposed. */
  onDidChange(listener: (snapshot: AdapterSnapshot) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private fire(): void {
    for (const listener of [...this.listeners]) listener(this.snapshot);
  }

  get current(): AdapterSnapshot {
    return this.snapshot;
  }

  /** Active adapters with a non-zero scale, for the status bar. */
  get effective(): AdapterSelection[] {
    return this.snapshot.active.filter((s) => s.scale !== 0);
  }

  /** Lists the adapters the loaded model can use (its adapters/ folder, then `extraDirs`). */
  list(session: AdapterEngine, extraDirs: readonly string[]): Promise<AdapterList> {
    return session.request("listAdapters", { extraDirs: [...extraDirs] });
  }

  /**
   * Makes `selections` the active set. Resolves with the engine's answer; rejects with its one sentence
   * (the previous set then stays active).
   */
  async set(session: AdapterEngine, selections: AdapterSelection[], extraDirs: readonly string[]): Promise<AdaptersChanged> {
    const answer = await session.request("setAdapters", { adapters: selections, extraDirs: [...extraDirs] });
    this.applied.set(session, answer.active);
    this.snapshot = { active: answer.active, activeInfo: answer.adapters, mode: answer.mode, matchedModules: answer.matchedModules };
    this.log.info(
      `[lora] active: ${answer.active.map(adapterLabel).join(", ") || "none"} (${answer.mode}, ${answer.matchedModules.length} modules, ${Math.round(answer.millis)} ms)`,
    );
    this.fire();
    return answer;
  }

  /** Sends the active set to `session` if it does not have it (a restarted engine); resolves when done. */
  async reapply(session: AdapterEngine, extraDirs: readonly string[]): Promise<void> {
    const wanted = this.snapshot.active;
    const has = this.applied.get(session) ?? [];
    if (sameSelections(wanted, has)) return;
    try {
      await this.set(session, wanted, extraDirs);
    } catch (error) {
      this.log.error(`[lora] applying ${wanted.map(adapterLabel).join(", ")} again failed: ${error instanceof Error ? error.message : String(error)}`);
      this.forget();
      throw error;
    }
  }

  /** `session` loaded a model: the engine starts it with no adapters. */
  modelLoadedIn(session: AdapterEngine): void {
    this.applied.set(session, []);
  }

  /** The session's worker restarted after a crash: its adapters are gone. */
  sessionRestarted(session: AdapterEngine): void {
    this.applied.delete(session);
  }

  /** Another model was loaded: it starts without adapters. */
  forget(): void {
    if (this.snapshot.active.length === 0) return;
    this.log.info("[lora] adapters cleared: another model was loaded");
    this.snapshot = { active: [], activeInfo: [], mode: "none", matchedModules: [] };
    this.fire();
  }

  dispose(): void {
    this.listeners.clear();
  }
}
