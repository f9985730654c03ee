import { RetryableError } from '../core/errors.ts'

/** Weight of the newest request in the decoding-rate estimate. */
const RATE_WEIGHT = 0.2

/**
 * Refuses a request before its body is read or decoded when the collector could not acknowledge
 * it in time: an exporter whose request waits past its own timeout (10 s by default) sends it again,
 * so holding it only doubles the work. The predicted wait adds up two queues:
 *
 * - the requests already admitted and not yet queued for writing: decoding runs on a few threads
 *   (trace and CloudEvents requests on collector/threads/pool.ts), so a burst of large batches waits there before
 *   any write queue sees it (32 senders × 8,192 spans kept one thread busy for seconds); their bytes
 *   are also bounded outright, which bounds the memory they take;
 * - the write backlog: how long the rows already queued take to write at the rate writes go.
 *
 * The refusal is a 429 with Retry-After (gRPC RESOURCE_EXHAUSTED with RetryInfo), counted in /metrics.
 */
export class Admission {
  private decodingBytes = 0
  /** Bytes the JS thread decodes and queues per ms, 0 until measured. */
  private bytesPerMs = 0

  constructor(
    private readonly maxDecodingBytes: number,
    private readonly maxWaitMs: number,
    /** The longest predicted wait, in ms, of the write queues. */
    private readonly backlogMs: () => number,
    /** Requests decoded at once (decoding threads). */
    private readonly lanes = 1,
  ) {}

  /** How long a request admitted now would wait before its write is done, as far as is known. */
  predictedWaitMs(): number {
    const decoding = this.bytesPerMs > 0 ? this.decodingBytes / (this.bytesPerMs * this.lanes) : 0
    return decoding + this.backlogMs()
  }

  /**
   * Takes a place for a request of `bytes`. The returned function gives it back (once), told how
   * long the request's synchronous work (decode, rows, queueing) took, which tunes the estimate.
   */
  enter(bytes: number): (workMs?: number) => void {
    const wait = this.predictedWaitMs()
    if (wait > this.maxWaitMs)
      throw new RetryableError(
        'queue_full',
        `the collector is ${Math.round(wait / 1000)} s behind; retry shortly`,
        Math.min(30, Math.max(1, Math.ceil(wait / 2000))),
      )
    if (this.decodingBytes > 0 && this.decodingBytes + bytes > this.maxDecodingBytes)
      throw new RetryableError('queue_full', 'the collector is busy with other requests; retry shortly', 1)
    this.decodingBytes += bytes
    let left = false
    return (workMs) => {
      if (left) return
      left = true
      this.decodingBytes -= bytes
      if (workMs !== undefined && workMs > 0) {
        const rate = bytes / workMs
        this.bytesPerMs =
          this.bytesPerMs === 0 ? rate : RATE_WEIGHT * rate + (1 - RATE_WEIGHT) * this.bytesPerMs
      }
    }
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
