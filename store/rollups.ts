import { randomUUID } from 'node:crypto'
import { runEvery } from '../core/background.ts'
import { MINUTE_MS } from '../core/duration.ts'
import type { Logger } from '../core/logger.ts'
import type { Store } from './client.ts'
import { leads, leaseTermMs } from './queries/alerts.ts'
import type { FlowShape } from './queries/flow-stages.ts'
import { refreshFlowState } from './queries/flow-state.ts'
import { sql, table } from './sql.ts'
import { TABLES } from './tables.ts'

/** How far back a parent may have started before its child: parents outlive their children. */
const PARENT_SLACK_MS = 60 * MINUTE_MS

/**
 * Recomputes the calls between services for the whole minutes in [from, to): each child span joined
 * to its parent in the same trace, kept where the two belong to different services. A minute's newest
 * computation replaces the earlier ones (ReplacingMergeTree on `computed_at`), so recomputing recent
 * minutes as late spans arrive is safe.
 */
export async function rollupSystemEdges(store: Store, from: Date, to: Date): Promise<void> {
  const start = new Date(Math.floor(from.getTime() / MINUTE_MS) * MINUTE_MS)
  const end = new Date(Math.ceil(to.getTime() / MINUTE_MS) * MINUTE_MS)
  await store.command(sql`
    INSERT INTO ${table(TABLES.systemEdges)} (minute, source, target, calls, errors, duration_ns, computed_at)
    SELECT toStartOfMinute(c.timestamp) AS edge_minute, p.service_name AS edge_source, c.service_name AS edge_target,
      count(), countIf(c.status_code = 'error'), quantilesState(0.5, 0.95, 0.99)(c.duration_ns), now64(3)
    FROM ${table(TABLES.spans)} AS c
    INNER JOIN (
      SELECT trace_id, span_id, service_name FROM ${table(TABLES.spans)}
      WHERE timestamp >= ${new Date(start.getTime() - PARENT_SLACK_MS)} AND timestamp < ${end}
    ) AS p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
    WHERE c.timestamp >= ${start} AND c.timestamp < ${end} AND c.parent_span_id != ''
      AND p.service_name != c.service_name
    GROUP BY edge_minute, edge_source, edge_target`)
}

export interface RollupSchedule {
  readonly everyMs: number
  /** Minutes recomputed each time: spans arriving later than this are not counted in the map. */
  readonly windowMinutes: number
  /** Flows whose per-entity state is kept (store/queries/flow-state.ts). */
  readonly flows?: readonly FlowShape[]
}

/**
 * One tick: the system map's recent minutes, then each flow's entity state — by one process at a
 * time, the holder of the rollup lease (two api processes would each count a flow's changes in its
 * tallies). Terms are claimed as the evaluator claims its lease (alerts/evaluator.ts).
 */
async function rollupOnce(
  store: Store,
  schedule: RollupSchedule,
  holder: string,
  now: number,
): Promise<void> {
  const lease = { name: 'rollups', holder, termMs: leaseTermMs(schedule.everyMs), tickMs: schedule.everyMs }
  if (!(await leads(store, lease, now))) return
  await rollupSystemEdges(store, new Date(now - schedule.windowMinutes * MINUTE_MS), new Date(now))
  // A refresh checks it still leads before it writes: one that outlives its term stops there.
  const leading = () => leads(store, lease, Date.now())
  for (const flow of schedule.flows ?? []) await refreshFlowState(store, flow, { now, leading })
}

/** Runs the rollups on a timer; a failure is logged and the next tick tries again. */
export function scheduleRollups(store: Store, log: Logger, schedule: RollupSchedule): () => Promise<void> {
  const holder = `rollups-${randomUUID()}`
  return runEvery(() => rollupOnce(store, schedule, holder, Date.now()), {
    everyMs: schedule.everyMs,
    log,
    failure: 'rollup failed; retrying at the next tick',
  })
}
