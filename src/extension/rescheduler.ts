/**
 * Per-key debouncing for live rescoring. Pure: no `vscode`; timers are injectable so tests control time.
 *
 * Each `schedule(key, run)` replaces the pending run for that key, so a burst of edits to one document
 * produces one rescore `delayMs` after the last edit, while other documents keep their own timers.
 */

export interface TimerApi {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: TimerApi = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class Rescheduler<K> {
  private readonly pending = new Map<K, unknown>();
  private disposed = false;

  constructor(private readonly timers: TimerApi = realTimers) {}

  /** Runs `run` after `delayMs` unless this key is scheduled again or cancelled first. */
  schedule(key: K, delayMs: number, run: () => void): void {
    if (this.disposed) return;
    this.cancel(key);
    const handle = this.timers.setTimeout(
      () => {
        this.pending.delete(key);
        run();
      },
      Math.max(0, delayMs),
    );
    this.pending.set(key, handle);
  }

  /** Drops the pending run for `key`, if any. */
  cancel(key: K): void {
    const handle = this.pending.get(key);
    if (handle !== undefined) {
      this.timers.clearTimeout(handle);
      this.pending.delete(key);
    }
  }

  isPending(key: K): boolean {
    return this.pending.has(key);
  }

  dispose(): void {
    for (const handle of this.pending.values()) this.timers.clearTimeout(handle);
    this.pending.clear();
    this.disposed = true;
  }
}
