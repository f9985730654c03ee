import { HOUR_MS } from '../core/duration.ts'
import type { Store } from '../store/client.ts'
import {
  ALERT_WINDOWS_MS,
  type Budget,
  budget,
  type Counts,
  evaluateTier,
  period,
  type TierResult,
} from './burn-rate.ts'
import { sliCounts } from './sli-kinds.ts'
import type { SloDefinition } from './spec.ts'

export interface SloStatus {
  readonly slo: SloDefinition
  readonly period: { readonly startMs: number; readonly lengthMs: number }
  readonly counts: Counts
  readonly budget: Budget
  readonly tiers: readonly TierResult[]
}

/**
 * An SLO now: the period's good/total (summed counts, never averaged ratios), the budget left and the
 * burn-rate tiers, from one query over the longest window needed.
 */
export async function sloStatus(store: Store, slo: SloDefinition, nowMs: number): Promise<SloStatus> {
  const p = period(slo.window, nowMs)
  const elapsed = nowMs - p.startMs
  const windows = [...new Set([...ALERT_WINDOWS_MS, elapsed])]
  const rows = await sliCounts(store, slo.sli, windows, new Date(nowMs))
  const counts = new Map(rows.map((r) => [r.windowMs, { good: r.good, total: r.total }]))
  const periodCounts = counts.get(elapsed) ?? { good: 0, total: 0 }
  const tiers = (['page', 'ticket'] as const).map((severity) =>
    evaluateTier(severity, counts, slo.objective, p.lengthMs, slo.minEvents),
  )
  const hourBurn = tiers[0]?.pairs.find((pair) => pair.longMs === HOUR_MS)?.longBurn ?? null
  return {
    slo,
    period: p,
    counts: periodCounts,
    budget: budget(periodCounts, slo.objective, hourBurn, p.lengthMs),
    tiers,
  }
}
