/**
 * A token bucket: allows `capacity` requests at once and refills `ratePerSecond` tokens each second.
 */
export interface RateLimiterOptions {
  capacity: number;
  ratePerSecond: number;
}

export class RateLimiter {
  private tokens: number;
  private lastRefill: number;

  constructor(private readonly options: RateLimiterOptions) {
    this.tokens = options.capacity;
    this.lastRefill = Date.now();
  }

  /** Returns true when the request may proceed, and takes one token. */
  tryRemoveToken(): boolean {
    this.refill();
    if (this.tokens < 1) {
      return false;
    }
    this.tokens -= 1;
    return true;
  }

  private refill(): void {
    const now = Date.now();
    const elapsed = (now - this.lastRefill) / 1000;
    this.tokens = Math.min(this.options.capacity, this.tokens + elapsed * this.options.ratePerSecond);
    this.lastRefill = now;
  }
}
