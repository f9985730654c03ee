import { stringify } from 'yaml'
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../core/duration.ts'
import { type Severity, TIERS, threshold } from '../burn-rate.ts'

/**
 * OpenSLO v1 (github.com/OpenSLO/OpenSLO) from `slos.yaml`: one SLI and one SLO document per SLO.
 * Signalbox's SLI kinds become a `ratioMetric` whose good and total counts come from a `metricSource`
 * of type `signalbox`, its settings written as in `slos.yaml`; what OpenSLO has no field for goes in
 * `signalbox.io/` annotations; the burn-rate tiers become inline AlertPolicies. `import.ts` reads all
 * of it back, so a round trip changes nothing.
 */

export const API_VERSION = 'openslo/v1'
export const SOURCE_TYPE = 'signalbox'
export const ANNOTATIONS = {
  dependsOn: 'signalbox.io/depends-on',
  minEvents: 'signalbox.io/min-events',
  unit: 'signalbox.io/unit',
  shortWindow: 'signalbox.io/short-window',
} as const

/** OpenSLO names follow RFC 1123 (no underscores); Signalbox ids have no dashes, so this maps both ways. */
export const openSloName = (id: string) => id.replaceAll('_', '-')

/** A calendar month has no fixed length; its burn-rate thresholds are written for 30 days. */
const NOMINAL_MONTH_MS = 30 * DAY_MS

export function shorthand(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`
  return `${Math.round(ms / MINUTE_MS)}m`
}

type RawSlo = Readonly<Record<string, unknown>>
type RawWindow = string | { calendar: 'month'; time_zone?: string } | undefined

function timeWindow(window: RawWindow) {
  if (window === undefined) return { duration: '30d', isRolling: true }
  if (typeof window === 'string') return { duration: window, isRolling: true }
  return {
    duration: '1M',
    isRolling: false,
    calendar: { startTime: '2020-01-01 00:00:00', timeZone: window.time_zone ?? 'UTC' },
  }
}

const periodMs = (window: RawWindow) =>
  typeof window === 'string' ? Number(window.slice(0, -1)) * DAY_MS : window ? NOMINAL_MONTH_MS : 30 * DAY_MS

const periodName = (window: RawWindow) => (typeof window === 'object' ? 'month' : (window ?? '30d'))

/**
 * Signalbox's window pairs as AlertPolicy documents, one per pair (OpenSLO allows one condition per
 * policy), for an SLO period: the thresholds depend on the period's length, so SLOs with the same
 * period share them. The short confirmation window has no OpenSLO field: an annotation holds it.
 */
export function alertPolicies(window: RawWindow) {
  return (Object.entries(TIERS) as Array<[Severity, (typeof TIERS)[Severity]]>).flatMap(([severity, pairs]) =>
    pairs.map((pair) => {
      const long = shorthand(pair.longMs)
      const name = `signalbox-${severity}-${long}-${periodName(window)}`
      return {
        apiVersion: API_VERSION,
        kind: 'AlertPolicy',
        metadata: { name },
        spec: {
          description: `${severity}: ${pair.budget * 100}% of a ${periodName(window)} budget burnt in ${long}, confirmed over ${shorthand(pair.shortMs)}`,
          alertWhenBreaching: true,
          alertWhenResolved: true,
          alertWhenNoData: false,
          conditions: [
            {
              kind: 'AlertCondition',
              metadata: { name, annotations: { [ANNOTATIONS.shortWindow]: shorthand(pair.shortMs) } },
              spec: {
                severity,
                condition: {
                  kind: 'burnrate',
                  op: 'gte',
                  threshold: Number(threshold(pair, periodMs(window)).toFixed(2)),
                  lookbackWindow: long,
                  alertAfter: '0m',
                },
              },
            },
          ],
          // Where alerts go is alerts.yaml's routing tree, not the SLO's.
          notificationTargets: [],
        },
      }
    }),
  )
}

/** The service an SLO is about, from what its SLI names: a flow, connector, system or source. */
export function serviceOf(sli: Readonly<Record<string, Readonly<Record<string, unknown>>>>): string {
  const [kind, settings = {}] = Object.entries(sli)[0] ?? ['signalbox']
  const named = settings.flow ?? settings.connector ?? settings.system ?? settings.source ?? settings.location
  return typeof named === 'string' ? named : kind === 'freshness' ? 'inventory' : 'signalbox'
}

function metric(sli: unknown, events: 'good' | 'total') {
  return { metricSource: { type: SOURCE_TYPE, spec: { ...(sli as object), events } } }
}

/** One SLO of `slos.yaml` (as written) as its OpenSLO SLI and SLO documents. */
export function sloDocuments(id: string, slo: RawSlo) {
  const name = openSloName(id)
  const sli = slo.sli as Record<string, Record<string, unknown>>
  const annotations: Record<string, string> = {}
  if (Array.isArray(slo.depends_on)) annotations[ANNOTATIONS.dependsOn] = slo.depends_on.join(',')
  if (slo.min_events !== undefined) annotations[ANNOTATIONS.minEvents] = String(slo.min_events)
  if (slo.unit !== undefined) annotations[ANNOTATIONS.unit] = String(slo.unit)
  const labels = slo.labels as Record<string, string> | undefined
  return [
    {
      apiVersion: API_VERSION,
      kind: 'SLI',
      metadata: { name },
      spec: {
        description: `Signalbox ${Object.keys(sli)[0]} SLI of ${id}`,
        ratioMetric: { counter: true, good: metric(sli, 'good'), total: metric(sli, 'total') },
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'SLO',
      metadata: {
        name,
        ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
      spec: {
        description: slo.description,
        service: serviceOf(sli),
        indicatorRef: name,
        timeWindow: [timeWindow(slo.window as RawWindow)],
        budgetingMethod: 'Occurrences',
        objectives: [{ target: slo.objective }],
        alertPolicies: alertPolicies(slo.window as RawWindow).map((p) => ({
          alertPolicyRef: p.metadata.name,
        })),
      },
    },
  ]
}

/** `slos.yaml` (as written) as OpenSLO documents: the AlertPolicies the SLOs use, then each SLI and SLO. */
export function openSloDocuments(doc: Readonly<Record<string, RawSlo>>): object[] {
  const policies = new Map(
    Object.values(doc)
      .flatMap((slo) => alertPolicies(slo.window as RawWindow))
      .map((p) => [p.metadata.name, p]),
  )
  return [...policies.values(), ...Object.entries(doc).flatMap(([id, slo]) => sloDocuments(id, slo))]
}

/** The documents as one multi-document YAML stream. */
export const exportOpenSlo = (doc: Readonly<Record<string, RawSlo>>): string =>
  openSloDocuments(doc)
    .map((d) => stringify(d, { lineWidth: 0 }))
    .join('---\n')
