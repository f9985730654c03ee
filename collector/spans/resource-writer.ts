import type { Store } from '../../store/client.ts'
import { TABLES } from '../../store/tables.ts'
import type { CollectorMetrics } from '../metrics.ts'
import type { SpanResource } from './resources.ts'

const COLUMNS = ['resource_id', 'service_name', 'attributes', 'seen'] as const

export interface ResourceWriterOptions {
  /** A resource still seen is written again after this long, so it never expires before its spans. */
  readonly refreshMs?: number
  /** Resources remembered as written; the oldest are forgotten (and written again when seen). */
  readonly maxKnown?: number
  readonly now?: () => number
  /** Where its writes are counted and timed, beside the batchers'. */
  readonly metrics?: CollectorMetrics
}

/**
 * Stores the resources that span blocks refer to (collector/spans/resources.ts). The spans' batcher
 * calls it with the resources of a whole write just before writing its spans (TableBatcher's
 * `writeFirst`): a span is never readable without its resource, and a sender whose every request
 * brings a new resource (short-lived workers) costs one insert a write, not one a request. A resource
 * is written the first time this process sees it and again every `refreshMs` while it is seen, so in
 * the steady state a write costs a map lookup a resource and no insert. A failed insert fails the
 * write, whose senders are told to retry; nothing is remembered from it.
 */
export class ResourceWriter {
  private readonly written = new Map<string, number>()
  private readonly refreshMs: number
  private readonly maxKnown: number
  private readonly now: () => number
  private readonly metrics?: CollectorMetrics

  constructor(
    private readonly db: Store,
    options: ResourceWriterOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 3_600_000
    this.maxKnown = options.maxKnown ?? 100_000
    this.now = options.now ?? Date.now
    this.metrics = options.metrics
  }

  /** Resolves once every one of `resources` is stored, in one insert of those not already. */
  async store(resources: Iterable<SpanResource>): Promise<void> {
    const now = this.now()
    const due = new Map<string, SpanResource>()
    for (const r of resources)
      if (!due.has(r.id) && now - (this.written.get(r.id) ?? Number.NEGATIVE_INFINITY) >= this.refreshMs)
        due.set(r.id, r)
    if (due.size === 0) return
    const seen = Math.floor(now / 1000)
    const lines = [...due.values()].map((r) => JSON.stringify([r.id, r.serviceName, r.attributes, seen]))
    const started = performance.now()
    // On a cluster a resource and its spans are on different shards: wait until it is on its own.
    try {
      await this.db.insertRows(TABLES.spanResources, COLUMNS, [`${lines.join('\n')}\n`], {
        reachShards: true,
      })
    } catch (err) {
      // The write it precedes fails with it and is counted for spans; this says which table failed.
      this.metrics?.flushFailures.inc({ table: TABLES.spanResources })
      throw err
    }
    this.metrics?.flushLatency.observe({ table: TABLES.spanResources }, (performance.now() - started) / 1000)
    this.metrics?.flushed.inc({ table: TABLES.spanResources }, due.size)
    for (const id of due.keys()) this.remember(id, now)
  }

  private remember(id: string, at: number): void {
    this.written.delete(id) // re-inserted last: the map's order is the order of writes
    this.written.set(id, at)
    if (this.written.size > this.maxKnown) {
      const oldest = this.written.keys().next().value
      if (oldest !== undefined) this.written.delete(oldest)
    }
  }
}
