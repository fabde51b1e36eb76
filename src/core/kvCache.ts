/**
 * Keys and values (`present.*` tensors) kept between scorings, so an edit recomputes only what changed.
 *
 * One entry per (document, window start): the keys/values of the sequence positions [inputStart, inputStart + length)
 * and the token ids they were computed from, so reuse is checked against the ids themselves.
 * A byte budget covers all documents together; the least recently used entries are evicted first.
 *
 * Byte counts come from the tensors' shapes: per entry Σ over tensors of Π dims · dtype size, which for a model with
 * L layers is 2 · L · kv_heads · head_dim · tokens · dtype size (the factor 2: keys and values).
 */
import type * as ort from "onnxruntime-node";
import type { KvCacheStats } from "./types";
import type { KvState } from "./backends/onnx/onnxSession";
import type { Logger } from "./logger";
import { silentLogger } from "./logger";
import { DTYPE_BYTES } from "./kvBytes";

export function tensorBytes(tensor: ort.Tensor): number {
  const size = DTYPE_BYTES[tensor.type];
  if (size === undefined) throw new Error(`unexpected key/value tensor type ${tensor.type}`);
  return tensor.dims.reduce((a, b) => a * b, 1) * size;
}

export interface KvEntry {
  docId: string;
  inputStart: number;
  kv: KvState;
  /** Sequence ids at positions [inputStart, inputStart + kv.length). */
  ids: number[];
  bytes: number;
  lastUsed: number;
}

/** A copy of the first `length` positions of each tensor (axis 2 of [1, heads, past, head_dim]). */
export function sliceKv(ortModule: typeof ort, kv: KvState, length: number): KvState {
  if (length > kv.length) throw new Error(`cannot take ${length} cached positions out of ${kv.length}`);
  const tensors = kv.tensors.map((t) => {
    const [batch, heads, past, dim] = t.dims as [number, number, number, number];
    const source = t.data as Float32Array | Uint16Array;
    const Ctor = source.constructor as Float32ArrayConstructor | Uint16ArrayConstructor;
    const out = new Ctor(batch * heads * length * dim);
    for (let h = 0; h < batch * heads; h++) out.set(source.subarray(h * past * dim, h * past * dim + length * dim), h * length * dim);
    return new ortModule.Tensor(t.type as "float32", out as Float32Array, [batch, heads, length, dim]);
  });
  return { tensors, length };
}

export function disposeKv(kv: KvState): void {
  for (const t of kv.tensors) t.dispose();
}

export class KvCache {
  private readonly entries = new Map<string, KvEntry>();
  private clock = 0;
  private bytesHeld = 0;
  private tokensReused = 0;
  private tokensRecomputed = 0;
  private evictions = 0;
  private lastShape: number[] = [];
  private lastReset: string | undefined;

  constructor(
    private budgetBytes: number,
    private readonly logger: Logger = silentLogger,
  ) {}

  private static key(docId: string, inputStart: number): string {
    return `${inputStart}\u0000${docId}`;
  }

  get budget(): number {
    return this.budgetBytes;
  }

  setBudget(bytes: number): void {
    this.budgetBytes = bytes;
    this.evictOver(null);
  }

  /** The entry for a window of a document, marked as used. */
  get(docId: string, inputStart: number): KvEntry | undefined {
    const entry = this.entries.get(KvCache.key(docId, inputStart));
    if (entry) entry.lastUsed = ++this.clock;
    return entry;
  }

  /**
   * Stores keys/values (the cache takes ownership and disposes them when replaced or evicted).
   * Returns false when the entry alone exceeds the budget and was not kept.
   */
  put(docId: string, inputStart: number, kv: KvState, ids: number[]): boolean {
    if (ids.length !== kv.length) throw new Error(`cache entry has ${ids.length} ids for ${kv.length} positions`);
    const key = KvCache.key(docId, inputStart);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytesHeld -= old.bytes;
      if (old.kv !== kv) disposeKv(old.kv);
    }
    const bytes = kv.tensors.reduce((sum, t) => sum + tensorBytes(t), 0);
    const entry: KvEntry = { docId, inputStart, kv, ids, bytes, lastUsed: ++this.clock };
    this.entries.set(key, entry);
    this.bytesHeld += bytes;
    if (kv.tensors[0]) this.lastShape = [...kv.tensors[0].dims];
    this.evictOver(key);
    if (this.bytesHeld > this.budgetBytes) {
      this.remove(key, true);
      this.logger.log("debug", `keys/values of ${kv.length} tokens (${bytes} bytes) exceed the budget of ${this.budgetBytes} bytes and were not kept`);
      return false;
    }
    return true;
  }

  private remove(key: string, eviction: boolean): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytesHeld -= entry.bytes;
    disposeKv(entry.kv);
    if (eviction) this.evictions++;
  }

  /** Evicts least recently used entries (never `keep`) until the budget holds. */
  private evictOver(keep: string | null): void {
    if (this.bytesHeld <= this.budgetBytes) return;
    const byAge = [...this.entries.entries()].filter(([k]) => k !== keep).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of byAge) {
      if (this.bytesHeld <= this.budgetBytes) break;
      this.logger.log("debug", `evicting keys/values of ${entry.kv.length} tokens of ${entry.docId} (window at ${entry.inputStart})`);
      this.remove(key, true);
    }
  }

  /** Drops a document's entries, except the window starts in `keep`. */
  releaseDocument(docId: string, keep?: ReadonlySet<number>): void {
    for (const [key, entry] of [...this.entries]) {
      if (entry.docId === docId && !keep?.has(entry.inputStart)) this.remove(key, false);
    }
  }

  /** Drops everything, e.g. after a model or adapter change; `reason` is reported in the stats. */
  clear(reason: string): void {
    for (const key of [...this.entries.keys()]) this.remove(key, false);
    this.lastReset = reason;
    this.logger.log("debug", `cache reset: ${reason}`);
  }

  /** Records how many tokens a scoring reused and recomputed (for the hit rate). */
  record(reused: number, recomputed: number): void {
    this.tokensReused += reused;
    this.tokensRecomputed += recomputed;
  }

  stats(): KvCacheStats {
    let tokensCached = 0;
    for (const entry of this.entries.values()) tokensCached += entry.kv.length;
    const work = this.tokensReused + this.tokensRecomputed;
    const stats: KvCacheStats = {
      tokensCached,
      bytesHeld: this.bytesHeld,
      budgetBytes: this.budgetBytes,
      layerShape: [...this.lastShape],
      tokensReused: this.tokensReused,
      tokensRecomputed: this.tokensRecomputed,
      hitRate: work === 0 ? null : this.tokensReused / work,
      evictions: this.evictions,
    };
    if (this.lastReset !== undefined) stats.lastReset = this.lastReset;
    return stats;
  }

  get entryCount(): number {
    return this.entries.size;
  }
}
