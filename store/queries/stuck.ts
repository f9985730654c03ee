import type { Store } from '../client.ts'
import { sql } from '../sql.ts'
import { type FlowShape, stageTimes } from './flow-stages.ts'

export interface StuckQuery {
  readonly flow: FlowShape
  /** Per stage, the longest expected wait after the stage before it, in ms (0: no limit). */
  readonly maxDelayMs: readonly number[]
  readonly since: Date
  /** Where the read ends: a little after now, for producers whose clocks run ahead. */
  readonly until: Date
  readonly now: Date
  readonly limit: number
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
  return store.query<StuckRow>(sql`
    SELECT entity_id, last_stage, toUnixTimestamp64Milli(last_at) AS last_at_ms,
      toUnixTimestamp64Milli(${q.now}) - toUnixTimestamp64Milli(last_at) - limit_ms AS overdue_ms
    FROM (
      SELECT entity_id, max(stage_index) AS last_stage, argMax(reached_at, stage_index) AS last_at,
        max(terminal) AS terminated, arrayElement(${[...q.maxDelayMs]}, toUInt64(last_stage + 1)) AS limit_ms
      FROM (${stageTimes(q.flow, q.since, q.until)})
      GROUP BY entity_id
    )
    WHERE terminated = 0 AND last_stage > 0 AND last_stage < ${q.flow.stageEvents.length} AND limit_ms > 0
      AND toUnixTimestamp64Milli(${q.now}) - toUnixTimestamp64Milli(last_at) > limit_ms
    ORDER BY overdue_ms DESC
    LIMIT ${q.limit}`)
}
