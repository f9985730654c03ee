import { BadRequestError, PayloadTooLargeError, RetryableError } from '../core/errors.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'
import { isDataError } from '../store/errors.ts'
import type { TableName } from '../store/tables.ts'
import type { CollectorMetrics } from './metrics.ts'
import type { RowFormat } from './row-format.ts'
import type { RowKey, StoredKeyLookup, StoredKeys } from './stored-keys.ts'

export interface BatcherOptions<P, D = never> {
  readonly table: TableName
  readonly columns: readonly string[]
  /** How a request's rows wait and are written (collector/row-format.ts). */
  readonly format: RowFormat<P>
  /** Write once this many rows wait… */
  readonly maxRows: number
  /** …or once the oldest has waited this long. */
  readonly maxWaitMs: number
  /** Refuse (429) beyond this many rows queued or in flight… */
  readonly maxQueuedRows: number
  /** …or this many bytes of payload: memory stays bounded whatever the row size. */
  readonly maxQueuedBytes: number
  /**
   * Refuse (429) a request that would wait longer than this for its write, at the rate writes are
   * going: better a retry now than an acknowledgement after the sender's own timeout.
   */
  readonly maxAckWaitMs: number
  /**
   * Exactly-once: which of a request's keys are already stored, looked up when it is queued. Rows
   * whose key is stored, or repeated earlier in the batch, are not written.
   */
  readonly storedKeys?: StoredKeyLookup
  /**
   * Writes what the requests' rows refer to in other tables (a span's resource), given with
   * `enqueue`, just before the rows: one call a write for every request in it that has rows to write.
   * Its failure is the write's.
   */
  readonly writeFirst?: (needs: readonly D[]) => Promise<void>
  /** Bytes a request's `needs` hold while it waits, counted with its payload toward `maxQueuedBytes`. */
  readonly needsSize?: (needs: D) => number
}

export interface WriteOutcome {
  readonly written: number
  readonly duplicates: number
  /** Which of the request's rows (by index) were duplicates, when any were. */
  readonly duplicateRows?: readonly number[]
}

interface Pending<P, D> {
  /** The request's rows, in the table's format. */
  readonly payload: P
  readonly rows: number
  /** What its rows refer to, for `writeFirst`. */
  readonly needs?: D
  readonly keys?: readonly RowKey[]
  /** The lookup of `keys`, running while the request waits. */
  readonly stored?: Promise<StoredKeys>
  readonly bytes: number
  readonly resolve: (o: WriteOutcome) => void
  readonly reject: (e: Error) => void
}

/** After the store fails a write, refuse new work this long so senders back off instead of piling up. */
const STORE_BACKOFF_MS = 1000
/**
 * The write rate assumed before any write is measured. A cold engine's first writes are its slowest
 * (32 senders of 8,192 spans filled the queue with 13 s of work before the first write ended), so
 * little is admitted until the rate is known.
 */
const INITIAL_ROWS_PER_SECOND = 10_000
/**
 * After a write of fewer rows than this, the next one waits for the senders it acknowledged. Below
 * it an insert's time is mostly its fixed cost (views, parts); above it, waiting only adds latency.
 */
const GATHER_UP_TO_ROWS = 8192
/** The longest a write waits for them; never longer than the write before it took either. */
const GATHER_MAX_MS = 150
/** Weight of the newest write in the rows-per-second estimate the wait is predicted from. */
const RATE_WEIGHT = 0.3

/**
 * Claims a request's keys for this batch (adds them to `seen`) when none is already stored, earlier
 * in the batch or twice in the request — the common case, one set insert a row. Otherwise leaves
 * `seen` as it was and says no: the request then goes row by row.
 */
function claimAll(keys: readonly RowKey[], stored: StoredKeys, seen: Set<string>): boolean {
  for (let i = 0; i < keys.length; i++) {
    const { id } = keys[i] as RowKey
    if (stored.has(id) || seen.has(id)) {
      for (let j = 0; j < i; j++) seen.delete((keys[j] as RowKey).id)
      return false
    }
    seen.add(id)
  }
  return true
}

/**
 * Collects rows for one table from many requests into few large inserts (ClickHouse wants big, rare
 * writes) and settles each request's promise only when its rows are written: an acknowledgement
 * always means durable. Writes run one at a time; whatever arrives during a write goes out in the
 * next one right after, so batches grow with load and latency stays near one write.
 *
 * A request is judged alone: when the store refuses a batch for its data, the batch is split until
 * the request(s) responsible are found; they get 400, the rest are written. Only a store that fails
 * whatever it is sent makes every sender retry (503).
 */
