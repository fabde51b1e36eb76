/**
 * What the KV cache saved across the last rescores: the records the panel's reuse chart draws, and their sums.
 */
import type { RescoreInfo } from "./types";

export interface RescoreRecord {
  /** Milliseconds since the epoch when the result arrived. */
  at: number;
  /** File name of the document, for tooltips. */
  document: string;
  tokensReused: number;
  tokensRecomputed: number;
  millis: number;
  fullRescoreMillisEstimate: number;
}

export interface RescoreAggregates {
  rescores: number;
  tokensReused: number;
  tokensRecomputed: number;
  /** tokensReused / (tokensReused + tokensRecomputed) over the kept history; null when no tokens. */
  reuseFraction: number | null;
  millis: number;
  fullRescoreMillisEstimate: number;
  /** fullRescoreMillisEstimate − millis: time the cache saved (negative if it cost time). */
  millisSaved: number;
  /** fullRescoreMillisEstimate / millis; null when no time was measured. */
  speedup: number | null;
}

/** Sums over the history: what the KV cache saved across the last rescores. */
export function rescoreAggregates(records: readonly RescoreRecord[]): RescoreAggregates {
  let tokensReused = 0;
  let tokensRecomputed = 0;
  let millis = 0;
  let fullRescoreMillisEstimate = 0;
  for (const record of records) {
    tokensReused += record.tokensReused;
    tokensRecomputed += record.tokensRecomputed;
    millis += record.millis;
    fullRescoreMillisEstimate += record.fullRescoreMillisEstimate;
  }
  const tokens = tokensReused + tokensRecomputed;
  return {
    rescores: records.length,
    tokensReused,
    tokensRecomputed,
    reuseFraction: tokens > 0 ? tokensReused / tokens : null,
    millis,
    fullRescoreMillisEstimate,
    millisSaved: fullRescoreMillisEstimate - millis,
    speedup: millis > 0 ? fullRescoreMillisEstimate / millis : null,
  };
}

/** The last `capacity` rescores, oldest first; the panel's reuse chart draws one bar per record. */
export class RescoreHistory {
  private readonly kept: RescoreRecord[] = [];

  constructor(readonly capacity = 40) {
    if (!(capacity >= 1)) throw new Error(`rescore history: capacity must be at least 1, got ${capacity}`);
  }

  add(document: string, rescore: RescoreInfo, at: number = Date.now()): void {
    this.kept.push({ at, document, ...rescore });
    if (this.kept.length > this.capacity) this.kept.splice(0, this.kept.length - this.capacity);
  }

  clear(): void {
    this.kept.length = 0;
  }

  get records(): readonly RescoreRecord[] {
    return this.kept;
  }

  aggregates(): RescoreAggregates {
    return rescoreAggregates(this.kept);
  }
}
