// Limits failed authentication attempts per client address, so tokens cannot
// be guessed at speed. A blocked address gets 429 with Retry-After for every
// request that needs a token, valid or not, until its window clears; otherwise
// a blocked guesser could still tell a hit from a miss.

export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number = 60_000,
  ) {}

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfter(address: string, nowMs = Date.now()): number {
    const times = this.recent(address, nowMs);
    if (times.length < this.limit) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.windowMs - nowMs) / 1000));
  }

  recordFailure(address: string, nowMs = Date.now()): void {
    const times = this.recent(address, nowMs);
    times.push(nowMs);
    this.failures.set(address, times);
    // Bounded memory under a flood of addresses: forget the oldest.
    if (this.failures.size > 10_000) {
      const first = this.failures.keys().next();
      if (!first.done) this.failures.delete(first.value);
    }
  }

  private recent(address: string, nowMs: number): number[] {
    const times = (this.failures.get(address) ?? []).filter((t) => nowMs - t < this.windowMs);
    if (times.length === 0) this.failures.delete(address);
    else this.failures.set(address, times);
    return times;
  }
}
