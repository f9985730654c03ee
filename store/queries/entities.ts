import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** One thing that happened to an entity: a business event, or a trace's spans for one stage. */
export interface EntityRow {
  readonly kind: 'span' | 'event'
  /** Nanoseconds since the epoch. */
  readonly time_ns: string
  readonly name: string
  readonly system: string
  readonly connector: string
  readonly stage: string
  readonly status: string
  readonly location: string
  readonly trace_id: string
  readonly span_id: string
  readonly event_source: string
  readonly event_id: string
  /** The replay that produced the row, or ''. */
  readonly replay_id: string
}

/** Everything indexed about one entity in a time range, oldest first: one primary-key range read. */
export async function entityHistory(
  store: Store,
  type: string,
  id: string,
  from: Date,
  to: Date,
): Promise<EntityRow[]> {
  return store.query<EntityRow>(sql`
    SELECT kind, toString(toUnixTimestamp64Nano(time)) AS time_ns, name, system, connector, stage, status, location,
      trace_id, span_id, event_source, event_id, replay_id
    FROM ${table(TABLES.entityIndex)}
    WHERE entity_type = ${type} AND entity_id = ${id} AND time >= ${from} AND time < ${to}
    ORDER BY time
    LIMIT 5000`)
}

/**
 * The other entities named by the business events in `rows` (a return's order, an order's returns,
 * shipments and SKUs): the events are read back by type, source and id, and their days prune the scan.
 */
export async function linkedEntities(
  store: Store,
  self: { type: string; id: string },
  rows: readonly EntityRow[],
): Promise<Array<{ entity_type: string; entity_id: string }>> {
  const events = rows.filter((r) => r.kind === 'event').slice(0, 500)
  if (events.length === 0) return []
  const types = [...new Set(events.map((r) => r.name))]
  const keys = events.map((r) => `${r.event_source}\u0000${r.event_id}`)
  const days = [
    ...new Set(
      events.map((r) => new Date(Number(BigInt(r.time_ns) / 1_000_000n)).toISOString().slice(0, 10)),
    ),
  ]
  return store.query(sql`
    SELECT DISTINCT e.1 AS entity_type, e.2 AS entity_id
    FROM ${table(TABLES.events)} ARRAY JOIN entities AS e
    WHERE type IN ${types} AND toString(toDate(time)) IN ${days}
      AND concat(source, '\\0', id) IN ${keys}
      AND NOT (e.1 = ${self.type} AND e.2 = ${self.id})
    ORDER BY entity_type, entity_id
    LIMIT 100`)
}
