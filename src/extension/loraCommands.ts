/**
 * Toggle LoRA Adapter and Set LoRA Scale: the command palette side of the adapter state in
 * `loraAdapters.ts`. Switching resets the engine's KV caches (the cached keys and values were computed
 * with the old weights), which the panel is told, and rescores the documents that have scores.
 */
import * as vscode from "vscode";
import type { AdapterInfo, AdapterSelection } from "../protocol/engine";
import type { LensContext } from "./ctx";
import { adapterLabel } from "./loraAdapters";

function describeAdapter(adapter: AdapterInfo): string {
  return `r=${adapter.rank} · α=${adapter.alpha} · ${adapter.targetModules.join(", ") || "no targets"}`;
}

/** Lists the adapters, telling the user when there are none; undefined when there is nothing to pick. */
async function availableAdapters(ctx: LensContext): Promise<AdapterInfo[] | undefined> {
  const list = await ctx.listAdapters();
  if (list.adapters.length === 0) {
    const more = list.problems.length > 0 ? ` (${list.problems.length} adapter folder(s) could not be read; see the log)` : "";
    const choice = await vscode.window.showInformationMessage(
      `${list.modelName} has no LoRA adapters in its adapters/ folder or in perplexityLens.adapterFolders${more}.`,
      "Open Settings",
      "Show Log",
    );
    if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "perplexityLens.adapterFolders");
    else if (choice === "Show Log") ctx.log.show();
    return undefined;
  }
  return list.adapters;
}

async function apply(ctx: LensContext, selections: AdapterSelection[]): Promise<void> {
  const answer = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Perplexity Lens: switching adapters" }, () =>
    ctx.applyAdapters(selections),
  );
  const names =
    answer.active
      .filter((a) => a.scale !== 0)
      .map(adapterLabel)
      .join(", ") || "none";
  vscode.window.setStatusBarMessage(`Perplexity Lens: adapters ${names} (${answer.mode}, ${Math.round(answer.millis)} ms)`, 4000);
}

interface AdapterPick extends vscode.QuickPickItem {
  adapter: AdapterInfo;
}

export async function toggleLoraAdapter(ctx: LensContext): Promise<void> {
  const adapters = await availableAdapters(ctx);
  if (!adapters) return;
  const active = ctx.adapters.current.active;
  const activeScale = (adapter: AdapterInfo): number | undefined =>
    active.find((a) => a.name === adapter.name && (a.path === undefined || a.path === adapter.path))?.scale;
  const items: AdapterPick[] = adapters.map((adapter) => {
    const scale = activeScale(adapter);
    return {
      label: adapter.name,
      description: `${scale !== undefined ? `on, scale ${scale} · ` : ""}${describeAdapter(adapter)}`,
      detail: adapter.description || adapter.path,
      picked: scale !== undefined && scale !== 0,
      adapter,
    };
  });
  const picked = await vscode.window.showQuickPick(items, {
    title: "Perplexity Lens: Toggle LoRA Adapter",
    placeHolder: "Adapters to apply (several can be on at once; none turns them all off)",
    canPickMany: true,
    matchOnDetail: true,
  });
  if (!picked) return;
  const selections = picked.map(({ adapter }) => {
    const scale = activeScale(adapter);
    return { name: adapter.name, path: adapter.path, scale: scale === undefined || scale === 0 ? 1 : scale };
  });
  await apply(ctx, selections);
}

export async function setLoraScale(ctx: LensContext): Promise<void> {
  const adapters = await availableAdapters(ctx);
  if (!adapters) return;
  const active = ctx.adapters.current.active;
  const scaleOf = (adapter: AdapterInfo): number | undefined => active.find((a) => a.name === adapter.name)?.scale;
  const items: AdapterPick[] = adapters.map((adapter) => {
    const scale = scaleOf(adapter);
    return { label: adapter.name, description: scale !== undefined ? `scale ${scale}` : "off", detail: describeAdapter(adapter), adapter };
  });
  const picked = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: "Perplexity Lens: Set LoRA Scale", placeHolder: "Adapter" });
  if (!picked) return;
  const current = scaleOf(picked.adapter);
  const input = await vscode.window.showInputBox({
    title: `Perplexity Lens: scale of ${picked.adapter.name}`,
    prompt: "The model computes W + scale · (α / r) · B·A: 1 is the adapter as trained, 0 is off.",
    value: String(current ?? 1),
    validateInput: (value) => {
      const n = Number(value);
      return value.trim() !== "" && Number.isFinite(n) && Math.abs(n) <= 10 ? undefined : "Enter a number from -10 to 10.";
    },
  });
  if (input === undefined) return;
  const scale = Number(input);
  const others = active.filter((a) => a.name !== picked.adapter.name);
  await apply(ctx, [...others, { name: picked.adapter.name, path: picked.adapter.path, scale }]);
}
