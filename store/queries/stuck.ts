import type { Store } from '../client.ts'
import { join, sql, typed } from '../sql.ts'
import type { FlowShape } from './flow-stages.ts'
import { entityFilters, flowEntities } from './flow-state.ts'

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
  /** The channel its first event named. */
  readonly channel: string
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
    SELECT entity_id, last_stage, ts[last_stage] AS last_at_ms, channel,
      ${now} - last_at_ms - arrayElement(${limits}, last_stage + 1) AS overdue_ms
    FROM (${await flowEntities(store, q.flow, q.since, q.until)})
    WHERE terminated = 0 AND last_stage > 0 AND last_stage < ${q.flow.stageEvents.length}
      AND arrayElement(${limits}, last_stage + 1) > 0 AND overdue_ms > 0 AND ${join(filters, ' AND ')}
    ORDER BY overdue_ms DESC
    LIMIT ${q.limit}`)
}
