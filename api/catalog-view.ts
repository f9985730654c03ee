import type { SloDefinition } from '../alerts/spec.ts'
import { type Catalog, type Integration, tierOf } from '../core/catalog.ts'
import { HOUR_MS } from '../core/duration.ts'
import type { Store } from '../store/client.ts'
import { openExceptionsPerConnector } from '../store/queries/alert-signals.ts'
import { type AlertInstance, listInstances } from '../store/queries/alerts.ts'
import { connectorActivity, sightingsSince } from '../store/queries/catalog.ts'
import type { Change } from '../store/queries/changes.ts'
import { isoFromMs } from './params.ts'

/** A change as the api shows it. */
export const changeView = (c: Change) => ({
  integration: c.integration,
  version: c.version,
  previous: c.previous,
  at: new Date(c.atMs).toISOString(),
  source: c.source,
  catalogued: c.catalogued,
})

/** The SLOs of an integration: those it is the integration of, and those depending on its connectors. */
export const slosOf = (i: Integration, slos: readonly SloDefinition[]) =>
  slos.filter(
    (s) =>
      s.integration?.id === i.id ||
      s.dependsOn.some((connector) => i.telemetry.connectors.includes(connector)),
  )

/**
 * An SLO's state as its last evaluation left its alerts: `burning` (one fires), `no_data`, `ok`, or
 * `not_evaluated` (the evaluator has not looked at it yet). Read from the alert state rather than
 * computed again, so the catalog stays one cheap read per source; the SLO page has the budget.
 */
function sloStateFromAlerts(alerts: readonly AlertInstance[]) {
  if (alerts.length === 0) return 'not_evaluated' as const
  if (alerts.some((a) => a.state === 'firing')) return 'burning' as const
  if (alerts.every((a) => a.state === 'nodata')) return 'no_data' as const
  return 'ok' as const
}

/**
 * `healthy` (at least 99% of the last hour's runs succeeded), `degraded` (90%), `failing` (less, or
 * an alert on it pages), `idle` (nothing in the last hour) or `unknown` (nothing it runs is counted).
 */
function healthOf(runs: number, ok: number, paging: boolean, measured: boolean) {
  if (paging) return 'failing' as const
  if (!measured) return 'unknown' as const
  if (runs === 0) return 'idle' as const
  const ratio = ok / runs
  return ratio >= 0.99 ? ('healthy' as const) : ratio >= 0.9 ? ('degraded' as const) : ('failing' as const)
}

/**
 * Every integration with its live state: health and volume over the last hour against the expected,
 * its SLOs' state, open exceptions, last run, firing alerts and last change. One read of each source
 * for the whole catalog.
 */
export async function catalogEntries(
  store: Store,
  catalog: Catalog,
  slos: readonly SloDefinition[],
  changes: readonly Change[],
  list: readonly Integration[],
  nowMs = Date.now(),
) {
  const since = new Date(nowMs - HOUR_MS)
  const [activity, sightings, exceptions, alerts] = await Promise.all([
    connectorActivity(store, since),
    sightingsSince(store, since),
    openExceptionsPerConnector(store),
    listInstances(store),
  ])
  const exceptionsBy = new Map(exceptions.map((e) => [e.connector, Number(e.n)]))
  return list.map((i) => {
    const runs = i.telemetry.connectors.map((c) => activity.get(c) ?? { runs: 0, ok: 0, lastMs: 0 })
    const seen = sightings.filter(
      (s) =>
        (s.kind === 'service' && i.telemetry.services.includes(s.name)) ||
        (s.kind === 'source' && (i.telemetry.sources.includes(s.name) || i.telemetry.jobs.includes(s.name))),
    )
    // A connector's volume is its sync runs; anything else's, the spans and events it sent.
    const byRuns = i.telemetry.connectors.length > 0
    const observed = byRuns ? runs.reduce((n, r) => n + r.runs, 0) : seen.reduce((n, s) => n + s.n, 0)
    const lastMs = Math.max(0, ...runs.map((r) => r.lastMs), ...(byRuns ? [] : seen.map((s) => s.lastSeenMs)))
    const firing = alerts.filter((a) => a.state === 'firing' && a.labels.integration === i.id)
    const last = [...changes].reverse().find((c) => c.integration === i.id)
    return {
      id: i.id,
      name: i.name,
      kind: i.kind,
      owner: i.owner,
      domain: i.domain,
      tier: i.tier,
      tierMeaning: tierOf(catalog, i.tier).meaning,
      latency: i.latency,
      pattern: i.pattern,
      expectedVolume: i.expectedVolume,
      failureImpact: i.failureImpact,
      flows: i.flows,
      telemetry: i.telemetry,
      health: healthOf(
        runs.reduce((n, r) => n + r.runs, 0),
        runs.reduce((n, r) => n + r.ok, 0),
        firing.some((a) => a.severity === 'page' && !a.suppressedBy),
        byRuns,
      ),
      slos: slosOf(i, slos).map((s) => ({
        id: s.id,
        state: sloStateFromAlerts(alerts.filter((a) => a.labels.slo === s.id)),
        objective: s.objective,
        objectiveFrom: s.objectiveFrom,
      })),
      openExceptions: i.telemetry.connectors.reduce((n, c) => n + (exceptionsBy.get(c) ?? 0), 0),
      firingAlerts: firing.length,
      lastRun: lastMs > 0 ? isoFromMs(lastMs) : null,
      volume: {
        measured: byRuns ? ('sync runs' as const) : ('spans and events' as const),
        lastHour: observed,
        expectedPerHour: i.expectedVolume.perHour,
        ratio: i.expectedVolume.perHour > 0 ? observed / i.expectedVolume.perHour : null,
      },
      lastChange: last ? changeView(last) : null,
    }
  })
}
