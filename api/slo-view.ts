import { TIERS, threshold } from '../alerts/burn-rate.ts'
import { kindOf } from '../alerts/sli-kinds.ts'
import type { SloStatus } from '../alerts/slo-status.ts'
import type { SloDefinition } from '../alerts/spec.ts'
import { DAY_MS } from '../core/duration.ts'
import type { AlertInstance } from '../store/queries/alerts.ts'
import type { SliBucket } from '../store/queries/sli.ts'
import { isoFromMs } from './params.ts'

/** `ok`, `burning` (an alert fires), `exhausted` (no budget left) or `no_data`. */
export function sloState(status: SloStatus, alerts: readonly AlertInstance[]) {
  if (status.budget.sli === null) return 'no_data'
  if (alerts.some((a) => a.state === 'firing')) return 'burning'
  if ((status.budget.remaining ?? 1) <= 0) return 'exhausted'
  return 'ok'
}

export function alertView(a: AlertInstance) {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    labels: a.labels,
    state: a.state,
    reason: a.reason,
    value: a.value,
    since: isoFromMs(a.sinceMs),
    firedAt: isoFromMs(a.firedAtMs),
    evaluatedAt: isoFromMs(a.evaluatedAtMs),
    suppressedBy: a.suppressedBy || null,
    acknowledged: a.ackedBy ? { by: a.ackedBy, at: isoFromMs(a.ackedAtMs) } : null,
  }
}

function definitionView(slo: SloDefinition) {
  const sli = slo.sli
  return {
    id: slo.id,
    description: slo.description,
    indicator: {
      kind: sli.kind,
      withinMs: 'withinMs' in sli ? sli.withinMs : null,
      ...kindOf(sli).view(sli),
    },
    objective: slo.objective,
    window:
      slo.window.kind === 'rolling'
        ? { rollingDays: slo.window.ms / DAY_MS }
        : { calendarMonth: slo.window.timeZone },
    unit: slo.unit,
    dependsOn: slo.dependsOn,
    labels: slo.labels,
  }
}

/** One SLO for the list: where it stands now, in ratios and in business units. */
export function sloSummary(status: SloStatus, alerts: readonly AlertInstance[]) {
  return {
    ...definitionView(status.slo),
    status: sloState(status, alerts),
    period: { start: isoFromMs(status.period.startMs), lengthMs: status.period.lengthMs },
    good: status.counts.good,
    total: status.counts.total,
    sli: status.budget.sli,
    budget: {
      remaining: status.budget.remaining,
      remainingEvents: status.budget.remainingEvents,
      exhaustedInMs: status.budget.exhaustedInMs,
    },
    burnRates: status.tiers.flatMap((t) =>
      t.pairs.map((p) => ({
        severity: t.severity,
        longMs: p.longMs,
        shortMs: p.shortMs,
        threshold: p.threshold,
        longBurn: p.longBurn,
        shortBurn: p.shortBurn,
        events: p.longEvents,
      })),
    ),
    alerts: alerts.map(alertView),
  }
}

/**
 * The budget over the period (burndown, from summed counts up to each bucket) and each window pair's
 * burn rates over time, from fine buckets summed over sliding windows.
 */
export function sloHistory(
  status: SloStatus,
  periodBuckets: readonly SliBucket[],
  fineBuckets: readonly SliBucket[],
  fineStepMs: number,
) {
  const allowed = 1 - status.slo.objective
  let good = 0
  let total = 0
  const burndown = periodBuckets.map((b) => {
    good += Number(b.good_events)
    total += Number(b.total_events)
    return {
      at: isoFromMs(Number(b.bucket)),
      good: Number(b.good_events),
      total: Number(b.total_events),
      sli: Number(b.total_events) > 0 ? Number(b.good_events) / Number(b.total_events) : null,
      budgetRemaining: total > 0 ? 1 - (total - good) / (allowed * total) : null,
    }
  })
  // Prefix sums over a gap-free run of fine buckets: any window's counts in constant time.
  const byBucket = new Map(fineBuckets.map((b) => [Number(b.bucket), b]))
  const first = fineBuckets.length ? Number(fineBuckets[0]?.bucket) : 0
  const n = fineBuckets.length ? (Number(fineBuckets.at(-1)?.bucket) - first) / fineStepMs + 1 : 0
  const goods = [0]
  const totals = [0]
  for (let i = 0; i < n; i++) {
    const b = byBucket.get(first + i * fineStepMs)
    goods.push((goods[i] ?? 0) + Number(b?.good_events ?? 0))
    totals.push((totals[i] ?? 0) + Number(b?.total_events ?? 0))
  }
  const burn = (i: number, windowMs: number) => {
    const from = Math.max(0, i + 1 - windowMs / fineStepMs)
    const t = (totals[i + 1] ?? 0) - (totals[from] ?? 0)
    const g = (goods[i + 1] ?? 0) - (goods[from] ?? 0)
    return t > 0 ? (1 - g / t) / allowed : null
  }
  const pairs = Object.entries(TIERS).flatMap(([severity, list]) =>
    list.map((p) => {
      const points = Array.from({ length: n }, (_, i) => ({
        at: isoFromMs(first + (i + 1) * fineStepMs),
        long: burn(i, p.longMs),
        short: burn(i, p.shortMs),
      }))
      return {
        severity,
        longMs: p.longMs,
        shortMs: p.shortMs,
        threshold: threshold(p, status.period.lengthMs),
        points,
      }
    }),
  )
  return { burndown, burnRates: pairs }
}
