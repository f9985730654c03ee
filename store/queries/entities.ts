import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { CHANNEL } from './flow-stages.ts'

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

/** The connectors whose spans named the entity: those that have handled it. */
export async function entityConnectors(store: Store, type: string, id: string): Promise<string[]> {
  const rows = await store.query<{ connector: string }>(sql`
    SELECT DISTINCT connector FROM ${table(TABLES.entityIndex)}
    WHERE entity_type = ${type} AND entity_id = ${id} AND kind = 'span' AND connector != ''
    LIMIT 100`)
  return rows.map((r) => r.connector)
}

/** The other entities the entity's business events name (a return's order, an order's returns and SKUs). */
export function linkedEntities(self: { type: string; id: string }, rows: readonly EntityRow[]) {
  const seen = new Map<string, { type: string; id: string }>()
  for (const r of rows)
    for (const [type, id] of r.related ?? [])
      if (!(type === self.type && id === self.id)) seen.set(`${type}\u0000${id}`, { type, id })
  return [...seen.values()].sort((a, b) => a.type.localeCompare(b.type) || a.id.localeCompare(b.id))
}

export interface EntitySystems {
  /** Every system that touched the entity, and the last one. */
  readonly systems: readonly string[]
  readonly lastSystem: string
}

/** The systems a few entities of one type met (a stuck list's rows): a primary-key read of the index. */
export async function entitySystems(
  store: Store,
  entityType: string,
  ids: readonly string[],
): Promise<Map<string, EntitySystems>> {
  if (ids.length === 0) return new Map()
  const rows = await store.query<{ id: string; systems: string[]; last_system: string }>(sql`
    SELECT entity_id AS id, groupUniqArray(system) AS systems, argMax(system, time) AS last_system
    FROM ${table(TABLES.entityIndex)}
    WHERE entity_type = ${entityType} AND entity_id IN ${[...ids]} AND system != ''
    GROUP BY id`)
  const found = new Map(rows.map((r) => [r.id, r]))
  return new Map(
    ids.map((id) => [
      id,
      { systems: [...(found.get(id)?.systems ?? [])].sort(), lastSystem: found.get(id)?.last_system ?? '' },
    ]),
  )
}

/** Of these entities of one type, those one of `systems` touched in the range: one read of the index. */
export async function entitiesTouchedBy(
  store: Store,
  type: string,
  ids: readonly string[],
  systems: readonly string[],
  range: { from: Date; to: Date },
): Promise<Set<string>> {
  if (ids.length === 0 || systems.length === 0) return new Set()
  const rows = await store.query<{ id: string }>(sql`
    SELECT DISTINCT entity_id AS id FROM ${table(TABLES.entityIndex)}
    WHERE entity_type = ${type} AND entity_id IN ${[...ids]} AND time >= ${range.from} AND time < ${range.to}
      AND system IN ${[...systems]}`)
  return new Set(rows.map((r) => r.id))
}

/**
 * The channel each of these entities came in through: that of the event that started its flow (one
 * of `entryTypes`, with the entity as subject; see CHANNEL). An entity without one is left out.
 */
export async function entityChannels(
  store: Store,
  entryTypes: readonly string[],
  ids: readonly string[],
  range: { from: Date; to: Date },
): Promise<Map<string, string>> {
  if (ids.length === 0 || entryTypes.length === 0) return new Map()
  const rows = await store.query<{ id: string; channel: string }>(sql`
    SELECT subject AS id, any(${CHANNEL}) AS channel FROM ${table(TABLES.events)}
    WHERE type IN ${[...entryTypes]} AND subject IN ${[...ids]} AND time >= ${range.from} AND time < ${range.to}
    GROUP BY subject`)
  return new Map(rows.map((r) => [r.id, r.channel]))
}
