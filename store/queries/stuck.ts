import type { Store } from '../client.ts'
import { sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface StuckQuery {
  readonly entityType: string
  /** Per stage, in flow order, the event types that complete it. */
  readonly stageEvents: readonly (readonly string[])[]
  /** Per stage, the longest expected wait after the stage before it, in ms (0: no limit). */
  readonly maxDelayMs: readonly number[]
  readonly terminalEvents: readonly string[]
  readonly since: Date
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
  const stages = typed(q.stageEvents, 'Array(Array(String))')
  return store.query<StuckRow>(sql`
    SELECT entity_id, last_stage, toUnixTimestamp64Milli(last_at) AS last_at_ms,
      toUnixTimestamp64Milli(${q.now}) - toUnixTimestamp64Milli(last_at) - limit_ms AS overdue_ms
    FROM (
      SELECT entity_id, max(stage) AS last_stage, argMax(reached_at, stage) AS last_at, max(terminal) AS terminated,
        arrayElement(${[...q.maxDelayMs]}, toUInt64(max(stage) + 1)) AS limit_ms
      FROM (
        SELECT entity_id, name, min(first_time) AS reached_at,
          arrayFirstIndex(evs -> has(evs, name), ${stages}) AS stage,
          has(${[...q.terminalEvents]}, name) AS terminal
        FROM ${table(TABLES.entityProgress)}
        WHERE entity_type = ${q.entityType} AND first_time >= ${q.since}
        GROUP BY entity_id, name
      )
      GROUP BY entity_id
    )
    WHERE terminated = 0 AND last_stage > 0 AND last_stage < ${q.stageEvents.length} AND limit_ms > 0
      AND toUnixTimestamp64Milli(${q.now}) - toUnixTimestamp64Milli(last_at) > limit_ms
    ORDER BY overdue_ms DESC
    LIMIT ${q.limit}`)
}
