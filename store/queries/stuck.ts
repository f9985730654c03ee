import type { Store } from '../client.ts'
import { join, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { CHANNEL } from './flow-metrics.ts'
import { entityStages, type FlowShape } from './flow-stages.ts'

export interface StuckQuery {
  readonly flow: FlowShape
  /** Per stage, the longest expected wait after the stage before it, in ms (0: no limit). */
  readonly maxDelayMs: readonly number[]
  readonly since: Date
  /** Where the read ends: a little after now, for producers whose clocks run ahead. */
  readonly until: Date
  readonly now: Date
  readonly limit: number
  /** Only entities that entered the flow through one of these channels. */
  readonly channels?: readonly string[]
  /** Only entities that one of these systems touched. */
  readonly systems?: readonly string[]
  /** Only entities overdue at this stage (1-based position in the flow). */
  readonly overdueStage?: number
}

export interface StuckRow {
  readonly entity_id: string
  /** 1-based index of the last stage reached. */
  readonly last_stage: string
  readonly last_at_ms: string
  readonly overdue_ms: string
}

/**
 * Entities whose next stage is overdue by the flow's limit and that reached no terminal stage, most
 * overdue first — read from the per-entity progress table, not from the events.
 */
export async function stuckEntities(store: Store, q: StuckQuery): Promise<StuckRow[]> {
  const now = q.now.getTime()
  const limits = typed(q.maxDelayMs, 'Array(Int64)')
  const filters = [sql`1`]
  if (q.overdueStage !== undefined) filters.push(sql`last_stage + 1 = ${q.overdueStage}`)
  if (q.channels)
    filters.push(sql`entity_id IN (
      SELECT subject FROM ${table(TABLES.events)}
      WHERE type IN ${[...(q.flow.stageEvents[0] ?? [])]} AND time >= ${q.since} AND time < ${q.until}
        AND ${CHANNEL} IN ${[...q.channels]})`)
  if (q.systems)
    filters.push(sql`entity_id IN (
      SELECT entity_id FROM ${table(TABLES.entityIndex)}
      WHERE entity_type = ${q.flow.entityType} AND time >= ${q.since} AND time < ${q.until}
        AND system IN ${[...q.systems]})`)
  return store.query<StuckRow>(sql`
    SELECT entity_id, last_stage, ts[last_stage] AS last_at_ms,
      ${now} - last_at_ms - arrayElement(${limits}, last_stage + 1) AS overdue_ms
    FROM (${entityStages(q.flow, q.since, q.until)})
    WHERE terminated = 0 AND last_stage > 0 AND last_stage < ${q.flow.stageEvents.length}
      AND arrayElement(${limits}, last_stage + 1) > 0 AND overdue_ms > 0 AND ${join(filters, ' AND ')}
    ORDER BY overdue_ms DESC
    LIMIT ${q.limit}`)
}

export interface EntityContext {
  readonly channel: string
  /** Every system that touched the entity, and the last one. */
  readonly systems: readonly string[]
  readonly lastSystem: string
}

/**
 * The channel and systems of a few entities of a flow (a stuck list's rows): primary-key reads of
 * the events that start the flow and of the entity index.
 */
export async function entityContexts(
  store: Store,
  flow: FlowShape,
  ids: readonly string[],
): Promise<Map<string, EntityContext>> {
  if (ids.length === 0) return new Map()
  const [channels, systems] = await Promise.all([
    store.query<{ id: string; channel: string }>(sql`
      SELECT subject AS id, any(${CHANNEL}) AS channel FROM ${table(TABLES.events)}
      WHERE type IN ${[...(flow.stageEvents[0] ?? [])]} AND subject IN ${[...ids]}
      GROUP BY id`),
    store.query<{ id: string; systems: string[]; last_system: string }>(sql`
      SELECT entity_id AS id, groupUniqArray(system) AS systems, argMax(system, time) AS last_system
      FROM ${table(TABLES.entityIndex)}
      WHERE entity_type = ${flow.entityType} AND entity_id IN ${[...ids]} AND system != ''
      GROUP BY id`),
  ])
  const channelOf = new Map(channels.map((r) => [r.id, r.channel]))
  const systemsOf = new Map(systems.map((r) => [r.id, r]))
  return new Map(
    ids.map((id) => [
      id,
      {
        channel: channelOf.get(id) ?? 'unknown',
        systems: [...(systemsOf.get(id)?.systems ?? [])].sort(),
        lastSystem: systemsOf.get(id)?.last_system ?? '',
      },
    ]),
  )
}
