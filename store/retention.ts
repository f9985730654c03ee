import { modifyTtl, type Target } from './ddl.ts'
import { days as checkedDays } from './migrations/frozen-ddl.ts'
import { TABLES } from './tables.ts'

export interface RetentionDays {
  readonly spans: number
  readonly logs: number
  readonly events: number
}

/**
 * TTL expressions per table. Tables are partitioned by day and set `ttl_only_drop_parts`, so expiry
 * drops whole parts instead of rewriting them. Days come from validated integer settings (DDL cannot
 * take bound parameters).
 */
export function ttlExpressions(days: RetentionDays): Record<string, string> {
  const d = checkedDays
  return {
    [TABLES.spans]: `toDateTime(timestamp) + INTERVAL ${d(days.spans)} DAY`,
    [TABLES.spanKeys]: `toDateTime(timestamp) + INTERVAL ${d(days.spans)} DAY`,
    [TABLES.traceIndex]: `toDateTime(start) + INTERVAL ${d(days.spans)} DAY`,
    [TABLES.logs]: `toDateTime(timestamp) + INTERVAL ${d(days.logs)} DAY`,
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
    [TABLES.exceptions]: `toDateTime(last_seen) + INTERVAL ${d(days.events)} DAY`,
    // Alert history and the delivery log answer post-incident questions months later.
    [TABLES.alertTransitions]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.notifications]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.replays]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    [TABLES.auditLog]: `toDateTime(at) + INTERVAL ${d(days.events)} DAY`,
    // A webhook no mapping could read waits for its mapping as long as the events it should have been.
    [TABLES.unmappedWebhooks]: `toDateTime(received_at) + INTERVAL ${d(days.events)} DAY`,
  }
}

export function retentionStatements(days: RetentionDays, t: Target): string[] {
  return Object.entries(ttlExpressions(days)).map(([table, ttl]) => modifyTtl(table, ttl, t))
}
