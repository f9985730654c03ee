import { DAY_MS, HOUR_MS } from '../../core/duration.ts'
import { ANNOTATIONS, alertPolicies } from './export.ts'
import { Fields, isObject } from './fields.ts'

type RawWindow = string | { calendar: 'month'; time_zone: string } | undefined

/** `timeWindow`: a rolling window of whole days, or a calendar month in a time zone. */
export function readTimeWindow(value: unknown, problems: string[]): RawWindow {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length !== 1 || !isObject(value[0])) {
    problems.push('spec.timeWindow: a list of exactly one window')
    return undefined
  }
  const w = new Fields(value[0], 'spec.timeWindow.0')
  const duration = String(w.get('duration'))
  const calendar = w.fields('calendar')
  const rolling = w.get('isRolling') ?? !w.value.calendar
  for (const field of w.unread()) problems.push(`${field}: not supported`)
  if (rolling === true) {
    const m = /^(\d+)([hdw])$/.exec(duration)
    const ms = m
      ? Number(m[1]) * { h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS }[m[2] as 'h' | 'd' | 'w']
      : Number.NaN
    if (!(ms % DAY_MS === 0)) {
      problems.push(
        `spec.timeWindow.0.duration: a rolling window of whole days (such as 30d or 4w), not '${duration}'`,
      )
      return undefined
    }
    return `${ms / DAY_MS}d`
  }
  const start = String(calendar.get('startTime') ?? '')
  const timeZone = calendar.get('timeZone')
  for (const field of calendar.unread()) problems.push(`${field}: not supported`)
  if (duration !== '1M') {
    problems.push(
      `spec.timeWindow.0.duration: calendar windows are one month (1M) in Signalbox, not '${duration}'`,
    )
    return undefined
  }
  if (!/^\d{4}-\d{2}-01[ T]00:00(:00)?$/.test(start))
    problems.push(`spec.timeWindow.0.calendar.startTime: months start on the 1st at 00:00:00, not '${start}'`)
  return { calendar: 'month', time_zone: typeof timeZone === 'string' ? timeZone : 'UTC' }
}

/** `objectives`: one target (or targetPercent) on the ratio; thresholds and time slices are not Signalbox's. */
export function readObjective(value: unknown, problems: string[], notKept: (field: string) => void) {
  if (!Array.isArray(value) || value.length !== 1) {
    problems.push('spec.objectives: exactly one objective (composite SLOs are not supported)')
    return undefined
  }
  const o = new Fields(value[0], 'spec.objectives.0')
  if (o.get('displayName') !== undefined) notKept('spec.objectives.0.displayName')
  const target = o.get('target')
  const percent = o.get('targetPercent')
  for (const field of o.unread()) problems.push(`${field}: not supported`)
  if (typeof target === 'number' && percent === undefined) return target
  if (typeof percent === 'number' && target === undefined) return Number((percent / 100).toPrecision(12))
  problems.push('spec.objectives.0: one of target or targetPercent')
  return undefined
}

interface Lookup {
  readonly byKind: ReadonlyMap<string, ReadonlyMap<string, Fields>>
}

/** What a burn-rate condition says, to compare one with Signalbox's own tiers. */
function conditionOf(policy: Fields, objects: Lookup) {
  const spec = isObject(policy.value.spec) ? policy.value.spec : {}
  const [first] = Array.isArray(spec.conditions) ? spec.conditions : []
  const condition =
    isObject(first) && typeof first.conditionRef === 'string'
      ? objects.byKind.get('AlertCondition')?.get(first.conditionRef)?.value
      : first
  if (!isObject(condition) || !isObject(condition.spec) || !isObject(condition.spec.condition))
    return undefined
  const short =
    isObject(condition.metadata) && isObject(condition.metadata.annotations)
      ? condition.metadata.annotations[ANNOTATIONS.shortWindow]
      : undefined
  const c = condition.spec.condition
  return `${condition.spec.severity}: ${c.kind} ${c.op} ${c.threshold} over ${c.lookbackWindow}${short ? `, confirmed over ${short}` : ''}`
}

/**
 * `alertPolicies`: Signalbox alerts on every SLO with its own multi-window burn-rate tiers. Policies
 * that are those tiers (as export writes them) are taken as read; any other is named as not imported.
 */
export function readAlertPolicies(
  value: unknown,
  window: RawWindow,
  objects: Lookup,
  warn: (w: string) => void,
) {
  if (value === undefined) return
  if (!Array.isArray(value)) {
    warn('spec.alertPolicies is not a list and is not imported')
    return
  }
  const ours = new Set(alertPolicies(window).map((p) => conditionOf(new Fields(p, ''), objects)))
  for (const [i, entry] of value.entries()) {
    const ref = typeof entry === 'string' ? entry : isObject(entry) ? entry.alertPolicyRef : undefined
    const policy =
      typeof ref === 'string'
        ? objects.byKind.get('AlertPolicy')?.get(ref)
        : new Fields(entry, `spec.alertPolicies.${i}`)
    const name =
      typeof ref === 'string' ? ref : isObject(entry) && isObject(entry.metadata) ? entry.metadata.name : i
    if (!policy) {
      warn(`spec.alertPolicies.${i}: no AlertPolicy named '${String(ref)}' in the input; not imported`)
      continue
    }
    const said = conditionOf(policy, objects)
    if (!said || !ours.has(said))
      warn(
        `alert policy '${String(name)}' (${said ?? 'no burn-rate condition'}) is not imported: Signalbox alerts on its own burn-rate tiers (docs/slos-and-alerts.md)`,
      )
  }
}
