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

  /** undefined when the request may go ahead (and it is counted); otherwise the seconds until it may. */
  take(key: string): number | undefined {
    const wait = this.wait(key)
    if (wait === undefined) this.count(key)
    return wait
  }

  /** Whether a request would be refused now (the seconds until it would not), counting nothing. */
  wait(key: string): number | undefined {
    const now = this.now()
    const window = this.roll(now)
    return (this.counts.get(key) ?? 0) >= this.perMinute
      ? Math.ceil((window + 60_000 - now) / 1000)
      : undefined
  }

  /** Counts a request that went ahead. */
  count(key: string): void {
    this.roll(this.now())
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  /** Starts a new window when the minute has turned; answers the window's start. */
  private roll(now: number): number {
    const window = Math.floor(now / 60_000) * 60_000
    if (window !== this.windowStart) {
      this.windowStart = window
      this.counts = new Map()
    }
    return window
  }
}

/** How long an id that verified is treated as known: its lookups are not held to the unknown ids' rate. */
const KNOWN_FOR_MS = 10 * 60_000
/** Known ids kept at most: the oldest go first. */
const MAX_KNOWN = 10_000

/**
 * Guards the token lookup itself, which every authenticated request makes in the store (on the
 * embedded engine, one query at a time beside every read and write): a token over its rate is refused
 * before its lookup, not after, and ids not verified lately (made up, most of them) are looked up at most
 * `unknownPerSecond` times a second. Seven hundred made-up tokens in three seconds were seven hundred
 * lookups, and a known token's request took twenty times as long meanwhile.
 */
export class LookupGuard {
  private readonly limiter: RateLimiter
  private second = 0
  private unknownThisSecond = 0
  /** Ids that verified, with when: a Map keeps them oldest first. */
  private readonly known = new Map<string, number>()

  constructor(
    private readonly perMinute: number,
    private readonly unknownPerSecond = 50,
    private readonly now: () => number = Date.now,
  ) {
    this.limiter = new RateLimiter(perMinute, now)
  }

  /** Before a lookup of `id`: undefined when it may go ahead, else how long to wait and why. */
  before(id: string): { seconds: number; message: string } | undefined {
    const now = this.now()
    const verifiedAt = this.known.get(id)
    if (verifiedAt === undefined || now - verifiedAt > KNOWN_FOR_MS) {
      const second = Math.floor(now / 1000)
      if (second !== this.second) {
        this.second = second
        this.unknownThisSecond = 0
      }
      if (this.unknownThisSecond >= this.unknownPerSecond)
        return { seconds: 1, message: 'too many tokens not seen lately are being presented at once' }
      this.unknownThisSecond++
    }
    const seconds = this.limiter.wait(id)
    return seconds === undefined
      ? undefined
      : { seconds, message: `token ${id} made more than ${this.perMinute} requests this minute` }
  }

  /** After it: whether `id` verified. */
  after(id: string, verified: boolean): void {
    this.known.delete(id)
    // A token's rate counts what it was let do: a made-up secret beside a real id spends nothing of
    // that token's minute (a failure makes the id unknown again, held to the unknown ids' rate).
    if (!verified) return
    this.limiter.count(id)
    this.known.set(id, this.now())
    if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value as string)
  }
}
