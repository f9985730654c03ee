import type { Logger } from '../../core/logger.ts'
import type { Store } from '../../store/client.ts'
import { TABLES } from '../../store/tables.ts'
import type { SpanResource } from './resources.ts'

const COLUMNS = ['resource_id', 'service_name', 'attributes', 'seen'] as const

export interface ResourceWriterOptions {
  /** A resource still seen is written again after this long, so it never expires before its spans. */
  readonly refreshMs?: number
  /** Resources remembered as written; the oldest are forgotten (and written again when seen). */
  readonly maxKnown?: number
  readonly now?: () => number
  /** Where a failed write is told, once for all the requests it fails. */
  readonly log?: Logger
}

/**
 * Stores the resources that span blocks refer to (collector/spans/resources.ts), before the blocks:
 * a span is never readable without its resource. A resource is written the first time this process
 * sees it and again every `refreshMs` while it is seen, so in the steady state a request costs a map
 * lookup a resource and no write. Requests that bring the same new resource at once share its write.
 * A failed write fails those requests (the caller answers 503) and is tried again by the next one.
 */
export class ResourceWriter {
  private readonly written = new Map<string, number>()
  private readonly writing = new Map<string, Promise<void>>()
  private readonly refreshMs: number
  private readonly maxKnown: number
  private readonly now: () => number
  private readonly log?: Logger

  constructor(
    private readonly db: Store,
    options: ResourceWriterOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 3_600_000
    this.maxKnown = options.maxKnown ?? 100_000
    this.now = options.now ?? Date.now
    this.log = options.log
  }

  /** Resolves once every one of `resources` is stored; undefined when all were already. */
  stored(resources: readonly SpanResource[]): Promise<void> | undefined {
    const now = this.now()
    const waits: Promise<void>[] = []
    const fresh: SpanResource[] = []
    for (const r of resources) {
      const pending = this.writing.get(r.id)
      if (pending) waits.push(pending)
      else if (now - (this.written.get(r.id) ?? Number.NEGATIVE_INFINITY) >= this.refreshMs) fresh.push(r)
    }
    if (fresh.length > 0) waits.push(this.write(fresh, now))
    if (waits.length === 0) return undefined
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {})
  }

  private write(resources: readonly SpanResource[], now: number): Promise<void> {
    const seen = Math.floor(now / 1000)
    const lines = resources.map((r) => JSON.stringify([r.id, r.serviceName, r.attributes, seen]))
    // On a cluster a resource and its spans are on different shards: wait until it is on its own.
    const done = this.db.insertRows(TABLES.spanResources, COLUMNS, [`${lines.join('\n')}\n`], {
      reachShards: true,
    })
    const ids = resources.map((r) => r.id)
    for (const id of ids) this.writing.set(id, done)
    const settle = () => {
      for (const id of ids) this.writing.delete(id)
    }
    done.then(
      () => {
        settle()
        for (const id of ids) this.remember(id, now)
      },
      (err) => {
        settle()
        this.log?.error(
          { err, table: TABLES.spanResources, resources: ids.length },
          'write to store failed; senders will retry',
        )
      },
    )
    return done
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
