import { AsyncResource } from 'node:async_hooks'
import { RetryableError, SignalboxError } from '../core/errors.ts'
import { currentReader, type Reader } from '../core/reading.ts'

/*
 * Who a read is for, and the order reads reach the engine in. The embedded engine runs one bound
 * read at a time for the whole process (chdb's bind path is not safe side by side, so the library
 * chains every parameterized query, first come first served): the api's reads, the collector's
 * exactly-once lookups and every token check wait in one line. One viewer's forty heavy reads put
 * every other caller, and every ingest acknowledgement, behind all forty. So reads queue here
 * instead, where the order is ours: the process's urgent reads (the collector's lookups, token
 * checks) first, then the api's callers and the shared work (background loops, computations callers
 * share: core/reading.ts) in turn, one read each, so a caller waits for at most one read of each
 * other caller however many they sent. A server runs reads side by side, and the same order holds
 * over its slots.
 */

/** A read refused because its caller already has as many waiting or running as one may. */
export class TooManyReadsError extends RetryableError {
  constructor(limit: number) {
    super(
      'too_many_reads',
      `this caller already has ${limit} reads waiting or running in the store: wait for them before asking more`,
      1,
    )
  }
}

/** A read dropped from the queue because the request it was for has gone (nobody reads the answer). */
export class ReadAbandonedError extends SignalboxError {
  constructor() {
    super('client_closed', 'the request was closed before its read ran', 499)
  }
}

interface Waiting {
  readonly caller: Reader | undefined
  start(): void
  fail(err: Error): void
}

/** At most this many of the process's urgent reads in a row while callers wait, so they are never starved. */
const URGENT_STREAK = 4

export class ReadLanes {
  private running = 0
  private urgentStreak = 0
  private readonly urgent: Waiting[] = []
  /** Each caller's waiting reads; the Map's order is whose turn is next. */
  private readonly waiting = new Map<string, Waiting[]>()
  /** Each caller's reads waiting or running. */
  private readonly held = new Map<string, number>()
  /**
   * The requests (readers) whose first read was let in: the cap is checked on a request's first read
   * only, so a request is refused whole or not at all (one that reads 200 things at once, or reads
   * again after a write, is never cut off halfway).
   */
  private readonly admitted = new WeakSet<Reader>()

  /**
   * @param slots reads run at once (1 for the embedded engine, which runs one anyway)
   * @param perCaller reads one caller may have waiting or running; past it, its new requests 429
   */
  constructor(
    private readonly slots: number,
    private readonly perCaller: number,
  ) {}

  /**
   * Runs `read` in its turn, given the signal of the request it is for (if any); refused 503 if it
   * waited `maxWaitMs` without one.
   */
  run<T>(read: (signal: AbortSignal | undefined) => Promise<T>, maxWaitMs: number): Promise<T> {
    const caller = currentReader()
    if (caller) {
      if (caller.signal?.aborted) return Promise.reject(new ReadAbandonedError())
      const held = this.held.get(caller.id) ?? 0
      if (caller.capped && !this.admitted.has(caller)) {
        if (held >= this.perCaller) return Promise.reject(new TooManyReadsError(this.perCaller))
        this.admitted.add(caller)
      }
      this.held.set(caller.id, held + 1)
    }
    return new Promise<T>((resolve, reject) => {
      const unlisten = () => {
        clearTimeout(timer)
        caller?.signal?.removeEventListener('abort', abandon)
      }
      const entry: Waiting = {
        caller,
        // Run in the context it was asked in, not in that of the read whose end gave it its turn.
        start: AsyncResource.bind(() => {
          unlisten()
          this.running++
          read(caller?.signal)
            .then(resolve, (err) => reject(caller?.signal?.aborted ? new ReadAbandonedError() : err))
            .finally(() => {
              this.running--
              if (caller) this.release(caller.id)
              this.next()
            })
        }),
        fail: (err) => {
          unlisten()
          if (caller) this.release(caller.id)
          reject(err)
        },
      }
      const drop = (err: Error) => {
        if (this.remove(entry)) entry.fail(err)
      }
      const abandon = () => drop(new ReadAbandonedError())
      const timer = setTimeout(
        () =>
          drop(
            new RetryableError(
              'store_busy',
              `the read waited ${Math.round(maxWaitMs / 1000)} s for the store without its turn: retry shortly`,
              1,
            ),
          ),
        maxWaitMs,
      )
      timer.unref()
      caller?.signal?.addEventListener('abort', abandon, { once: true })
      this.enqueue(entry)
      this.next()
    })
  }

  private release(id: string): void {
    const held = (this.held.get(id) ?? 1) - 1
    if (held > 0) this.held.set(id, held)
    else this.held.delete(id)
  }

  private enqueue(entry: Waiting): void {
    if (!entry.caller) {
      this.urgent.push(entry)
      return
    }
    const queue = this.waiting.get(entry.caller.id)
    if (queue) queue.push(entry)
    else this.waiting.set(entry.caller.id, [entry])
  }

  private remove(entry: Waiting): boolean {
    const queue = entry.caller ? this.waiting.get(entry.caller.id) : this.urgent
    const at = queue?.indexOf(entry) ?? -1
    if (!queue || at < 0) return false
    queue.splice(at, 1)
    if (entry.caller && queue.length === 0) this.waiting.delete(entry.caller.id)
    return true
  }

  private next(): void {
    while (this.running < this.slots) {
      const entry = this.take()
      if (!entry) return
      entry.start()
    }
  }

  /** The urgent reads first, but never more than URGENT_STREAK in a row while callers wait. */
  private take(): Waiting | undefined {
    if (this.urgent.length > 0 && (this.urgentStreak < URGENT_STREAK || this.waiting.size === 0)) {
      // Only reads taken ahead of a waiting caller count towards the streak.
      this.urgentStreak = this.waiting.size === 0 ? 0 : this.urgentStreak + 1
      return this.urgent.shift()
    }
    this.urgentStreak = 0
    const turn = this.waiting.entries().next()
    if (turn.done) return undefined
    const [id, queue] = turn.value
    const entry = queue.shift()
    // Whose turn it was goes to the back of the line, with what it still has waiting.
    this.waiting.delete(id)
    if (queue.length > 0) this.waiting.set(id, queue)
    return entry
  }
}
