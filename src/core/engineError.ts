/**
 * The error every engine entry point (Engine, the worker, EngineClient) rejects with: a protocol error code and a
 * one-sentence message. No onnxruntime import, so the extension host can use it without loading the native module.
 */

/**
 * "cancelled": the caller asked to stop; "badInput": the request itself was wrong; "modelError": the model folder
 * cannot be used; "internal": a bug; "crashed": the worker died while the request was in flight (set by the client,
 * never sent by the worker); "timeout": the worker stopped answering and was restarted (set by the client).
 */
export type EngineErrorCode = "cancelled" | "badInput" | "modelError" | "internal" | "crashed" | "timeout";

export const ENGINE_ERROR_CODES: readonly EngineErrorCode[] = ["cancelled", "badInput", "modelError", "internal", "crashed", "timeout"];

export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}
