// The one date format of the app: tables, tooltips and chart axes all go through these, so a time
// reads the same wherever it appears (the viewer's locale and zone).
const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' })
const CLOCK = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const CLOCK_S = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const CLOCK_MS = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
})
const DAY = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' })

/** Times in the viewer's zone; the UTC value goes in the title (shown on hover). */
export function localTime(at: string | number | null | undefined): string {
  if (at === null || at === undefined || at === '') return '—'
  const d = new Date(at)
  return Number.isNaN(d.getTime()) ? '—' : DATE_TIME.format(d)
}

/**
 * A time-axis tick, as precise as the tick itself: the day at local midnight, the clock time on a
 * minute, with seconds (or milliseconds) when the axis spans only seconds, as an order's often does.
 */
export function axisTime(at: number | string): string {
  const d = new Date(at)
  if (Number.isNaN(d.getTime())) return ''
  if (d.getMilliseconds() !== 0) return CLOCK_MS.format(d)
  if (d.getSeconds() !== 0) return CLOCK_S.format(d)
  return d.getHours() === 0 && d.getMinutes() === 0 ? DAY.format(d) : CLOCK.format(d)
}

export function utcTitle(iso: string | null | undefined): string {
  return iso ? `${iso} (UTC)` : ''
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—'
  const abs = Math.abs(ms)
  if (abs < 1) return `${ms.toFixed(2)} ms`
  if (abs < 1000) return `${ms.toFixed(abs < 10 ? 1 : 0)} ms`
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (abs < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  if (abs < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`
  return `${(ms / 86_400_000).toFixed(1)} d`
}

export function percent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined
    ? '—'
    : `${(ratio * 100).toFixed(ratio < 0.01 && ratio > 0 ? 2 : 1)} %`
}

export function count(n: number): string {
  return n.toLocaleString()
}

/**
 * Status words with an icon, so colour is never the only signal. No emoji: glyphs that the usual
 * text fonts carry (DejaVu, Noto Sans, Segoe UI), so no empty box where an emoji font is missing.
 */
export const STATUS_ICON: Record<string, string> = {
  done: '✓',
  completed: '✓',
  pending: '○',
  in_progress: '◔',
  late: '◷',
  stuck: '◷',
  failed: '✕',
  skipped: '↷',
  unconfirmed: '◌',
  overdue: '⚠',
  cancelled: '⊘',
  replayed: '↻',
  ok: '✓',
  burning: '▲',
  exhausted: '✕',
  no_data: '∅',
  firing: '▲',
  normal: '✓',
  resolved: '✓',
  nodata: '∅',
  error: '✕',
  acknowledged: '✔',
}

/**
 * A stage's status as the stage track says it. A stage passed over while a later one was reached is
 * neither reached nor still to come: it says so (`unconfirmed`, and `overdue` once past its limit).
 */
export const STAGE_STATUS_WORDS: Record<string, string> = {
  unconfirmed: 'not confirmed, though a later stage was reached',
  overdue: 'overdue: not confirmed, though a later stage was reached',
  skipped: 'skipped (optional)',
}

/** The budget in the SLO's own units: "37 orders left" or "overspent by 12 orders". */
export function budgetUnits(remainingEvents: number | null, unit: string): string {
  if (remainingEvents === null) return 'no data'
  const units = (n: number) => `${count(n)} ${n === 1 ? unit.replace(/s$/, '') : unit}`
  return remainingEvents >= 0 ? `${units(remainingEvents)} left` : `overspent by ${units(-remainingEvents)}`
}

/** The share of the budget left, or how many budgets were spent once it is overspent. */
export function budgetLeft(remaining: number | null): string {
  if (remaining === null) return '—'
  return remaining >= 0 ? `${percent(remaining)} left` : `overspent: ${burn(1 - remaining)} the budget spent`
}

/**
 * When the budget runs out at the current burn, in words that agree with the budget beside it: an
 * overspent budget has run out already, and one with no traffic yet has nothing to burn.
 */
export function runsOut(
  budget: { remaining: number | null; exhaustedInMs: number | null },
  total: number,
): string {
  if (total === 0 || budget.remaining === null) return 'no traffic yet'
  if (budget.remaining < 0) return 'already overspent'
  return budget.exhaustedInMs === null ? 'not at this burn' : `in ${duration(budget.exhaustedInMs)}`
}

/** A delay from the stage before: "+4.9 s", or "−4.9 s" when it came before it (out of order). */
export function signedDuration(ms: number): string {
  return ms < 0 ? `−${duration(-ms)}` : `+${duration(ms)}`
}

/** A burn rate: how many times faster than the budget allows. */
export function burn(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${rate < 10 ? rate.toFixed(2) : rate.toFixed(1)}×`
}

/** Entity types that read as initials. */
const INITIALS = new Set(['sku'])

/** An entity type as people say it in a sentence: `purchase_order` → "purchase order", `sku` → "SKU". */
export function entityNoun(type: string, plural = false): string {
  const words = INITIALS.has(type) ? type.toUpperCase() : type.replaceAll('_', ' ')
  return plural ? `${words}s` : words
}

/** The same at the start of a title: "Purchase order", "SKUs". */
export function entityLabel(type: string, plural = false): string {
  const noun = entityNoun(type, plural)
  return `${noun.charAt(0).toUpperCase()}${noun.slice(1)}`
}

/** A flow's name as a title: `order_to_cash` → "Order to cash". */
export function flowTitle(name: string): string {
  const words = name.replaceAll('_', ' ')
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}`
}

const UNITS = [
  { unit: 'ms', ms: 1 },
  { unit: 's', ms: 1000 },
  { unit: 'min', ms: 60_000 },
  { unit: 'h', ms: 3_600_000 },
  { unit: 'd', ms: 86_400_000 },
] as const

/**
 * The unit a duration axis counts in, from its largest value: plotted in that unit, a linear axis
 * gets round ticks (0, 5, 10 min) instead of round milliseconds that read as "16.7 min".
 */
export function durationUnit(maxMs: number): { unit: string; ms: number } {
  let chosen: { unit: string; ms: number } = UNITS[0]
  for (const u of UNITS) if (maxMs >= 2 * u.ms) chosen = u
  return chosen
}

/**
 * Text for a chart's tooltip, which ECharts writes as HTML: what telemetry named (a system, a span
 * or event name, an exception's message) goes through this, or a stored `<style>` restyles the page.
 */
export const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )
