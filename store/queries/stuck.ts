import type { Store } from '../client.ts'
import { type Fragment, join, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { CHANNEL, type FlowShape } from './flow-stages.ts'
import { flowEntities } from './flow-state.ts'

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
  const filters = entityFilters(q.flow, q, q.since, q.until)
  if (q.overdueStage !== undefined) filters.push(sql`last_stage + 1 = ${q.overdueStage}`)
  return store.query<StuckRow>(sql`
    SELECT entity_id, last_stage, ts[last_stage] AS last_at_ms,
      ${now} - last_at_ms - arrayElement(${limits}, last_stage + 1) AS overdue_ms
    FROM (${await flowEntities(store, q.flow, q.since, q.until)})
    WHERE terminated = 0 AND last_stage > 0 AND last_stage < ${q.flow.stageEvents.length}
      AND arrayElement(${limits}, last_stage + 1) > 0 AND overdue_ms > 0 AND ${join(filters, ' AND ')}
    ORDER BY overdue_ms DESC
    LIMIT ${q.limit}`)
}

/**
 * Conditions on `entity_id` for entities that came in through some channels or that some systems
 * touched in [since, until): each an IN-subquery on a primary-key prefix.
 */
export function entityFilters(
  flow: FlowShape,
  q: { readonly channels?: readonly string[]; readonly systems?: readonly string[] },
  since: Date,
  until: Date,
): Fragment[] {
  const filters = [sql`1`]
  if (q.channels)
    filters.push(sql`entity_id IN (
      SELECT subject FROM ${table(TABLES.events)}
      WHERE type IN ${[...(flow.stageEvents[0] ?? [])]} AND time >= ${since} AND time < ${until}
        AND ${CHANNEL} IN ${[...q.channels]})`)
  if (q.systems)
    filters.push(sql`entity_id IN (
      SELECT entity_id FROM ${table(TABLES.entityIndex)}
      WHERE entity_type = ${flow.entityType} AND time >= ${since} AND time < ${until}
        AND system IN ${[...q.systems]})`)
  return filters
}

export interface EntityAtStage {
  readonly entity_id: string
  readonly at_ms: string
  readonly last_stage: string
  readonly terminated: number
}

/**
 * The entities behind a point of a flow chart: those that reached a stage in [from, to) (a bar of
 * throughput, a point of stage latency, a step of the funnel), or, with `waiting`, those whose last
 * stage it is now (a bar of the backlog). Newest first.
 */
export async function entitiesAtStage(
  store: Store,
  q: {
    readonly flow: FlowShape
    /** 1-based. */
    readonly stage: number
    readonly from: Date
    readonly to: Date
    /** Where the read starts: early enough to see the stages before. */
    readonly since: Date
    readonly waiting: boolean
    readonly channels?: readonly string[]
    readonly systems?: readonly string[]
    readonly limit: number
  },
): Promise<EntityAtStage[]> {
  const filters = entityFilters(q.flow, q, q.since, q.to)
  const at = q.waiting
    ? sql`last_stage = ${q.stage} AND terminated = 0 AND ts[${q.stage}] >= ${q.since.getTime()}`
    : sql`ts[${q.stage}] >= ${q.from.getTime()} AND ts[${q.stage}] < ${q.to.getTime()}`
  return store.query<EntityAtStage>(sql`
    SELECT entity_id, ts[${q.stage}] AS at_ms, last_stage, terminated
    FROM (${await flowEntities(store, q.flow, q.since, q.to)})
    WHERE ${at} AND ${join(filters, ' AND ')}
    ORDER BY at_ms DESC
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
