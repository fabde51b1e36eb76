/**
 * A map that keeps at most `capacity` entries, dropping the least recently set first (a Map iterates in insertion
 * order, so re-inserting on set keeps the order by recency). The engine keeps its documents' scoring state in one;
 * the panel its remembered base-model figures.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    readonly capacity: number,
    /** Called for each entry dropped to make room (not for delete or clear). */
    private readonly onEvict: (key: K, value: V) => void = () => undefined,
  ) {
    if (!(capacity >= 1)) throw new Error(`LruMap: capacity must be at least 1, not ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, without making it more recent. */
  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Sets `key` as the most recent entry, then drops the oldest ones beyond the capacity. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      const evicted = this.entries.get(oldest.value) as V;
      this.entries.delete(oldest.value);
      this.onEvict(oldest.value, evicted);
    }
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
