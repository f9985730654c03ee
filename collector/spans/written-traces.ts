import type { Logger } from '../../core/logger.ts'
import { readingShared } from '../../core/reading.ts'
import type { Store } from '../../store/client.ts'
import { storedTraceIds, storedTracesHorizon } from '../../store/queries/traces.ts'
import type { CollectorMetrics } from '../metrics.ts'
import { TraceFilter } from './trace-filter.ts'

export interface WrittenTracesOptions {
  /** The filter's size, 2^log2Bits bits (trace-filter.ts). */
  readonly log2Bits?: number
  /** After a failed load, how long before the next try. */
  readonly retryMs?: number
  /** How long one slice of the load may take: a large store's days are read whole. */
  readonly sliceTimeoutSeconds?: number
}

/**
 * A load reads the trace index a slice of ids at a time: ids are lowercase hex, split by their first
 * character; the first slice also takes anything below '1' and the last anything from 'f' on.
 */
const SLICE_STARTS = ['', ...'123456789abcdef']
/** A rebuild runs this long after midnight, so the day has turned in the engine's zone. */
const AFTER_MIDNIGHT_MS = 60_000

/**
 * Which traces can be proved to have no span stored, without asking the store. The store's answer
 * reads a granule in every part of the day's trace index for each trace id, fresh or not, and cost
 * about a fifth of ingest at 64 senders (docs/benchmarks.md); a fresh trace, the common case, is
 * settled here instead, and only a "maybe" (a retry, or about 1% of fresh ids) is still read.
 *
 * Exact only where this process is the store's one writer, as with the embedded engine (a second
 * process cannot open its data). The filter is loaded with every trace id stored from the start of
 * yesterday (`fromNs`) on, and is given every trace this process writes, when its write starts and
 * again when it ends, whatever the outcome; a load's filter also takes the writes in progress when it
 * begins. So a write that lands after the load has read past its trace is in it all the same, and
 * "absent" holds for any span from `fromNs` on; older spans are always looked up. Until the first
 * load ends, every trace is looked up. Rebuilt just after each midnight (the engine's zone), so the
 * filter holds two days at most and the horizon moves on.
 */
export class WrittenTraces {
  private current: { readonly filter: TraceFilter; readonly fromNs: bigint } | undefined
  /** The filter being loaded: given every addition too, swapped in once its load ends. */
  private loading: TraceFilter | undefined
  /** The trace ids of each write in progress, by the write's key set. */
  private readonly inProgress = new Map<object, readonly string[]>()
  private warned: TraceFilter | undefined
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: WrittenTracesOptions = {},
    private readonly metrics?: Pick<CollectorMetrics, 'writtenTraces'>,
  ) {}

  /** Loads the first filter (lookups go to the store until it is ready), then rebuilds it daily. */
  start(): Promise<void> {
    // Its slices are long reads in the background: they take turns with the api's (core/reading.ts).
    return readingShared('background', () => this.rebuild())
  }

  get ready(): boolean {
    return this.current !== undefined
  }

  /** True only if no span of `traceId` from `timeNs` on can be stored. */
  absent(traceId: string, timeNs: bigint): boolean {
    const c = this.current
    return c !== undefined && timeNs >= c.fromNs && !c.filter.mayHold(traceId)
  }

  /** A write of these traces starts; `write` names it for `writeEnded`. */
  writeStarted(write: object, traceIds: Iterable<string>): void {
    const ids = [...traceIds]
    this.inProgress.set(write, ids)
    this.add(ids)
  }

  /** The write has ended, written, failed or written in part: its traces are added again. */
  writeEnded(write: object): void {
    const ids = this.inProgress.get(write)
    if (!ids) return
    this.inProgress.delete(write)
    this.add(ids)
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
  }

  private add(traceIds: readonly string[]): void {
    const { current, loading } = this
    for (const id of traceIds) {
      current?.filter.add(id)
      loading?.add(id)
    }
    if (!current) return
    const { filter } = current
    this.metrics?.writtenTraces.set(filter.size)
    if (filter.size > filter.capacity && this.warned !== filter) this.warnFull(filter)
  }

  private warnFull(filter: TraceFilter): void {
    this.warned = filter
    this.log.warn(
      { traces: filter.size, capacity: filter.capacity },
      'more traces since yesterday than the written-trace filter holds: more exactly-once checks go to the store',
    )
  }

  private async rebuild(): Promise<void> {
    if (this.closed) return
    const filter = new TraceFilter(this.options.log2Bits)
    this.loading = filter
    for (const ids of this.inProgress.values()) for (const id of ids) filter.add(id)
    let nextMs = this.options.retryMs ?? 60_000
    try {
      const { fromNs, day, msToMidnight } = await storedTracesHorizon(this.store)
      const timeoutSeconds = this.options.sliceTimeoutSeconds ?? 300
      for (const [i, low] of SLICE_STARTS.entries()) {
        if (this.closed) return
        const high = SLICE_STARTS[i + 1]
        for (const id of await storedTraceIds(this.store, { day, low, high, timeoutSeconds })) filter.add(id)
      }
      this.current = { filter, fromNs }
      this.metrics?.writtenTraces.set(filter.size)
      if (filter.size > filter.capacity) this.warnFull(filter)
      nextMs = msToMidnight + AFTER_MIDNIGHT_MS
    } catch (err) {
      this.log.warn(
        { err },
        'could not load the written-trace filter; exactly-once checks go to the store meanwhile',
      )
    } finally {
      if (this.loading === filter) this.loading = undefined
    }
    if (!this.closed) {
      this.timer = setTimeout(() => void this.rebuild(), nextMs)
      this.timer.unref()
    }
  }
}
