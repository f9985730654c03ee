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
