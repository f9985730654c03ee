import type { Store } from '../client.ts'
import { type Fragment, join, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { connectorCounts, connectorEvents, connectorFailures, connectorSeries } from './connector-success.ts'
import type { FlowShape } from './flow-stages.ts'
import { flowEntitiesAsOf } from './flow-state.ts'

/** An SLI as the store computes it: which events count, and which of them are good. */
export type Sli =
  | { kind: 'flow_latency'; flow: FlowShape; fromStage: number; toStage: number; withinMs: number }
  | { kind: 'flow_completion'; flow: FlowShape; withinMs: number }
  | { kind: 'connector_success'; connector?: string; system?: string }
  | { kind: 'freshness'; channels: readonly string[]; withinMs: number }
  | { kind: 'absence'; source?: string; system?: string; location?: string; withinMs: number }

const MINUTE_MS = 60_000
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

/**
 * Rows (at_ms, good, subject, subject_kind, detail, late_ms): the SLI's events whose time falls in
 * [since, until). Flow SLIs read each entity's stage times from the flow state (store/queries/
 * flow-state.ts, merged with the entities changed since it): an entity's whole history, where the
 * range decides what counts, so an SLO evaluation does not regroup a month of progress each tick.
 */
export async function sliEvents(store: Store, sli: Sli, since: Date, until: Date): Promise<Fragment> {
  const from = new Date(since.getTime() - ('withinMs' in sli ? sli.withinMs : 0))
  const range = sql`at_ms >= ${since.getTime()} AND at_ms < ${until.getTime()}`
  let events: Fragment
  switch (sli.kind) {
    case 'flow_latency':
      // Entities cancelled before reaching `b` left the flow: neither good nor bad.
      events = deadlineEvents(
        sli.flow.entityType,
        await flowEntitiesAsOf(store, sli.flow, from, until),
        sql`ts[${sli.fromStage}]`,
        sql`ts[${sli.toStage}]`,
        sli.withinMs,
        sql`NOT (terminated AND NOT ok)`,
        until,
      )
      break
    case 'flow_completion': {
      const last = sli.flow.stageEvents.length
      events = deadlineEvents(
        sli.flow.entityType,
        await flowEntitiesAsOf(store, sli.flow, from, until),
        sql`ts[1]`,
        sql`multiIf(ts[${last}] > 0 AND terminated_ms > 0, least(ts[${last}], terminated_ms), ts[${last}] > 0, ts[${last}], terminated_ms)`,
        sli.withinMs,
        sql`1`,
        until,
      )
      break
    }
    case 'connector_success':
      events = connectorEvents(sli, sql`timestamp >= ${since} AND timestamp < ${until}`)
      break
    case 'freshness':
      // Each stock change must reach every channel; a publication that never came is bad at the deadline.
      events = sql`
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
            WHERE type = 'retail.inventory.adjusted' AND time >= ${from} AND time < ${until}
          ) AS a
          LEFT JOIN (
            SELECT subject AS sku, location AS loc, JSONExtractRaw(data, 'change') AS change_id,
              JSONExtractString(data, 'channel') AS ch, min(toUnixTimestamp64Milli(time)) AS p_ms
            FROM ${table(TABLES.events)}
            WHERE type = 'retail.inventory.published' AND time >= ${from} AND time < ${until}
            GROUP BY sku, loc, change_id, ch
          ) AS p ON a.sku = p.sku AND a.loc = p.loc AND a.change_id = p.change_id AND a.ch = p.ch
        )`
      break
    case 'absence': {
      // One event per whole minute since the source was first heard from: good while it was heard
      // from within `withinMs` (a time-slice SLI; minutes before its first event are not counted).
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
      events = sql`
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
      break
    }
  }
  return sql`SELECT * FROM (${events}) WHERE ${range}`
}

export interface WindowCounts {
  readonly windowMs: number
  readonly good: number
  readonly total: number
}

/** Good and total events in each window ending at `now`, from one scan of the longest. */
export async function sliCounts(
  store: Store,
  sli: Sli,
  windowsMs: readonly number[],
  now: Date,
): Promise<WindowCounts[]> {
  if (sli.kind === 'connector_success') return connectorCounts(store, sli, windowsMs, now)
  const longest = Math.max(...windowsMs)
  const nowMs = now.getTime()
  const windows = typed(windowsMs, 'Array(Int64)')
  const [row] = await store.query<{ totals: string[]; goods: string[] }>(sql`
    SELECT sumForEach(arrayMap(w -> toUInt64(at_ms >= ${nowMs} - w), ${windows})) AS totals,
      sumForEach(arrayMap(w -> toUInt64(at_ms >= ${nowMs} - w AND good), ${windows})) AS goods
    FROM (${await sliEvents(store, sli, new Date(nowMs - longest), now)})`)
  return windowsMs.map((windowMs, i) => ({
    windowMs,
    good: Number(row?.goods?.[i] ?? 0),
    total: Number(row?.totals?.[i] ?? 0),
  }))
}

export interface SliBucket {
  readonly bucket: string
  readonly good_events: string
  readonly total_events: string
}

/** Good and total events per step, oldest first: the SLI and the budget over time. */
export async function sliSeries(
  store: Store,
  sli: Sli,
  since: Date,
  until: Date,
  stepMs: number,
): Promise<SliBucket[]> {
  // Whole minutes from the rollup fall into one bucket only when steps are whole minutes.
  if (sli.kind === 'connector_success' && stepMs % MINUTE_MS === 0)
    return connectorSeries(store, sli, since, until, stepMs)
  return store.query<SliBucket>(sql`
    SELECT intDiv(at_ms, ${stepMs}) * ${stepMs} AS bucket, sum(good) AS good_events, count() AS total_events
    FROM (${await sliEvents(store, sli, since, until)})
    GROUP BY bucket ORDER BY bucket`)
}

export interface BadEvent {
  /** The entity (order, return, SKU; or a trace id) the event is about, and what else identifies it. */
  readonly subject: string
  readonly subject_kind: string
  readonly detail: string
  readonly at_ms: string
  readonly late_ms: string
}

/** The events that burned the budget, latest first: the entities behind the number. */
export async function badEvents(
  store: Store,
  sli: Sli,
  since: Date,
  until: Date,
  limit: number,
): Promise<BadEvent[]> {
  const events =
    sli.kind === 'connector_success'
      ? await connectorFailures(store, sli, since, until, limit)
      : await sliEvents(store, sli, since, until)
  return store.query<BadEvent>(sql`
    SELECT subject, subject_kind, detail, toString(at_ms) AS at_ms, toString(late_ms) AS late_ms
    FROM (${events})
    WHERE good = 0
    ORDER BY at_ms DESC
    LIMIT ${limit}`)
}
