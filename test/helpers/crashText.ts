/** The text that makes test/helpers/crashingWorker.ts exit (kept apart so tests can import it on the main thread). */
export const CRASH_TEXT = "\u0001crash the worker\u0001";
