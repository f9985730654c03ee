/**
 * Requests per token per minute, in fixed one-minute windows: enough to stop a runaway script or a
 * leaked key from starving everyone else, with a Retry-After that says when the next window opens.
 * Counts are per process (each api or collector process limits what it serves).
 */
export class RateLimiter {
  private windowStart = 0
  private counts = new Map<string, number>()

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined when the request may go ahead; otherwise the seconds until it may. */
  take(key: string): number | undefined {
    const now = this.now()
    const window = Math.floor(now / 60_000) * 60_000
    if (window !== this.windowStart) {
      this.windowStart = window
      this.counts = new Map()
    }
    const used = (this.counts.get(key) ?? 0) + 1
    this.counts.set(key, used)
    return used > this.perMinute ? Math.ceil((window + 60_000 - now) / 1000) : undefined
  }
}
