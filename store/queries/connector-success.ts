import { MINUTE_MS } from '../../core/duration.ts'
import { DATA_ERROR_STATUSES, ERROR_KIND_ATTRIBUTE, RETRIED_ATTRIBUTE } from '../../core/vocabulary.ts'
import type { Store } from '../client.ts'
import { type Fragment, join, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'
import {
  badOf,
  inRange,
  type Sli,
  type SliBucket,
  type SliQuery,
  seriesOf,
  type WindowCounts,
} from './sli.ts'

/**
 * The `connector_success` SLI. Whole minutes come from the per-minute rollup (migration 15), so an
 * SLO evaluation reads a month as 43,200 small rows instead of every span; the parts of minutes a
 * window only partly covers are read from the spans, so counts stay exact to the millisecond.
 */
type ConnectorSli = Sli<'connector_success'>

const floorMinute = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS
const ceilMinute = (ms: number) => Math.ceil(ms / MINUTE_MS) * MINUTE_MS

/**
 * The SLI's events among the spans matching `time`: a connector's sync runs, or the calls made to a
 * system (the last attempt of each: a 429 that a retry got past is not a failed call). Failures
 * caused by the data sent (a 422 from the ERP) are the data's problem, not the integration's, and
 * are left out. The rollup's view applies the same rules (store/migrations/0015_sli_minutes.ts).
 */
function connectorEvents(sli: ConnectorSli, time: Fragment): Fragment {
  const scope = sli.connector
    ? sql`kind = 'consumer' AND startsWith(name, 'sync ') AND connector = ${sli.connector}
        AND NOT (status_code = 'error' AND attributes[${ERROR_KIND_ATTRIBUTE}] = 'data')`
    : sql`kind = 'client' AND system = ${sli.system ?? ''} AND attributes[${RETRIED_ATTRIBUTE}] != 'true'
        AND NOT (status_code = 'error' AND attributes['http.response.status_code'] IN ${DATA_ERROR_STATUSES})`
  return sql`
    SELECT toUnixTimestamp64Milli(timestamp) AS at_ms, toUInt8(status_code != 'error') AS good,
      if(empty(entities), trace_id, entities[1].2) AS subject,
      if(empty(entities), 'trace', toString(entities[1].1)) AS subject_kind, name AS detail, 0 AS late_ms
    FROM ${table(TABLES.spans)}
    WHERE (${time}) AND ${scope}`
}

/** The SLI's rows in the rollup: by connector, or by the system called. */
const rollupKey = (sli: ConnectorSli) =>
  sql`scope = ${sli.connector ? 'connector' : 'system'} AND key = ${sli.connector ?? sli.system ?? ''}`

/**
 * Rows (at_ms, whole, good, total): the rollup's minutes in [wholeFrom, wholeTo) (`whole` = 1,
 * at_ms the minute's start), and single events from the spans in the `partial` ranges.
 */
function minuteRows(sli: ConnectorSli, wholeFrom: number, wholeTo: number, partial: Array<[number, number]>) {
  const ranges = partial.filter(([a, b]) => b > a)
  const time = ranges.length
    ? join(
        ranges.map(([a, b]) => sql`(timestamp >= ${new Date(a)} AND timestamp < ${new Date(b)})`),
        ' OR ',
      )
    : sql`0`
  return sql`
    SELECT toInt64(toUnixTimestamp(minute)) * 1000 AS at_ms, 1 AS whole, toUInt64(sum(good)) AS good,
      toUInt64(sum(total)) AS total
    FROM ${table(TABLES.sliMinutes)}
    WHERE ${rollupKey(sli)}
      AND minute >= ${new Date(wholeFrom)} AND minute < ${new Date(wholeTo)}
    GROUP BY minute
    UNION ALL
    SELECT at_ms, 0 AS whole, toUInt64(good) AS good, toUInt64(1) AS total FROM (${connectorEvents(sli, time)})`
}

/** Good and total events in each window ending at `now`. */
async function connectorCounts(
  store: Store,
  sli: ConnectorSli,
  windowsMs: readonly number[],
  now: Date,
): Promise<WindowCounts[]> {
  const nowMs = now.getTime()
  const starts = windowsMs.map((w) => nowMs - w)
  const wholeTo = floorMinute(nowMs)
  // Each window: its whole minutes, the start of its first minute, and the minute under way.
  const partial: Array<[number, number]> = [
    ...starts.map((s): [number, number] => [s, Math.min(ceilMinute(s), wholeTo)]),
    [wholeTo, nowMs],
  ]
  const counted = sql`at_ms >= ${nowMs} - w AND (whole OR at_ms >= ${wholeTo}
    OR at_ms < intDiv(${nowMs} - w + ${MINUTE_MS - 1}, ${MINUTE_MS}) * ${MINUTE_MS})`
  const windows = typed(windowsMs, 'Array(Int64)')
  const [row] = await store.query<{ totals: string[]; goods: string[] }>(sql`
    SELECT sumForEach(arrayMap(w -> if(${counted}, total, 0), ${windows})) AS totals,
      sumForEach(arrayMap(w -> if(${counted}, good, 0), ${windows})) AS goods
    FROM (${minuteRows(sli, ceilMinute(Math.min(...starts)), wholeTo, partial)})`)
  return windowsMs.map((windowMs, i) => ({
    windowMs,
    good: Number(row?.goods?.[i] ?? 0),
    total: Number(row?.totals?.[i] ?? 0),
  }))
}

/** Good and total events per step (a whole number of minutes), oldest first. */
function connectorSeries(
  store: Store,
  sli: ConnectorSli,
  since: Date,
  until: Date,
  stepMs: number,
): Promise<SliBucket[]> {
  const [s, u] = [since.getTime(), until.getTime()]
  const wholeFrom = ceilMinute(s)
  const wholeTo = Math.max(wholeFrom, floorMinute(u))
  return store.query<SliBucket>(sql`
    SELECT intDiv(at_ms, ${stepMs}) * ${stepMs} AS bucket, sum(good) AS good_events, sum(total) AS total_events
    FROM (${minuteRows(sli, wholeFrom, wholeTo, [
      [s, Math.min(wholeFrom, u)],
      [wholeTo, u],
    ])})
    GROUP BY bucket ORDER BY bucket`)
}

/**
 * The SLI's events in [since, until) that can hold its newest `limit` failures: those of the newest
 * minutes with a failure in the rollup. Each such minute holds one at least, and only the first and
 * last can hold failures outside the range, so `limit` + 2 of them suffice; a month is not scanned
 * for the list of what burned the budget.
 */
async function connectorFailures(
  store: Store,
  sli: ConnectorSli,
  since: Date,
  until: Date,
  limit: number,
): Promise<Fragment> {
  const minutes = await store.query<{ at_ms: string }>(sql`
    SELECT toInt64(toUnixTimestamp(minute)) * 1000 AS at_ms
    FROM ${table(TABLES.sliMinutes)}
    WHERE ${rollupKey(sli)}
      AND minute >= ${new Date(floorMinute(since.getTime()))} AND minute < ${until}
    GROUP BY minute HAVING sum(total) > sum(good)
    ORDER BY minute DESC
    LIMIT ${limit + 2}`)
  const ranges = minutes.map(
    (m) =>
      sql`(timestamp >= ${new Date(Number(m.at_ms))} AND timestamp < ${new Date(Number(m.at_ms) + MINUTE_MS)})`,
  )
  return connectorEvents(
    sli,
    sql`timestamp >= ${since} AND timestamp < ${until} AND (${ranges.length ? join(ranges, ' OR ') : sql`0`})`,
  )
}

export const connectorSuccess: SliQuery<'connector_success'> = {
  events: async (_store, sli, since, until) =>
    inRange(connectorEvents(sli, sql`timestamp >= ${since} AND timestamp < ${until}`), since, until),
  counts: connectorCounts,
  series: async (store, sli, since, until, stepMs) =>
    // Whole minutes from the rollup fall into one bucket only when steps are whole minutes.
    stepMs % MINUTE_MS === 0
      ? connectorSeries(store, sli, since, until, stepMs)
      : seriesOf(store, await connectorSuccess.events(store, sli, since, until), stepMs),
  bad: async (store, sli, since, until, limit) =>
    badOf(store, await connectorFailures(store, sli, since, until, limit), limit),
}
