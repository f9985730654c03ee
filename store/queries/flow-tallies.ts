import type { Store } from '../client.ts'
import { type Fragment, join, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'
import type { LatencyRow, ProgressAndThroughput } from './flow-metric-rows.ts'
import { type FlowShape, withAwaitedStage } from './flow-stages.ts'

/**
 * Flow metrics from per-minute tallies instead of every entity: at a marketplace's 3.4 million orders
 * a day, a day's funnel and stage latencies read about 50,000 small rows, not 3.4 million entity states
 * (docs/benchmarks.md). The tallies are what each entity counts in, summed by minute:
 *
 * - 1 entered, 2 reached (one row per stage reached), 3 completed, 4 terminated: by the minute the
 *   entity entered the flow (its first stage), so a range's funnel is the entities that entered in it;
 * - 5 waiting: by the minute of the last stage reached before the stage it awaits (`withAwaitedStage`),
 *   for the backlog of entities still open;
 * - 6 delay: by the minute a stage was reached, the wait since the stage before, as a log-scale bucket
 *   (16 a doubling) with the waits' sum: a percentile is read from the buckets' means, within a
 *   bucket's width (4.4 %) of the exact one, and exact when a bucket's waits are equal.
 *
 * They are kept by the flow-state refresh (store/queries/flow-state.ts) as signed changes: an entity
 * refreshed adds its new counts and takes away its old ones. A read adds the same change for the
 * entities changed since the last refresh, so it is as fresh as a read of the entities themselves.
 */

/** The sort key of `flow_tallies` (with `flow`), and of `flow_waiting`: what a signed row counts in. */
export const TALLY_KEY = sql`kind, minute, stage, channel, delay_bucket`
export const WAITING_KEY = sql`awaited, since_ms, entity_id, awaited_after, last_stage, channel, last_ms`
const TALLY_COLUMNS = sql`${TALLY_KEY}, n, delay_ms_sum`

export const KIND = { entered: 1, reached: 2, completed: 3, terminated: 4, waiting: 5, delay: 6 } as const

/** Log-scale buckets of a delay in ms: 0 for none, then 16 a doubling. */
const BUCKETS_PER_DOUBLING = 16
const delayBucket = (ms: Fragment) =>
  sql`if(${ms} <= 0, toUInt16(0), toUInt16(1 + round(log2(${ms}) * ${BUCKETS_PER_DOUBLING})))`

/**
 * What entity rows count in, summed: `signed` has the columns of `flowEntities` and `sign` (+1 for an
 * entity's new state, -1 for the state it leaves). Columns: kind, minute, stage, channel,
 * delay_bucket, n, delay_ms_sum. Rows that cancel out are left in with n = 0 (the caller filters them).
 */
export function tallyRows(flow: FlowShape, signed: Fragment): Fragment {
  const tally = (kind: number, at: Fragment, stage: Fragment, delay = sql`toInt64(0)`) =>
    sql`tuple(toUInt8(${kind}), ${at}, toUInt8(${stage}), ${delay})`
  const entry = sql`ts[1]`
  const none = sql`0`
  return sql`
    SELECT kind, toDateTime(intDiv(at_ms, 60000) * 60) AS minute, stage, channel, ${delayBucket(sql`delay`)} AS delay_bucket,
      sum(sign) AS n, sum(sign * delay) AS delay_ms_sum
    FROM (
      SELECT sign, channel, f.1 AS kind, f.2 AS at_ms, f.3 AS stage, f.4 AS delay
      FROM (
        SELECT sign, channel, ts, terminated, awaited, awaited_after,
          arrayConcat([0], arrayPopBack(arrayFill(x -> x > 0, ts))) AS prevs
        FROM (${withAwaitedStage(flow, signed)})
      )
      ARRAY JOIN arrayConcat(
        if(ts[1] > 0, [${tally(KIND.entered, entry, none)}], []),
        if(ts[1] > 0, arrayMap(i -> ${tally(KIND.reached, entry, sql`i`)}, arrayFilter(i -> ts[i] > 0, arrayEnumerate(ts))), []),
        if(ts[1] > 0 AND ts[-1] > 0 AND awaited = 0, [${tally(KIND.completed, entry, none)}], []),
        if(ts[1] > 0 AND terminated = 1, [${tally(KIND.terminated, entry, none)}], []),
        if(terminated = 0 AND awaited > 0, [${tally(KIND.waiting, sql`ts[awaited_after]`, sql`awaited_after`)}], []),
        arrayMap(i -> ${tally(KIND.delay, sql`ts[i]`, sql`i`, sql`greatest(toInt64(0), ts[i] - prevs[i])`)},
          arrayFilter(i -> ts[i] > 0 AND prevs[i] > 0, arrayEnumerate(ts)))
      ) AS f
    )
    GROUP BY ${TALLY_KEY}`
}

/** The entities of `signed` waiting for a stage, signed: the rows of `flow_waiting`. */
export function waitingRows(flow: FlowShape, signed: Fragment): Fragment {
  return sql`
    SELECT awaited, ts[awaited_after] AS since_ms, entity_id, awaited_after, last_stage, channel,
      greatest(arrayMax(ts), terminated_ms) AS last_ms, sum(sign) AS n
    FROM (${withAwaitedStage(flow, signed)})
    WHERE terminated = 0 AND awaited > 0
    GROUP BY ${WAITING_KEY}`
}

export interface TallyRange {
  readonly from: Date
  readonly to: Date
  readonly stepSeconds: number
  /** Only the entities that entered through these channels. */
  readonly channels?: readonly string[]
}

interface PendingRow {
  readonly kind: number
  readonly minute: number
  readonly stage: number
  readonly channel: string
  readonly delay_bucket: number
  readonly n: string
  readonly delay_ms_sum: string
}

/**
 * The tallies of the change not refreshed yet (`change`: signed entity rows, from `untalliedChange` in
 * store/queries/flow-state.ts), computed once and bound into each read of a request as a table of
 * rows: computing them costs what the reads themselves do (about 0.3 s for 10,000 changed orders at
 * 100 M spans), so a request's reads share one computation. Null when they add nothing.
 */
export async function pendingTallies(
  store: Store,
  flow: FlowShape,
  change: Fragment,
): Promise<Fragment | null> {
  const rows = await store.query<PendingRow>(sql`
    SELECT kind, toUnixTimestamp(minute) AS minute, stage, channel, delay_bucket, n, delay_ms_sum
    FROM (${tallyRows(flow, change)}) WHERE n != 0 OR delay_ms_sum != 0`)
  if (rows.length === 0) return null
  const column = (key: keyof PendingRow, type: string) =>
    typed(
      rows.map((r) => (key === 'channel' ? r.channel : Number(r[key]))),
      `Array(${type})`,
    )
  return sql`
    SELECT kind, toDateTime(minute_s) AS minute, stage, channel, delay_bucket, n, delay_ms_sum
    FROM (SELECT 1)
    ARRAY JOIN ${column('kind', 'UInt8')} AS kind, ${column('minute', 'UInt32')} AS minute_s,
      ${column('stage', 'UInt8')} AS stage, ${column('channel', 'String')} AS channel,
      ${column('delay_bucket', 'UInt16')} AS delay_bucket, ${column('n', 'Int64')} AS n,
      ${column('delay_ms_sum', 'Int64')} AS delay_ms_sum`
}

/**
 * The tallies of `kinds` in [since, until), kept and pending (`pending`, from `pendingTallies`; null:
 * none), as rows of kind, minute, stage, channel, delay_bucket, n, delay_ms_sum. Ranges count whole
 * minutes, as the per-minute rollups do.
 */
function tallies(
  flow: FlowShape,
  pending: Fragment | null,
  parts: readonly { readonly kinds: readonly number[]; readonly since: Date; readonly until?: Date }[],
  channels?: readonly string[],
): Fragment {
  const which = join(
    parts.map(
      (p) =>
        sql`(kind IN ${[...p.kinds]} AND minute >= toStartOfMinute(${p.since})${p.until ? sql` AND minute < ${p.until}` : sql``})`,
    ),
    ' OR ',
  )
  const where = channels ? sql`(${which}) AND channel IN ${[...channels]}` : sql`(${which})`
  const kept = sql`SELECT ${TALLY_COLUMNS} FROM ${table(TABLES.flowTallies)} WHERE flow = ${flow.name} AND ${where}`
  // Nothing changed since the refresh: the kept tallies alone (a shorter query to plan).
  if (pending === null) return kept
  return sql`
    ${kept}
    UNION ALL
    SELECT ${TALLY_COLUMNS} FROM (${pending}) WHERE ${where}`
}

interface CountRow {
  readonly kind: number
  readonly stage: number
  readonly channel: string
  readonly bucket: string
  readonly total: string
}

/**
 * `progress` (store/queries/flow-metrics.ts) from the tallies: the funnel of the entities that entered
 * in the range, throughput by bucket and channel, and the backlog of those waiting since `waitingSince`.
 */
export async function talliedProgress(
  store: Store,
  flow: FlowShape,
  r: TallyRange,
  waitingSince: Date,
  pending: Fragment | null,
): Promise<ProgressAndThroughput> {
  const cohort = [KIND.entered, KIND.reached, KIND.completed, KIND.terminated]
  const rows = await store.query<CountRow>(sql`
    SELECT kind, stage, channel, intDiv(toUnixTimestamp(minute), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket,
      sum(n) AS total
    FROM (${tallies(
      flow,
      pending,
      [
        { kinds: cohort, since: r.from, until: r.to },
        { kinds: [KIND.waiting], since: waitingSince },
      ],
      r.channels,
    )})
    GROUP BY kind, stage, channel, bucket
    HAVING total != 0
    ORDER BY bucket, channel`)
  const stages = flow.stageEvents.length
  const reached = new Array<number>(stages).fill(0)
  const waiting = new Array<number>(stages).fill(0)
  const sums = { started: 0, completed: 0, terminated: 0 }
  const throughput: ProgressAndThroughput['throughput'] = []
  for (const row of rows) {
    const n = Number(row.total)
    const kind = Number(row.kind)
    const stage = Number(row.stage)
    if (kind === KIND.entered) {
      sums.started += n
      if (n > 0) throughput.push({ bucket: row.bucket, channel: row.channel, entities: String(n) })
    } else if (kind === KIND.reached) reached[stage - 1] = (reached[stage - 1] ?? 0) + n
    else if (kind === KIND.completed) sums.completed += n
    else if (kind === KIND.terminated) sums.terminated += n
    else if (kind === KIND.waiting) waiting[stage - 1] = (waiting[stage - 1] ?? 0) + n
  }
  return {
    progress: {
      started: String(sums.started),
      reached: reached.map(String),
      completed: String(sums.completed),
      terminated: String(sums.terminated),
      waiting: waiting.map(String),
    },
    throughput,
  }
}

/**
 * `stageLatencies` (store/queries/flow-metrics.ts) from the delay histograms: per bucket and stage, and
 * over the whole range (`bucket` 0), the percentiles of the wait since the stage before.
 */
export function talliedLatencies(
  store: Store,
  flow: FlowShape,
  r: TallyRange,
  pending: Fragment | null,
): Promise<LatencyRow[]> {
  return store.query<LatencyRow>(sql`
    SELECT bucket, stage AS stage_index, quantilesExactWeightedInterpolated(0.5, 0.95, 0.99)(delay_ms, weight) AS q,
      q[1] AS p50, q[2] AS p95, q[3] AS p99, sum(weight) AS entities
    FROM (
      SELECT intDiv(toUnixTimestamp(minute), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket, stage, delay_bucket,
        sum(delay_ms_sum) / sum(n) AS delay_ms, toUInt64(sum(n)) AS weight
      FROM (${tallies(flow, pending, [{ kinds: [KIND.delay], since: r.from, until: r.to }], r.channels)})
      GROUP BY bucket, stage, delay_bucket
      HAVING sum(n) > 0
    )
    GROUP BY GROUPING SETS ((bucket, stage), (stage))
    ORDER BY bucket, stage`)
}
