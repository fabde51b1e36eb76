/**
 * What a settings change does, sorted by the strongest effect it needs (config.ts classifies it): restart the
 * engine (threads, KV budget), load another model, rescore, or redraw; then every view is refreshed.
 */
import * as vscode from "vscode";
import { CONFIG_SECTION, classifyConfigChange, parseLensConfigFromScopes, type ConfigChangeEffect, type LensConfig, type ParsedConfig } from "./config";

/**
 * Reads `perplexityLens.*` by scope; config.ts decides what an untrusted workspace's values count for
 * (user-only keys, clamped keys: each setting's trust rule).
 */
export function readConfig(): ParsedConfig {
  const section = vscode.workspace.getConfiguration(CONFIG_SECTION);
  return parseLensConfigFromScopes((key) => section.inspect(key), vscode.workspace.isTrusted);
}

export interface SettingsHost {
  readonly log: vscode.LogOutputChannel;
  /** Replaces the settings in use; returns the previous ones. */
  replaceConfig(parsed: ParsedConfig): LensConfig;
  restartEngine(reason: string): void;
  rescoreAll(): void;
  /** The model settings changed: forget a model that failed, and load the new one if nothing else will. */
  modelSettingsChanged(): void;
  adapterFoldersChanged(): void;
  /** Redraw everything the settings shape (decoration style, annotations, highlights, status bar). */
  refreshViews(): void;
}

/** The change an event describes, or null when it is not ours. */
export function changeOf(event: vscode.ConfigurationChangeEvent): { effect: ConfigChangeEffect; changed: string[] } | null {
  if (!event.affectsConfiguration(CONFIG_SECTION)) return null;
  return classifyConfigChange((key) => event.affectsConfiguration(key));
}

export function applyConfigChange(host: SettingsHost, effect: ConfigChangeEffect, changed: readonly string[]): void {
  const parsed = readConfig();
  for (const problem of parsed.problems) host.log.warn(`[config] ${problem}`);
  const previous = host.replaceConfig(parsed);
  const config = parsed.config;
  host.log.info(`[config] changed ${changed.join(", ") || "nothing"}: ${effect}`);
  if (changed.includes("adapterFolders")) host.adapterFoldersChanged();
  switch (effect) {
    case "restartEngine":
      host.restartEngine("engine threads or KV-cache budget changed");
      host.rescoreAll();
      break;
    case "reloadModel":
      if (previous.model !== config.model || previous.modelFolders.join("\n") !== config.modelFolders.join("\n")) host.modelSettingsChanged();
      break;
    case "rescore":
      host.rescoreAll();
      break;
    case "redraw":
    case "none":
      break;
  }
  host.refreshViews();
}
