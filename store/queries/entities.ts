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
  /** For an event: every entity it names (migration 11; empty for older rows). */
  readonly related?: ReadonlyArray<readonly [string, string]>
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
      trace_id, span_id, event_source, event_id, replay_id, related
    FROM ${table(TABLES.entityIndex)}
    WHERE entity_type = ${type} AND entity_id = ${id} AND time >= ${from} AND time < ${to}
    ORDER BY time
    LIMIT 5000`)
}

/** The other entities the entity's business events name (a return's order, an order's returns and SKUs). */
export function linkedEntities(self: { type: string; id: string }, rows: readonly EntityRow[]) {
  const seen = new Map<string, { type: string; id: string }>()
  for (const r of rows)
    for (const [type, id] of r.related ?? [])
      if (!(type === self.type && id === self.id)) seen.set(`${type}\u0000${id}`, { type, id })
  return [...seen.values()].sort((a, b) => a.type.localeCompare(b.type) || a.id.localeCompare(b.id))
}
