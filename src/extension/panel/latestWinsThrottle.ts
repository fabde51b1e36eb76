/**
 * Runs a callback at most once per interval, always with the latest state: a burst of edits produces
 * one update at once and one at the end of the burst, never a queue of stale ones. No `vscode` here.
 */
export class LatestWinsThrottle {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRun = Number.NEGATIVE_INFINITY;
  private pending = false;
  private disposed = false;

  constructor(
    private readonly intervalMillis: number,
    private readonly run: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for a run: now if the last one was at least an interval ago, else at the end of the interval. */
  schedule(): void {
    if (this.disposed) return;
    this.pending = true;
    if (this.timer !== undefined) return;
    const wait = this.lastRun + this.intervalMillis - this.now();
    if (wait <= 0) {
      this.fire();
    } else {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.fire();
      }, wait);
    }
  }

  /** Runs a pending update now (e.g. when a webview becomes ready). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending) this.fire();
  }

  private fire(): void {
    if (this.disposed || !this.pending) return;
    this.pending = false;
    this.lastRun = this.now();
    this.run();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
