import type { Store } from '../client.ts'
import { type Fragment, join, sql, typed } from '../sql.ts'
import { type FlowShape, withAwaitedStage } from './flow-stages.ts'
import {
  entityFilters,
  type FlowSnapshot,
  flowEntities,
  flowSnapshot,
  stateMoved,
  waitingEntities,
} from './flow-state.ts'

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
  /** Only entities overdue at this stage (1-based position in the flow), next or unconfirmed. */
  readonly overdueStage?: number
  /** The flow state's changes, when already read (one without tallies reads every entity). */
  readonly snapshot?: FlowSnapshot
}

export interface StuckRow {
  readonly entity_id: string
  /** 1-based index of the furthest stage reached. */
  readonly last_stage: string
  /** 1-based index of the stage it is overdue at (after `last_stage`, or before it: unconfirmed). */
  readonly stage: string
  /** 1-based index of the last stage reached before `stage`, from which its limit counts, and when. */
  readonly after_stage: string
  readonly last_at_ms: string
  readonly overdue_ms: string
  /** The channel its first event named. */
  readonly channel: string
}

/**
 * Per stage with a limit, the waiting entities past it: one range of `flow_waiting`'s sort key each,
 * so the read touches the overdue entities only.
 */
function overdueRanges(q: StuckQuery): Fragment {
  const ranges = q.maxDelayMs.flatMap((limit, i) =>
    limit > 0 && (q.overdueStage === undefined || q.overdueStage === i + 1)
      ? [sql`(awaited = ${i + 1} AND since_ms < ${q.now.getTime() - limit})`]
      : [],
  )
  return ranges.length ? join(ranges, ' OR ') : sql`0`
}

/**
 * Entities overdue at the stage they await (`withAwaitedStage`: the next one, or one passed over while a
 * later one was reached) by its limit counted from the last stage reached before it, and that reached
 * no terminal stage, most overdue first — from the waiting entities the flow-state refresh keeps
 * (`flow_waiting`: only those past a limit are read), or from every entity's state before it has run.
 */
export async function stuckEntities(store: Store, q: StuckQuery): Promise<StuckRow[]> {
  const now = q.now.getTime()
  const limits = typed(q.maxDelayMs, 'Array(Int64)')
  const filters = entityFilters(q.flow, q, q.since, q.until)
  if (q.overdueStage !== undefined) filters.push(sql`awaited = ${q.overdueStage}`)
  // The waiting entities kept by the flow-state refresh when it has run; else every entity is read.
  const snapshot = q.snapshot ?? (await flowSnapshot(store, q.flow))
  const waiting = waitingEntities(q.flow, snapshot, overdueRanges(q))
  if (waiting) {
    const rows = await store.query<StuckRow>(sql`
      SELECT entity_id, last_stage, awaited AS stage, awaited_after AS after_stage, since_ms AS last_at_ms,
        channel, ${now} - last_at_ms - arrayElement(${limits}, awaited) AS overdue_ms
      FROM (${waiting})
      WHERE arrayElement(${limits}, awaited) > 0 AND overdue_ms > 0 AND last_ms >= ${q.since.getTime()}
        AND ${join(filters, ' AND ')}
      ORDER BY overdue_ms DESC
      LIMIT ${q.limit}`)
    // A refresh that wrote meanwhile may list an entity twice: once more, from a fresh snapshot.
    if (q.snapshot || !(await stateMoved(store, q.flow, snapshot))) return rows
    return stuckEntities(store, { ...q, snapshot: await flowSnapshot(store, q.flow) })
  }
  const rows = withAwaitedStage(q.flow, await flowEntities(store, q.flow, q.since, q.until))
  return store.query<StuckRow>(sql`
    SELECT entity_id, last_stage, awaited AS stage, awaited_after AS after_stage, ts[awaited_after] AS last_at_ms,
      channel, ${now} - last_at_ms - arrayElement(${limits}, awaited) AS overdue_ms
    FROM (${rows})
    WHERE terminated = 0 AND awaited > 0 AND arrayElement(${limits}, awaited) > 0 AND overdue_ms > 0
      AND ${join(filters, ' AND ')}
    ORDER BY overdue_ms DESC
    LIMIT ${q.limit}`)
}
