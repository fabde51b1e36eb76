/**
 * The one progress notification of engine work (scoring, comparing, later benchmarks): cancellable, shown only when
 * the work takes longer than `delayMs` (so quick rescoring while typing shows nothing), fed with the engine's
 * progress. A multi-step request (compare) fills the bar in equal shares per step and names the step; a one-step
 * request says how many tokens are done.
 */
import * as vscode from "vscode";
import type { EngineProgress } from "../protocol/engine";

/** Work that takes less than this shows no notification. */
export const PROGRESS_NOTIFICATION_DELAY_MS = 1000;

export class ProgressNotification {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private finish: (() => void) | undefined;
  private reporter: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private reportedPercent = 0;
  private lastStep = -1;
  private latest: EngineProgress | undefined;
  private ended = false;

  /** Shows `title` after `delayMs`; cancelling the notification aborts `controller`. */
  constructor(
    private readonly title: string,
    private readonly controller: AbortController,
    delayMs = PROGRESS_NOTIFICATION_DELAY_MS,
  ) {
    if (delayMs <= 0) this.show();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.show();
      }, delayMs);
  }

  private show(): void {
    if (this.ended) return;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: this.title, cancellable: true }, (progress, cancellation) => {
      this.reporter = progress;
      cancellation.onCancellationRequested(() => this.controller.abort());
      if (this.latest) this.report(this.latest);
      return new Promise<void>((resolve) => {
        this.finish = resolve;
        if (this.ended) resolve();
      });
    });
  }

  report(progress: EngineProgress): void {
    this.latest = progress;
    if (!this.reporter) return;
    const { done, total, step } = progress;
    const within = total > 0 ? Math.min(1, done / total) : 0;
    let percent: number;
    let message: string | undefined;
    if (step) {
      // Each step is an equal share of the bar; within a step, positions done of its total.
      const share = 100 / Math.max(1, step.count);
      percent = step.index * share + within * share;
      if (step.index !== this.lastStep) message = `${step.name} (${step.index + 1} of ${step.count})`;
      this.lastStep = step.index;
    } else {
      if (total <= 0) return;
      percent = within * 100;
      message = `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} tokens`;
    }
    this.reporter.report({ increment: Math.max(0, percent - this.reportedPercent), ...(message !== undefined ? { message } : {}) });
    this.reportedPercent = Math.max(this.reportedPercent, percent);
  }

  end(): void {
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.finish?.();
  }
}

/** Runs `work` with a progress notification that cancellation of aborts `work`'s signal. */
export async function withProgressNotification<T>(
  title: string,
  work: (signal: AbortSignal, report: (progress: EngineProgress) => void) => Promise<T>,
  delayMs = PROGRESS_NOTIFICATION_DELAY_MS,
): Promise<T> {
  const controller = new AbortController();
  const notification = new ProgressNotification(title, controller, delayMs);
  try {
    return await work(controller.signal, (progress) => notification.report(progress));
  } finally {
    notification.end();
  }
}
