import { modifyTtl, type Target } from './ddl.ts'
import { days as checkedDays } from './migrations/frozen-ddl.ts'
import { TABLES } from './tables.ts'

export interface RetentionDays {
  readonly spans: number
  readonly logs: number
  readonly events: number
  /**
   * How long the spans, logs and trace index of a failed trace are kept (docs/operations.md,
   * "Retention"); unset: as long as a success's. Never shorter than the success retention.
   */
  readonly failed?: number
  /** The same per flow (`integration.flow` of the failing span or the exception's flow). */
  readonly failedByFlow?: Readonly<Record<string, number>>
}

/** How a flow is spelled (core/flows.ts): written into DDL, so checked like the days are. */
const FLOW_NAME = /^[a-z][a-z0-9_]*$/

/** The longest any failed trace is kept, and at least the success retention of `successDays`. */
function longestKeep(days: RetentionDays, successDays: number): number {
  return Math.max(successDays, days.failed ?? successDays, ...Object.values(days.failedByFlow ?? {}))
}

/**
 * How long a failed trace is kept, per row of `failed_traces`: its flow's setting, else the default.
 * Flow names are checked before they are written into the DDL (which takes no bound parameters).
 */
function failedKeepDays(days: RetentionDays): string {
  const d = checkedDays
  const fallback = d(days.failed ?? days.spans)
  const byFlow = Object.entries(days.failedByFlow ?? {})
  if (byFlow.length === 0) return String(fallback)
  const arms = byFlow.map(([flow, n]) => {
    if (!FLOW_NAME.test(flow)) throw new Error(`retention: '${flow}' is not a flow name`)
    return `flow = '${flow}', ${d(n)}`
  })
  return `multiIf(${arms.join(', ')}, ${fallback})`
}

/**
 * Rows of traces that failed are kept `failed` days (per flow where set), the others `successDays`:
 * a row past the success retention is deleted unless its trace is in `failed_traces` and still
 * within its own retention; every row goes at the longest. The subquery is read when TTL merges a
 * part (the set of failed traces is small: the failures, not the traffic). On a cluster it reads the
 * node's own `failed_traces`, which holds the failures of the traces sharded there.
 */
function byOutcome(time: string, successDays: number, days: RetentionDays, t: Target): string {
  const d = checkedDays
  const longest = d(longestKeep(days, successDays))
  const failed = `${t.database}.${t.cluster ? `${TABLES.failedTraces}_local` : TABLES.failedTraces}`
  if (longest === d(successDays)) return `${time} + INTERVAL ${longest} DAY`
  return (
    `${time} + INTERVAL ${longest} DAY, ` +
    `${time} + INTERVAL ${d(successDays)} DAY DELETE WHERE trace_id NOT IN ` +
    `(SELECT trace_id FROM ${failed} WHERE time + toIntervalDay(${failedKeepDays(days)}) > now())`
  )
}

/**
 * TTL expressions per table. Tables are partitioned by day and set `ttl_only_drop_parts`, so expiry
 * drops whole parts instead of rewriting them, except where the outcome decides: a part of spans,
 * logs or the trace index past the success retention is rewritten without its successful traces.
 * Days come from validated integer settings (DDL cannot take bound parameters).
 */
export function ttlExpressions(
  days: RetentionDays,
  t: Target = { database: 'signalbox' },
): Record<string, string> {
  const d = checkedDays
  const failedKeep = longestKeep(days, days.spans)
  return {
    [TABLES.spans]: byOutcome('toDateTime(timestamp)', days.spans, days, t),
    // A resource outlives every span that names it. Collectors write it again each hour they see it;
    // the margin covers that hour, a span stamped up to a day ahead, and a span's day partition,
    // which goes whole at the end of its day.
    [TABLES.spanResources]: `seen + INTERVAL ${d(failedKeep + 3)} DAY`,
    [TABLES.traceIndex]: byOutcome('toDateTime(start)', days.spans, days, t),
    [TABLES.logs]: byOutcome('toDateTime(timestamp)', days.logs, days, t),
    [TABLES.failedTraces]: `toDateTime(time) + INTERVAL ${d(Math.max(failedKeep, longestKeep(days, days.logs)))} DAY`,
    [TABLES.events]: `toDateTime(time) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.eventKeys]: `toDateTime(time) + INTERVAL ${d(days.events)} DAY`,
    // Business history outlives raw telemetry: the index keeps as long as the events do.
    [TABLES.entityIndex]: `toDateTime(time) + INTERVAL ${d(Math.max(days.events, days.spans))} DAY`,
    // What failed and how it was fixed is kept as long as the business history.
    [TABLES.entityProgress]: `toDateTime(first_time) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.flowMinutes]: `minute + INTERVAL ${d(days.spans)} DAY`,
    [TABLES.sliMinutes]: `minute + INTERVAL ${d(days.spans)} DAY`,
    [TABLES.systemEdges]: `minute + INTERVAL ${d(days.spans)} DAY`,
    [TABLES.flowEntities]: `toDateTime(intDiv(last_ms, 1000)) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.flowTallies]: `minute + INTERVAL ${d(days.events)} DAY`,
    [TABLES.flowWaiting]: `toDateTime(intDiv(last_ms, 1000)) + INTERVAL ${d(days.events)} DAY`,
    // An exception never goes before the trace it points to.
    [TABLES.exceptions]: `toDateTime(last_seen) + INTERVAL ${d(Math.max(days.events, failedKeep))} DAY`,
    // Alert history and the delivery log answer post-incident questions months later.
    [TABLES.alertTransitions]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.notifications]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.replays]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.auditLog]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    // A webhook no mapping could read waits for its mapping as long as the events it should have been.
    [TABLES.unmappedWebhooks]: `toDateTime(received_at) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.contractViolations]: `toDateTime(time) + INTERVAL ${d(days.events)} DAY`,
    // Versions and sightings are history: kept as long as the business events.
    [TABLES.integrationSightings]: `hour + INTERVAL ${d(days.events)} DAY`,
  }
}

export function retentionStatements(days: RetentionDays, t: Target): string[] {
  return Object.entries(ttlExpressions(days, t)).map(([table, ttl]) => modifyTtl(table, ttl, t))
}
