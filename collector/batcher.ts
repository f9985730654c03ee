import { RetryableError } from '../core/errors.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from '../store/client.ts'
import type { TableName } from '../store/tables.ts'
import type { CollectorMetrics } from './metrics.ts'

export interface BatcherOptions {
  readonly table: TableName
  readonly columns: readonly string[]
  /** Write once this many rows wait… */
  readonly maxRows: number
  /** …or once the oldest has waited this long. */
  readonly maxWaitMs: number
  /** Refuse (429) beyond this many rows queued or in flight: memory stays bounded. */
  readonly maxQueuedRows: number
  /**
   * Runs just before a write, with the batch's keys in order; returns which rows to drop (already
   * stored). Flushes are serial, so it sees everything earlier flushes wrote.
   */
  readonly dropExisting?: (keys: readonly string[]) => Promise<ReadonlySet<string>>
}

export interface WriteOutcome {
  readonly written: number
  readonly duplicates: number
}

interface Pending {
  readonly lines: readonly string[]
  readonly keys?: readonly string[]
  readonly resolve: (o: WriteOutcome) => void
  readonly reject: (e: Error) => void
}

/** After a failed write, refuse new work this long so senders back off instead of piling up. */
const STORE_BACKOFF_MS = 1000

/**
 * Collects rows for one table from many requests into few large inserts (ClickHouse wants big, rare
 * writes) and settles each request's promise only when its rows are written: an acknowledgement
 * always means durable. Writes run one at a time; whatever arrives during a write goes out in the
 * next one right after, so batches grow with load and latency stays near one write.
 */
export class TableBatcher {
  private pending: Pending[] = []
  private pendingRows = 0
  private inFlightRows = 0
  private timer: NodeJS.Timeout | undefined
  private writing = false
  private closed = false
  private unhealthyUntil = 0
  private drained: Array<() => void> = []

  constructor(
    private readonly store: Store,
    private readonly options: BatcherOptions,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {}

  get queuedRows(): number {
    return this.pendingRows + this.inFlightRows
  }

  enqueue(lines: readonly string[], keys?: readonly string[]): Promise<WriteOutcome> {
    if (lines.length === 0) return Promise.resolve({ written: 0, duplicates: 0 })
    if (this.closed)
      throw new RetryableError('shutting_down', 'the collector is shutting down; retry shortly', 5)
    if (Date.now() < this.unhealthyUntil) {
      throw new RetryableError(
        'store_unavailable',
        'the store is failing writes; retry shortly',
        Math.ceil(STORE_BACKOFF_MS / 1000),
      )
    }
    if (this.queuedRows + lines.length > this.options.maxQueuedRows) {
      throw new RetryableError(
        'queue_full',
        `the ${this.options.table} write queue is full; retry shortly`,
        1,
      )
    }
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.pending.push({ lines, keys, resolve, reject })
      this.pendingRows += lines.length
      this.metrics.queued.set({ table: this.options.table }, this.queuedRows)
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.writing) return // the running write picks the queue up when it ends
    if (this.pendingRows >= this.options.maxRows) {
      void this.writeNext()
    } else if (!this.timer && this.pending.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        void this.writeNext()
      }, this.options.maxWaitMs)
    }
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = []
    let rows = 0
    // Whole requests only: a request is acknowledged by exactly one write.
    while (
      this.pending.length > 0 &&
      (batch.length === 0 || rows + (this.pending[0] as Pending).lines.length <= this.options.maxRows)
    ) {
      const p = this.pending.shift() as Pending
      rows += p.lines.length
      batch.push(p)
    }
    this.pendingRows -= rows
    this.inFlightRows = rows
    return batch
  }

  private async writeNext(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.writing || this.pending.length === 0) return this.notifyIfDrained()
    this.writing = true
    const batch = this.takeBatch()
    const { table } = this.options
    const stopTimer = this.metrics.flushLatency.startTimer({ table })
    try {
      const outcomes = await this.write(batch)
      for (const [i, p] of batch.entries()) p.resolve(outcomes[i] as WriteOutcome)
      stopTimer()
    } catch (err) {
      this.unhealthyUntil = Date.now() + STORE_BACKOFF_MS
      this.metrics.flushFailures.inc({ table })
      this.log.error({ err, table, rows: this.inFlightRows }, 'write to store failed; senders will retry')
      const retry = new RetryableError(
        'store_unavailable',
        'the store did not accept the write; retry shortly',
        1,
      )
      for (const p of batch) p.reject(retry)
    } finally {
      this.inFlightRows = 0
      this.writing = false
      this.metrics.queued.set({ table }, this.queuedRows)
    }
    // Rows that arrived during the write have already waited: send them now.
    if (this.pending.length > 0) void this.writeNext()
    else this.notifyIfDrained()
  }

  private async write(batch: Pending[]): Promise<WriteOutcome[]> {
    let existing: ReadonlySet<string> = new Set()
    if (this.options.dropExisting) {
      existing = await this.options.dropExisting(batch.flatMap((p) => p.keys ?? []))
    }
    const seen = new Set<string>()
    const outcomes: WriteOutcome[] = []
    // One text chunk per request: the store streams them without joining the whole batch.
    const chunks: string[] = []
    let rows = 0
    for (const p of batch) {
      const kept = p.keys
        ? p.lines.filter((_, i) => this.isNew(p.keys?.[i] as string, existing, seen))
        : p.lines
      if (kept.length > 0) chunks.push(`${kept.join('\n')}\n`)
      rows += kept.length
      outcomes.push({ written: kept.length, duplicates: p.lines.length - kept.length })
    }
    if (chunks.length > 0) await this.store.insertRows(this.options.table, this.options.columns, chunks)
    this.metrics.flushed.inc({ table: this.options.table }, rows)
    return outcomes
  }

  /** First sighting of a key in this batch, and not already stored. */
  private isNew(key: string, existing: ReadonlySet<string>, seen: Set<string>): boolean {
    if (existing.has(key) || seen.has(key)) return false
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
