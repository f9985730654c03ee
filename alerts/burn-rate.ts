import { DAY_MS, HOUR_MS, MINUTE_MS } from '../core/duration.ts'
import type { SloWindow } from './spec.ts'

export type Severity = 'page' | 'ticket'

/** A long window and its short confirmation window, and the share of the period's budget it may burn. */
export interface WindowPair {
  readonly longMs: number
  readonly shortMs: number
  readonly budget: number
}

/**
 * The SRE Workbook's multi-window, multi-burn-rate alerts (chapter 5, table 5-8): page on 2% of the
 * budget in 1 h or 5% in 6 h, ticket on 10% in 1 d or in 3 d. The short window (1/12 of the long)
 * makes an alert stop soon after the burning stops.
 */
export const TIERS: Readonly<Record<Severity, readonly WindowPair[]>> = {
  page: [
    { longMs: HOUR_MS, shortMs: 5 * MINUTE_MS, budget: 0.02 },
    { longMs: 6 * HOUR_MS, shortMs: 30 * MINUTE_MS, budget: 0.05 },
  ],
  ticket: [
    { longMs: DAY_MS, shortMs: 2 * HOUR_MS, budget: 0.1 },
    { longMs: 3 * DAY_MS, shortMs: 6 * HOUR_MS, budget: 0.1 },
  ],
}

/** Every window the evaluation needs counts for, shortest first. */
export const ALERT_WINDOWS_MS: readonly number[] = [
  ...new Set(Object.values(TIERS).flatMap((pairs) => pairs.flatMap((p) => [p.longMs, p.shortMs]))),
].sort((a, b) => a - b)

/** The burn rate at which a pair fires: 14.4, 6, 3 and 1 for a 30-day period; rescaled for others. */
export function threshold(pair: WindowPair, periodMs: number): number {
  return (pair.budget * periodMs) / pair.longMs
}

/** How fast the budget burns: 1 spends it exactly over the period. No traffic is no data, not zero. */
export function burnRate(good: number, total: number, objective: number): number | null {
  if (total === 0) return null
  return (1 - good / total) / (1 - objective)
}

/** The offset of `timeZone` from UTC at `ms`, in ms (positive east of Greenwich). */
function zoneOffsetMs(ms: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'))
  return wall - Math.floor(ms / 1000) * 1000
}

/** Midnight on the first of `month` (0-based, may overflow into the next year) in `timeZone`, as UTC ms. */
function monthStartMs(year: number, month: number, timeZone: string): number {
  const guess = Date.UTC(year, month, 1)
  const first = guess - zoneOffsetMs(guess, timeZone)
  // Across a DST change the offset at the guess and at the answer can differ; one correction settles it.
  return guess - zoneOffsetMs(first, timeZone)
}

/** The period an SLO is judged over at `now`: the last N days, or the calendar month so far. */
export function period(window: SloWindow, now: number): { startMs: number; lengthMs: number } {
  if (window.kind === 'rolling') return { startMs: now - window.ms, lengthMs: window.ms }
  const local = new Date(now + zoneOffsetMs(now, window.timeZone))
  const start = monthStartMs(local.getUTCFullYear(), local.getUTCMonth(), window.timeZone)
  const end = monthStartMs(local.getUTCFullYear(), local.getUTCMonth() + 1, window.timeZone)
  return { startMs: start, lengthMs: end - start }
}

export interface Counts {
  readonly good: number
  readonly total: number
}

export interface TierResult {
  readonly severity: Severity
  /** true: burning; false: not; null: no events in any of the tier's windows. */
  readonly firing: boolean | null
  readonly reason: string
  readonly pairs: ReadonlyArray<{
    readonly longMs: number
    readonly shortMs: number
    readonly threshold: number
    readonly longBurn: number | null
    readonly shortBurn: number | null
    readonly longEvents: number
  }>
}

const human = (ms: number) =>
  ms >= DAY_MS ? `${ms / DAY_MS}d` : ms >= HOUR_MS ? `${ms / HOUR_MS}h` : `${ms / MINUTE_MS}m`
const fixed = (n: number | null) => (n === null ? 'no data' : n.toFixed(2))

/**
 * Judges one tier from counts per window. A pair fires when both its windows burn at or above the
 * threshold; a page also needs `minEvents` in the long window (the low-traffic guard).
 */
export function evaluateTier(
  severity: Severity,
  counts: ReadonlyMap<number, Counts>,
  objective: number,
  periodMs: number,
  minEvents: number,
): TierResult {
  const at = (ms: number) => counts.get(ms) ?? { good: 0, total: 0 }
  const pairs = TIERS[severity].map((p) => ({
    longMs: p.longMs,
    shortMs: p.shortMs,
    threshold: threshold(p, periodMs),
    longBurn: burnRate(at(p.longMs).good, at(p.longMs).total, objective),
    shortBurn: burnRate(at(p.shortMs).good, at(p.shortMs).total, objective),
    longEvents: at(p.longMs).total,
  }))
  if (pairs.every((p) => p.longEvents === 0))
    return {
      severity,
      firing: null,
      reason: `no events in the last ${human(pairs.at(-1)?.longMs ?? 0)}`,
      pairs,
    }
  const guard = severity === 'page' ? minEvents : 0
  const burning = pairs.find(
    (p) =>
      p.longBurn !== null &&
      p.shortBurn !== null &&
      p.longBurn >= p.threshold &&
      p.shortBurn >= p.threshold &&
      p.longEvents >= guard,
  )
  if (burning)
    return {
      severity,
      firing: true,
      reason: `burn rate ${fixed(burning.longBurn)} over ${human(burning.longMs)} and ${fixed(burning.shortBurn)} over ${human(burning.shortMs)} ≥ ${burning.threshold.toFixed(1)}`,
      pairs,
    }
  const guarded = pairs.find(
    (p) => (p.longBurn ?? 0) >= p.threshold && (p.shortBurn ?? 0) >= p.threshold && p.longEvents < guard,
  )
  return {
    severity,
    firing: false,
    reason: guarded
      ? `burning, but only ${guarded.longEvents} events in ${human(guarded.longMs)} (paging needs ${guard})`
      : pairs
          .map(
            (p) =>
              `${human(p.longMs)}/${human(p.shortMs)} burn ${fixed(p.longBurn)}/${fixed(p.shortBurn)} < ${p.threshold.toFixed(1)}`,
          )
          .join('; '),
    pairs,
  }
}

export interface Budget {
  /** Share of good events over the period so far; null with no events. */
  readonly sli: number | null
  /** Share of the period's error budget left (negative when overspent). */
  readonly remaining: number | null
  /** Bad events the budget still allows at the current volume ("37 late orders left"). */
  readonly remainingEvents: number | null
  /** At the last hour's burn rate, when the budget runs out; null when it does not within the period. */
  readonly exhaustedInMs: number | null
}

export function budget(
  periodCounts: Counts,
  objective: number,
  hourBurn: number | null,
  periodMs: number,
): Budget {
  const { good, total } = periodCounts
  if (total === 0) return { sli: null, remaining: null, remainingEvents: null, exhaustedInMs: null }
  const allowed = (1 - objective) * total
  const bad = total - good
  const remaining = 1 - bad / allowed
  const exhaustedInMs =
    hourBurn !== null && hourBurn > 0 && remaining > 0 && (remaining * periodMs) / hourBurn < periodMs
      ? (remaining * periodMs) / hourBurn
      : null
  return { sli: good / total, remaining, remainingEvents: Math.floor(allowed - bad), exhaustedInMs }
}
