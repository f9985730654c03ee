import { roughDuration } from '../core/duration.ts'
import type { FlowDefinition } from '../core/flows.ts'
import type { StuckRow } from '../store/queries/stuck.ts'

/**
 * How an entity is stuck: `overdue`, its next stage not reached in time, or `unconfirmed`, a stage
 * passed over while a later one was reached (an invoiced order whose delivery the carrier never
 * confirmed) and not confirmed in time. Both count from the last stage reached before the stage.
 */
export type StuckKind = 'overdue' | 'unconfirmed'

export function stuckView(flow: FlowDefinition, r: StuckRow, now: Date) {
  const name = (index: string) => flow.stages[Number(index) - 1]?.name ?? ''
  const kind: StuckKind = Number(r.stage) < Number(r.last_stage) ? 'unconfirmed' : 'overdue'
  const waited = roughDuration(now.getTime() - Number(r.last_at_ms))
  const after = name(r.after_stage)
  return {
    kind,
    // Where the wait counts from: the last stage reached before the overdue one.
    lastStage: after,
    lastStageAt: new Date(Number(r.last_at_ms)).toISOString(),
    overdueStage: name(r.stage),
    overdueMs: Number(r.overdue_ms),
    /** The furthest stage reached: past the overdue one when it is unconfirmed. */
    furthestStage: name(r.last_stage),
    reason:
      kind === 'unconfirmed'
        ? `unconfirmed: ${name(r.stage)} not confirmed ${waited} after ${after}, although ${name(r.last_stage)}`
        : `overdue: ${name(r.stage)} not reached ${waited} after ${after}`,
  }
}
