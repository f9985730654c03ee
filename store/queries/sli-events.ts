import { MINUTE_MS } from '../../core/duration.ts'
import { INVENTORY_EVENTS } from '../../core/vocabulary.ts'
import { type Fragment, join, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { flowEntitiesAsOf } from './flow-state.ts'
import { eventSli, type SliQuery } from './sli.ts'

/**
 * The SLIs read from business events each time. Flow SLIs read each entity's stage times from the
 * flow state (store/queries/flow-state.ts, merged with the entities changed since it): an entity's
 * whole history, where the range decides what counts, so an SLO evaluation does not regroup a month
 * of progress each tick.
 */

/**
 * An entity that should reach `b` within `withinMs` of `a` counts when it does (good) or at its
 * deadline (bad), never later when it finally arrives: the budget burns while customers wait.
 */
function deadlineEvents(
  kind: string,
  stages: Fragment,
  a: Fragment,
  b: Fragment,
  withinMs: number,
  where: Fragment,
  until: Date,
) {
  return sql`
    SELECT if(ok, b_ms, a_ms + ${withinMs}) AS at_ms, toUInt8(ok) AS good, entity_id AS subject, ${kind} AS subject_kind, '' AS detail,
      if(ok, 0, if(b_ms > 0, b_ms, ${until.getTime()}) - a_ms - ${withinMs}) AS late_ms
    FROM (
      SELECT entity_id, ${a} AS a_ms, ${b} AS b_ms, b_ms > 0 AND b_ms <= a_ms + ${withinMs} AS ok, terminated
      FROM (${stages})
    )
    WHERE a_ms > 0 AND ${where}`
}

export const flowLatency: SliQuery<'flow_latency'> = eventSli(async (store, sli, { from, until }) =>
  // Entities cancelled before reaching `b` left the flow: neither good nor bad.
  deadlineEvents(
    sli.flow.entityType,
    await flowEntitiesAsOf(store, sli.flow, from, until),
    sql`ts[${sli.fromStage}]`,
    sql`ts[${sli.toStage}]`,
    sli.withinMs,
    sql`NOT (terminated AND NOT ok)`,
    until,
  ),
)

export const flowCompletion: SliQuery<'flow_completion'> = eventSli(async (store, sli, { from, until }) => {
  const last = sli.flow.stageEvents.length
  return deadlineEvents(
    sli.flow.entityType,
    await flowEntitiesAsOf(store, sli.flow, from, until),
    sql`ts[1]`,
    sql`multiIf(ts[${last}] > 0 AND terminated_ms > 0, least(ts[${last}], terminated_ms), ts[${last}] > 0, ts[${last}], terminated_ms)`,
    sli.withinMs,
    sql`1`,
    until,
  )
})

/** Each stock change must reach every channel; a publication that never came is bad at the deadline. */
export const freshness: SliQuery<'freshness'> = eventSli(
  (_store, sli, { from, until }) => sql`
    SELECT if(ok, p_ms, a_ms + ${sli.withinMs}) AS at_ms, toUInt8(ok) AS good,
      sku AS subject, 'sku' AS subject_kind, concat(loc, ' → ', ch) AS detail,
      if(ok, 0, if(p_ms > 0, p_ms, ${until.getTime()}) - a_ms - ${sli.withinMs}) AS late_ms
    FROM (
      SELECT a.sku AS sku, a.loc AS loc, a.ch AS ch, a.a_ms AS a_ms, p.p_ms AS p_ms,
        p_ms > 0 AND p_ms <= a_ms + ${sli.withinMs} AS ok
      FROM (
        SELECT subject AS sku, location AS loc, JSONExtractRaw(data, 'change') AS change_id,
          toUnixTimestamp64Milli(time) AS a_ms, arrayJoin(${[...sli.channels]}) AS ch
        FROM ${table(TABLES.events)}
        WHERE type = ${INVENTORY_EVENTS.adjusted} AND time >= ${from} AND time < ${until}
      ) AS a
      LEFT JOIN (
        SELECT subject AS sku, location AS loc, JSONExtractRaw(data, 'change') AS change_id,
          JSONExtractString(data, 'channel') AS ch, min(toUnixTimestamp64Milli(time)) AS p_ms
        FROM ${table(TABLES.events)}
        WHERE type = ${INVENTORY_EVENTS.published} AND time >= ${from} AND time < ${until}
        GROUP BY sku, loc, change_id, ch
      ) AS p ON a.sku = p.sku AND a.loc = p.loc AND a.change_id = p.change_id AND a.ch = p.ch
    )`,
)

/**
 * One event per whole minute since the source was first heard from: good while it was heard from
 * within `withinMs` (a time-slice SLI; minutes before its first event are not counted).
 */
export const absence: SliQuery<'absence'> = eventSli((_store, sli, { since, until, from }) => {
  const scope = join(
    [
      sql`1`,
      ...(sli.source ? [sql`source = ${sli.source}`] : []),
      ...(sli.system ? [sql`system = ${sli.system}`] : []),
      ...(sli.location ? [sql`location = ${sli.location}`] : []),
    ],
    ' AND ',
  )
  const first = Math.ceil(since.getTime() / MINUTE_MS) * MINUTE_MS
  return sql`
    SELECT minute_ms AS at_ms, toUInt8(minute_ms - last_ms <= ${sli.withinMs}) AS good, '' AS subject, '' AS subject_kind,
      concat('silent since ', toString(fromUnixTimestamp64Milli(last_ms))) AS detail,
      greatest(minute_ms - last_ms - ${sli.withinMs}, 0) AS late_ms
    FROM (
      SELECT minute_ms, max(seen_ms) OVER (ORDER BY minute_ms ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_ms
      FROM (
        SELECT arrayJoin(range(${first - Math.ceil(sli.withinMs / MINUTE_MS) * MINUTE_MS}, ${until.getTime()}, ${MINUTE_MS})) AS minute_ms
      ) AS minutes
      LEFT JOIN (
        SELECT toUnixTimestamp(toStartOfMinute(time)) * 1000 + ${MINUTE_MS} AS minute_ms, max(toUnixTimestamp64Milli(time)) AS seen_ms
        FROM ${table(TABLES.events)}
        WHERE time >= ${from} AND time < ${until} AND ${scope}
        GROUP BY minute_ms
      ) AS seen USING (minute_ms)
    )
    WHERE last_ms > 0`
})
