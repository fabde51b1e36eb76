/**
 * The engine protocol (src/protocol/engine.ts) on a vscode-jsonrpc connection: both ends of it.
 *
 * - `serveEngineRequests` installs the worker's handler table: each request's params are validated against its
 *   schema before its handler runs (an invalid request is answered with "badInput" naming the field), cancellation
 *   arrives as an AbortSignal, progress goes out as `$/progress` on the token the caller sent.
 * - `sendEngineRequest` is the typed call: its result type follows from the method name, and the result is
 *   validated against its schema before the caller sees it.
 * Errors cross as JSON-RPC errors whose `data.code` is the EngineError code; both ends turn them back into
 * EngineError, so callers branch on `error.code`, never on message text.
 */
import { CancellationTokenSource, ProgressType, ResponseError, type CancellationToken, type MessageConnection } from "vscode-jsonrpc/node";
import { EngineError, ENGINE_ERROR_CODES, type EngineErrorCode } from "../core/engineError";
import {
  ENGINE_ERROR_RPC_CODES,
  PROGRESS_TOKEN_FIELD,
  engineNotifications,
  engineProgress,
  engineRequests,
  type EngineMethod,
  type EngineNotification,
  type EngineNotificationParams,
  type EngineParams,
  type EngineProgress,
  type EngineResult,
} from "../protocol/engine";

/** What a handler gets besides its params: the caller's cancellation and a way to report progress. */
export interface RequestContext {
  signal: AbortSignal;
  progress(value: EngineProgress): void;
}

/** One handler per request of the protocol; `satisfies EngineHandlers` makes a missing one a compile error. */
export type EngineHandlers = { [M in EngineMethod]: (params: EngineParams<M>, context: RequestContext) => Promise<EngineResult<M>> };

const progressType = new ProgressType<EngineProgress>();

let nextProgressToken = 1;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toResponseError(error: unknown): ResponseError<{ code: EngineErrorCode }> {
  const engineError =
    error instanceof EngineError
      ? error
      : new EngineError("internal", `The engine failed unexpectedly (${error instanceof Error ? error.message : String(error)}).`);
  return new ResponseError(ENGINE_ERROR_RPC_CODES[engineError.code], engineError.message, { code: engineError.code });
}

/** An error that arrived from the other end (or from the connection itself) as an EngineError. */
export function fromResponseError(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  if (error instanceof ResponseError) {
    const data: unknown = error.data;
    const code = isRecord(data) && (ENGINE_ERROR_CODES as readonly unknown[]).includes(data["code"]) ? (data["code"] as EngineErrorCode) : "internal";
    return new EngineError(code, error.message);
  }
  return new EngineError("internal", `The engine connection failed (${error instanceof Error ? error.message : String(error)}).`);
}

/** Installs `handlers` for every request of the protocol on the worker's connection. */
export function serveEngineRequests(connection: MessageConnection, handlers: EngineHandlers): void {
  for (const method of Object.keys(engineRequests) as EngineMethod[]) {
    const spec = engineRequests[method];
    const handler = handlers[method] as (params: unknown, context: RequestContext) => Promise<unknown>;
    connection.onRequest(method, async (raw: unknown, token: CancellationToken) => {
      const problem = spec.params.check(raw, "params");
      if (problem !== null) throw toResponseError(new EngineError("badInput", `The engine refused a ${method} request: ${problem}.`));
      const controller = new AbortController();
      if (token.isCancellationRequested) controller.abort();
      const subscription = token.onCancellationRequested(() => controller.abort());
      const progressToken = (raw as Record<string, unknown>)[PROGRESS_TOKEN_FIELD];
      const progress = (value: EngineProgress): void => {
        if (typeof progressToken === "number" || typeof progressToken === "string") void connection.sendProgress(progressType, progressToken, value);
      };
      try {
        return await handler(raw, { signal: controller.signal, progress });
      } catch (error) {
        throw toResponseError(error);
      } finally {
        subscription.dispose();
      }
    });
  }
}

export interface SendOptions {
  signal?: AbortSignal;
  onProgress?: (progress: EngineProgress) => void;
}

/** Sends request `method` and resolves with its validated result, or rejects with an EngineError. */
export async function sendEngineRequest<M extends EngineMethod>(
  connection: MessageConnection,
  method: M,
  params: EngineParams<M>,
  options: SendOptions = {},
): Promise<EngineResult<M>> {
  const spec = engineRequests[method];
  if (options.signal?.aborted) throw new EngineError("cancelled", "The request was cancelled before it was sent.");
  const source = new CancellationTokenSource();
  const onAbort = (): void => source.cancel();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let progressSubscription: { dispose(): void } | undefined;
  let wire: unknown = params;
  if (spec.progress && options.onProgress) {
    const token = nextProgressToken++;
    const onProgress = options.onProgress;
    progressSubscription = connection.onProgress(progressType, token, (value: unknown) => {
      if (engineProgress.check(value, "progress") === null) onProgress(value as EngineProgress);
    });
    wire = { ...params, [PROGRESS_TOKEN_FIELD]: token };
  }
  try {
    const result: unknown = await connection.sendRequest(method, wire, source.token);
    const problem = spec.result.check(result, "result");
    if (problem !== null) throw new EngineError("internal", `The engine's answer to ${method} was malformed: ${problem}.`);
    return result as EngineResult<M>;
  } catch (error) {
    throw fromResponseError(error);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    progressSubscription?.dispose();
    source.dispose();
  }
}

/** Sends notification `name` (worker → extension). */
export function sendEngineNotification<N extends EngineNotification>(connection: MessageConnection, name: N, params: EngineNotificationParams<N>): void {
  void connection.sendNotification(name, params);
}

/** Calls `listener` with each valid notification `name`; invalid ones go to `invalid`. */
export function onEngineNotification<N extends EngineNotification>(
  connection: MessageConnection,
  name: N,
  listener: (params: EngineNotificationParams<N>) => void,
  invalid: (problem: string) => void,
): void {
  connection.onNotification(name, (params: unknown) => {
    const problem = engineNotifications[name].check(params, name);
    if (problem !== null) invalid(problem);
    else listener(params as EngineNotificationParams<N>);
  });
}
