/** The text that makes test/helpers/oomWorker.ts run out of memory (kept apart so tests can import it on the main thread). */
export const OOM_TEXT = "\u0001exhaust the worker's heap\u0001";
