import type { Logger } from '../../core/logger.ts'
import type { Store } from '../../store/client.ts'
import { storedTraceIds, storedTracesHorizon } from '../../store/queries/traces.ts'
import type { CollectorMetrics } from '../metrics.ts'
import { TraceFilter } from './trace-filter.ts'

export interface WrittenTracesOptions {
  /** The filter's size, 2^log2Bits bits (trace-filter.ts). */
  readonly log2Bits?: number
  /** How often the filter is built afresh, so its horizon moves on with the days. */
  readonly rebuildEveryMs?: number
  /** After a failed load, how long before the next try. */
  readonly retryMs?: number
}

const DAY_MS = 86_400_000
/**
 * A load reads the trace index a slice of ids at a time: ids are lowercase hex, split by their first
 * character; the first slice also takes anything below '1' and the last anything from 'f' on.
 */
const SLICE_STARTS = ['', ...'123456789abcdef']

/**
 * Which traces can be proved to have no span stored, without asking the store. The store's answer
 * reads a granule in every part of the day's trace index for each trace id, fresh or not, and cost a
 * quarter of ingest at 64 senders (docs/benchmarks.md); a fresh trace, the common case, is settled
 * here instead, and only a "maybe" (a retry, or about 1% of fresh ids) is still read.
 *
 * Exact only where this process is the store's one writer, as with the embedded engine (a second
 * process cannot open its data). The filter is loaded with every trace id stored from the start of
 * yesterday (`fromNs`) on, and is given every trace this process writes, before its write and again
 * after it: a write that a load reads past before it lands is added after it, once the load's filter
 * takes additions. So "absent" holds for any span from `fromNs` on; older spans are always looked up.
 * Until the first load ends, every trace is looked up. Rebuilt daily, so the horizon moves on and old
 * traces leave the filter.
 */
export class WrittenTraces {
  private current: { readonly filter: TraceFilter; readonly fromNs: bigint } | undefined
  /** The filter being loaded: given every addition too, swapped in once its load ends. */
  private loading: TraceFilter | undefined
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: WrittenTracesOptions = {},
    private readonly metrics?: Pick<CollectorMetrics, 'writtenTraces'>,
  ) {}

  /** Loads the first filter in the background; lookups go to the store until it is ready. */
  start(): Promise<void> {
    return this.rebuild()
  }

  get ready(): boolean {
    return this.current !== undefined
  }

  /** True only if no span of `traceId` from `timeNs` on can be stored. */
  absent(traceId: string, timeNs: bigint): boolean {
    const c = this.current
    return c !== undefined && timeNs >= c.fromNs && !c.filter.mayHold(traceId)
  }

  /** Traces about to be written, or just written. */
  add(traceIds: Iterable<string>): void {
    const { current, loading } = this
    for (const id of traceIds) {
      current?.filter.add(id)
      loading?.add(id)
    }
    if (current) this.metrics?.writtenTraces.set(current.filter.size)
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
  }

  private async rebuild(): Promise<void> {
    if (this.closed) return
    const filter = new TraceFilter(this.options.log2Bits)
    this.loading = filter
    let next = this.options.rebuildEveryMs ?? DAY_MS
    try {
      const { fromNs, day } = await storedTracesHorizon(this.store)
      for (const [i, low] of SLICE_STARTS.entries()) {
        if (this.closed) return
        for (const id of await storedTraceIds(this.store, day, low, SLICE_STARTS[i + 1])) filter.add(id)
      }
      this.current = { filter, fromNs }
      this.metrics?.writtenTraces.set(filter.size)
      if (filter.size > filter.capacity)
        this.log.warn(
          { traces: filter.size, capacity: filter.capacity },
          'more traces since yesterday than the written-trace filter holds: more exactly-once checks go to the store',
        )
    } catch (err) {
      next = this.options.retryMs ?? 60_000
      this.log.warn(
        { err },
        'could not load the written-trace filter; exactly-once checks go to the store meanwhile',
      )
    } finally {
      if (this.loading === filter) this.loading = undefined
    }
    if (!this.closed) {
      this.timer = setTimeout(() => void this.rebuild(), next)
      this.timer.unref()
    }
  }
}
