/**
 * The logging interface src/core receives: the worker forwards lines to the extension's output channel,
 * the command line to stderr (at --verbose), tests to nothing.
 */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { log: () => undefined };

/** Prefixes every message with a component tag, e.g. "[kvCache] evicted 2 windows". */
export function taggedLogger(logger: Logger, tag: string): Logger {
  return { log: (level, message) => logger.log(level, `[${tag}] ${message}`) };
}
