/**
 * The one wrapper around `acquireVsCodeApi` (which may be called only once per page): typed posting to
 * the extension and validated persistence with getState/setState.
 */
import { isPersistedPanelState, type PersistedPanelState, type WebviewToExtMessage } from "../../src/protocol/webview";

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

export function postToExtension(message: WebviewToExtMessage): void {
  api.postMessage(message);
}

/** The state saved before the last reload, if any and if it is well-formed. */
export function readPersistedState(): PersistedPanelState | undefined {
  const state = api.getState();
  return isPersistedPanelState(state) ? state : undefined;
}

export function writePersistedState(state: PersistedPanelState): void {
  api.setState(state);
}
