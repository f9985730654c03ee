import { RetryableError } from '../core/errors.ts'

/** Weight of the newest request in the decoding-rate estimate. */
const RATE_WEIGHT = 0.2

/**
 * A request's place in admission: the bytes it holds grow as its body arrives (and, gzip, inflates),
 * so a sender holds only what it has sent. `leave` gives the place back (once), told how long the
 * request's synchronous work (decode, rows, queueing) took, which tunes the estimate.
 */
export interface Place {
  charge(bytes: number): void
  leave(workMs?: number): void
}

/**
 * Refuses a request before its body is read or decoded when the collector could not acknowledge
 * it in time: an exporter whose request waits past its own timeout (10 s by default) sends it again,
 * so holding it only doubles the work. The predicted wait adds up two queues:
 *
 * - the requests admitted and not yet queued for writing: decoding runs on a few threads
 *   (trace and CloudEvents requests on collector/threads/pool.ts), so a burst of large batches waits there before
 *   any write queue sees it (32 senders × 8,192 spans kept one thread busy for seconds); their bytes
 *   are also bounded outright, as they arrive, which bounds the memory they take;
 * - the write backlog: how long the rows already queued take to write at the rate writes go.
 *
 * A request's bytes are charged as they arrive, not as its Content-Length declares: a sender that
 * declares a large body and sends nothing holds nothing (the HTTP server's request timeout ends it).
 * The refusal is a 429 with Retry-After (gRPC RESOURCE_EXHAUSTED with RetryInfo), counted in /metrics.
 */
export class Admission {
  private heldBytes = 0
  /** Bytes the JS thread decodes and queues per ms, 0 until measured. */
  private bytesPerMs = 0

  constructor(
    private readonly maxHeldBytes: number,
    private readonly maxWaitMs: number,
    /** The longest predicted wait, in ms, of the write queues. */
    private readonly backlogMs: () => number,
    /** Requests decoded at once (decoding threads). */
    private readonly lanes = 1,
    /** Told the bytes held whenever they change (the collector's gauge). */
    private readonly observe: (bytes: number) => void = () => {},
  ) {}

  /** Bytes of request bodies being read and decoded. */
  get bytes(): number {
    return this.heldBytes
  }

  /** How long a request admitted now would wait before its write is done, as far as is known. */
  predictedWaitMs(): number {
    const decoding = this.bytesPerMs > 0 ? this.heldBytes / (this.bytesPerMs * this.lanes) : 0
    return decoding + this.backlogMs()
  }

  /** Takes a place for a request holding `bytes` so far (0 when its body is yet to be read). */
  enter(bytes = 0): Place {
    const wait = this.predictedWaitMs()
    if (wait > this.maxWaitMs)
      throw new RetryableError(
        'queue_full',
        `the collector is ${Math.round(wait / 1000)} s behind; retry shortly`,
        Math.min(30, Math.max(1, Math.ceil(wait / 2000))),
      )
    let held = 0
    let left = false
    const place: Place = {
      charge: (n) => {
        if (left || n <= 0) return
        // One request alone is always let in, however large: it is bounded by the body limit.
        if (this.heldBytes > held && this.heldBytes + n > this.maxHeldBytes)
          throw new RetryableError(
            'queue_full',
            'the collector is busy with other requests; retry shortly',
            1,
          )
        held += n
        this.heldBytes += n
        this.observe(this.heldBytes)
      },
      leave: (workMs) => {
        if (left) return
        left = true
        this.heldBytes -= held
        this.observe(this.heldBytes)
        if (workMs !== undefined && workMs > 0 && held > 0) {
          const rate = held / workMs
          this.bytesPerMs =
            this.bytesPerMs === 0 ? rate : RATE_WEIGHT * rate + (1 - RATE_WEIGHT) * this.bytesPerMs
        }
      },
    }
    place.charge(bytes)
    return place
  }
}

/**
 * For work decoded on the calling thread (logs, mapped webhooks): `queued`, told how long the work took from
 * now, to call once its rows are queued.
 */
export function timedFromNow(queued: (workMs?: number) => void): () => void {
  const started = performance.now()
  return () => queued(performance.now() - started)
}