export class TableBatcher<P, D = never> {
  private pending: Array<Pending<P, D>> = []
  private pendingRows = 0
  private pendingBytes = 0
  private inFlightRows = 0
  private inFlightBytes = 0
  private timer: NodeJS.Timeout | undefined
  private writing = false
  private closed = false
  private unhealthyUntil = 0
  /** Rows per second the store has been writing; a cautious guess until the first writes say. */
  private rowsPerSecond = INITIAL_ROWS_PER_SECOND
  /** When the write that is next began to be due, if rows were already waiting then. */
  private backToBackSince: number | undefined
  /** After a small write: write again once this many rows wait (its senders back) or at `until`. */
  private gather: { rows: number; until: number } | undefined
  /** Gathers in a row that ended on their time, not their count, and the writes to skip for it. */
  private gatherMisses = 0
  private gathersToSkip = 0
  private drained: Array<() => void> = []

  constructor(
    private readonly store: Store,
    private readonly options: BatcherOptions<P, D>,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {}

  get queuedRows(): number {
    return this.pendingRows + this.inFlightRows
  }

  /** How long the rows queued now would take to write, at the rate full writes have been going. */
  get backlogMs(): number {
    return (this.queuedRows / this.rowsPerSecond) * 1000
  }

  get queuedBytes(): number {
    return this.pendingBytes + this.inFlightBytes
  }

  /**
   * Queues a request's `rows` rows; `keys`, when given, are theirs in order, and `needs` what they
   * refer to (written first, by `writeFirst`).
   */
  enqueue(payload: P, rows: number, keys?: readonly RowKey[], needs?: D): Promise<WriteOutcome> {
    if (rows === 0) return Promise.resolve({ written: 0, duplicates: 0 })
    const { format, needsSize, table, maxQueuedRows, maxQueuedBytes } = this.options
    const bytes = format.size(payload) + (needs !== undefined && needsSize ? needsSize(needs) : 0)
    // Larger than the queue itself: no retry could ever be queued, so it is not worth one (413).
    if (rows > maxQueuedRows)
      throw new PayloadTooLargeError(
        maxQueuedRows,
        `the request holds ${rows} ${table} rows and the write queue at most ${maxQueuedRows} (SIGNALBOX_QUEUE_MAX_ROWS): send smaller batches`,
      )
    if (bytes > maxQueuedBytes)
      throw new PayloadTooLargeError(
        maxQueuedBytes,
        `the request's ${table} rows take ${bytes} bytes and the write queue at most ${maxQueuedBytes} (SIGNALBOX_QUEUE_MAX_BYTES): send smaller batches`,
      )
    this.admit(rows)
    if (this.queuedBytes + bytes > this.options.maxQueuedBytes)
      throw new RetryableError(
        'queue_full',
        `the ${this.options.table} write queue is full; retry shortly`,
        1,
      )
    const stored = keys && this.options.storedKeys?.lookup(keys)
    // Awaited at write time; a failed lookup fails that write (503), never the process.
    stored?.catch(() => {})
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.pending.push({ payload, rows, needs, keys, stored, bytes, resolve, reject })
      this.pendingRows += rows
      this.pendingBytes += bytes
      this.metrics.queued.set({ table: this.options.table }, this.queuedRows)
      this.schedule()
    })
  }

  /** Refuses up front, before the sender's rows take memory, whatever cannot be written in time. */
  private admit(rows: number): void {
    const { table, maxQueuedRows, maxAckWaitMs } = this.options
    if (this.closed)
      throw new RetryableError('shutting_down', 'the collector is shutting down; retry shortly', 5)
    if (Date.now() < this.unhealthyUntil)
      throw new RetryableError('store_unavailable', 'the store is failing writes; retry shortly', 1)
    if (this.queuedRows + rows > maxQueuedRows)
      throw new RetryableError('queue_full', `the ${table} write queue is full; retry shortly`, 1)
    // A request that joins the next write is never refused for its wait: that write goes out after
    // the one in flight whatever is refused, so a refusal would only cost its sender a retry.
    if (this.pendingRows + rows <= this.options.maxRows) return
    const waitMs = ((this.queuedRows + rows) / this.rowsPerSecond) * 1000
    if (this.queuedRows > 0 && waitMs > maxAckWaitMs)
      throw new RetryableError(
        'queue_full',
        `the ${table} writes are ${Math.round(waitMs / 1000)} s behind; retry shortly`,
        Math.min(30, Math.max(1, Math.ceil(waitMs / 2000))),
      )
  }

  private schedule(): void {
    if (this.writing) return // the running write picks the queue up when it ends
    const now = performance.now()
    const gather = this.gather && now < this.gather.until ? this.gather : undefined
    if (gather && this.pendingRows >= gather.rows) this.gatherMisses = 0
    if (this.pendingRows >= (gather?.rows ?? this.options.maxRows)) {
      void this.writeNext()
    } else if (!this.timer && this.pending.length > 0) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined
          if (this.gather) this.missedGather()
          void this.writeNext()
        },
        gather ? gather.until - now : this.options.maxWaitMs,
      )
    }
  }

  private takeBatch(): Array<Pending<P, D>> {
    const batch: Array<Pending<P, D>> = []
    let rows = 0
    let bytes = 0
    // Whole requests only: a request is acknowledged by exactly one write.
    while (
      this.pending.length > 0 &&
      (batch.length === 0 || rows + (this.pending[0] as Pending<P, D>).rows <= this.options.maxRows)
    ) {
      const p = this.pending.shift() as Pending<P, D>
      rows += p.rows
      bytes += p.bytes
      batch.push(p)
    }
    this.pendingRows -= rows
    this.pendingBytes -= bytes
    this.inFlightRows = rows
    this.inFlightBytes = bytes
    return batch
  }

  private async writeNext(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    this.gather = undefined
    if (this.writing || this.pending.length === 0) return this.notifyIfDrained()
    this.writing = true
    const batch = this.takeBatch()
    const { table } = this.options
    const started = performance.now()
    // The queue drains at rows per second of wall time, gaps between back-to-back writes included
    // (the JS thread may be busy decoding when a write ends): that is what a waiting request sees.
    const since = this.backToBackSince ?? started
    let wrote = 0
    let tookMs = 0
    try {
      const stored = await this.settle(batch)
      for (const p of batch)
        p.stored?.then(
          (s) => s.release(),
          () => {},
        )
      const ended = performance.now()
      this.metrics.flushLatency.observe({ table }, (ended - started) / 1000)
      // A failed write says nothing of the store's pace, nor of when its senders come back.
      if (stored) {
        wrote = this.inFlightRows
        tookMs = ended - started
        const rate = (this.inFlightRows * 1000) / Math.max(ended - since, 1)
        // A small write's rate is mostly its fixed cost and says little of what a full one does; the
        // rate only judges backlogs of full writes, so a write counts as much as it was full.
        const weight = RATE_WEIGHT * Math.min(1, this.inFlightRows / this.options.maxRows)
        this.rowsPerSecond = weight * rate + (1 - weight) * this.rowsPerSecond
      }
    } finally {
      this.inFlightRows = 0
      this.inFlightBytes = 0
      this.writing = false
      this.metrics.queued.set({ table }, this.queuedRows)
    }
    this.startGather(wrote, tookMs)
    // A wait chosen for the senders to come back is not the store's pace: the rate leaves it out.
    this.backToBackSince = this.pending.length > 0 && !this.gather ? performance.now() : undefined
    if (this.pending.length === 0) return this.notifyIfDrained()
    // Rows that arrived during the write have already waited: send them now, or once the senders
    // this write acknowledged are back.
    if (this.gather) this.schedule()
    else void this.writeNext()
  }

  /**
   * Closed-loop senders (an exporter sends its next batch once the last is acknowledged) otherwise
   * split into two groups that take turns: those a write acknowledged come back while the next write,
   * of those that waited, is already running. Eight senders of 512 spans then made writes of 2,000
   * rows, each paying an insert's fixed cost; waiting for them made writes of 4,000 and 8 × 512 about
   * a quarter faster (docs/benchmarks.md). The wait ends as soon as they are all back. Senders that
   * do not wait for their acknowledgement never all come back: a wait that ends on its time skips
   * the next 1, 3, 7, then 15 writes' waits, so such traffic pays it rarely.
   */
  private startGather(wrote: number, tookMs: number): void {
    const ms = Math.min(GATHER_MAX_MS, tookMs)
    if (this.closed || wrote === 0 || wrote >= GATHER_UP_TO_ROWS || ms < 1) return
    if (this.pendingRows >= GATHER_UP_TO_ROWS) return
    if (this.gathersToSkip > 0) {
      this.gathersToSkip--
      return
    }
    this.gather = {
      rows: Math.min(this.options.maxRows, GATHER_UP_TO_ROWS, this.pendingRows + wrote),
      until: performance.now() + ms,
    }
  }

  private missedGather(): void {
    this.gatherMisses = Math.min(this.gatherMisses + 1, 4)
    this.gathersToSkip = 2 ** this.gatherMisses - 1
  }

  /**
   * Writes a batch and settles every request in it; on a refusal for data, splits to find whose.
   * False when the store failed the write (its senders told to retry).
   */
  private async settle(batch: Array<Pending<P, D>>): Promise<boolean> {
    const { table } = this.options
    try {
      const outcomes = await this.write(batch)
      for (const [i, p] of batch.entries()) p.resolve(outcomes[i] as WriteOutcome)
      return true
    } catch (err) {
      if (!isDataError(err)) {
        this.unhealthyUntil = Date.now() + STORE_BACKOFF_MS
        this.metrics.flushFailures.inc({ table })
        this.log.error({ err, table, requests: batch.length }, 'write to store failed; senders will retry')
        const retry = new RetryableError(
          'store_unavailable',
          'the store did not accept the write; retry shortly',
          1,
        )
        for (const p of batch) p.reject(retry)
        return false
      }
      if (batch.length === 1) {
        this.metrics.dataRefusals.inc({ table })
        // The engine's words are about the sender's own rows; they say which value it could not take.
        const why = String((err as Error).message)
          .split('\n')[0]
          ?.slice(0, 300)
        ;(batch[0] as Pending<P, D>).reject(
          new BadRequestError('refused_by_store', `the store could not take this request's data: ${why}`),
        )
        return true
      }
      // Parse errors refuse the whole insert before anything is written; halves go out again.
      const half = Math.ceil(batch.length / 2)
      const first = await this.settle(batch.slice(0, half))
      const second = await this.settle(batch.slice(half))
      return first && second
    }
  }

  private async write(batch: Array<Pending<P, D>>): Promise<WriteOutcome[]> {
    const lookups = await Promise.all(batch.map((p) => p.stored))
    const seen = new Set<string>()
    const outcomes: WriteOutcome[] = []
    // One payload per request: the store writes them out one after another, never joined.
    const payloads: P[] = []
    const needs: D[] = []
    let rows = 0
    for (const [n, p] of batch.entries()) {
      const keys = p.keys
      const stored = lookups[n]
      let kept = p.payload
      let written = p.rows
      let duplicateRows: number[] | undefined
      if (keys && stored && !claimAll(keys, stored, seen)) {
        // A retry: drop its rows already stored.
        written = 0
        duplicateRows = []
        const dropped = duplicateRows
        kept = this.options.format.keep(p.payload, (i) => {
          const fresh = this.isNew((keys[i] as RowKey).id, stored, seen)
          if (fresh) written++
          else dropped.push(i)
          return fresh
        })
      }
      if (written > 0) {
        payloads.push(kept)
        if (p.needs !== undefined) needs.push(p.needs)
      }
      rows += written
      outcomes.push({ written, duplicates: p.rows - written, duplicateRows })
    }
    const { table, columns, format, writeFirst, storedKeys } = this.options
    storedKeys?.writeStarted(seen)
    try {
      if (writeFirst && needs.length > 0) await writeFirst(needs)
      if (payloads.length > 0) await format.insert(this.store, table, columns, payloads)
    } finally {
      // Landed, or failed and maybe written in part: see collector/spans/written-traces.ts.
      storedKeys?.writeEnded(seen)
    }
    storedKeys?.recordWritten(seen)
    this.metrics.flushed.inc({ table: this.options.table }, rows)
    return outcomes
  }

  /** First sighting of a key in this batch, and not already stored. */
  private isNew(key: string, stored: StoredKeys, seen: Set<string>): boolean {
    if (stored.has(key) || seen.has(key)) return false
    seen.add(key)
    return true
  }

  private notifyIfDrained(): void {
    if (this.pending.length === 0 && !this.writing) for (const done of this.drained.splice(0)) done()
  }

  /** Stops taking work and writes everything queued. */
  async close(): Promise<void> {
    this.closed = true
    if (this.pending.length === 0 && !this.writing) return
    const drained = new Promise<void>((resolve) => this.drained.push(resolve))
    void this.writeNext()
    await drained
  }
}
