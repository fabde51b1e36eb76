/**
 * A set of disposables with one owner (vscode-pull-request-github's `Disposable._register`): disposing
 * the store disposes everything in it, newest first, and anything added after that is disposed at once.
 * No `vscode` at run time, unit-tested.
 */
export interface DisposableLike {
  dispose(): unknown;
}

export class DisposableStore implements DisposableLike {
  private items: DisposableLike[] = [];
  private disposed = false;

  constructor(private readonly onError: (error: unknown) => void = () => undefined) {}

  get isDisposed(): boolean {
    return this.disposed;
  }

  add<T extends DisposableLike>(item: T): T {
    if (this.disposed) this.disposeOne(item);
    else this.items.push(item);
    return item;
  }

  /** Disposes everything added so far and keeps the store usable. */
  clear(): void {
    const items = this.items.reverse();
    this.items = [];
    for (const item of items) this.disposeOne(item);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clear();
  }

  private disposeOne(item: DisposableLike): void {
    try {
      const result = item.dispose();
      if (result instanceof Promise) result.catch(this.onError);
    } catch (error) {
      this.onError(error);
    }
  }
}
