/**
 * The error every engine entry point (Engine, the worker, EngineClient) rejects with: a protocol error code and a
 * one-sentence message. No onnxruntime import, so the extension host can use it without loading the native module.
 */
import type { EngineErrorCode } from "../protocol/engine";

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
