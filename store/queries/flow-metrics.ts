import type { Store } from '../client.ts'
import { type Fragment, join, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'
import type { LatencyRow, ProgressAndThroughput, ProgressRow, ThroughputRow } from './flow-metric-rows.ts'
import { type FlowShape, withAwaitedStage } from './flow-stages.ts'
import { entityFilters, type FlowSnapshot, flowEntities, untalliedChange } from './flow-state.ts'
import { pendingTallies, type TallyRange, talliedLatencies, talliedProgress } from './flow-tallies.ts'

export type { LatencyRow, ProgressAndThroughput, ProgressRow, ThroughputRow } from './flow-metric-rows.ts'

export interface MetricsRange {
  readonly from: Date
  readonly to: Date
  readonly stepSeconds: number
  /** How far back an entity's earlier stages may lie (the flow's longest stage delay). */
  readonly lookbackFrom: Date
  /** The flow state's changes, read once for the several reads of one request. */
  readonly snapshot?: FlowSnapshot
  /** Only the entities that came in through these channels and that these systems touched (a scope). */
  readonly only?: { readonly channels?: readonly string[]; readonly systems?: readonly string[] }
}

/**
 * The range and the pending tallies when the flow's tallies can answer the read (kept, no refresh
 * under way, and no filter on systems, which the tallies do not keep); undefined: read the entities.
 * The pending tallies are computed once per snapshot: a request's reads share them.
 */
async function fromTallies(
  store: Store,
  flow: FlowShape,
  r: MetricsRange,
): Promise<{ range: TallyRange; pending: Fragment | null } | undefined> {
  if (!r.snapshot || r.only?.systems) return undefined
  const change = untalliedChange(flow, r.snapshot)
  if (change === undefined) return undefined
  let pending = pendingBySnapshot.get(r.snapshot)
  if (!pending) {
    pending = change === null ? Promise.resolve(null) : pendingTallies(store, flow, change)
    pendingBySnapshot.set(r.snapshot, pending)
  }
  const range = { from: r.from, to: r.to, stepSeconds: r.stepSeconds, channels: r.only?.channels }
  return { range, pending: await pending }
}

const pendingBySnapshot = new WeakMap<FlowSnapshot, Promise<Fragment | null>>()

/** The conditions `only` puts on the entities of a read over [since, until). */
const onlyFilter = (flow: FlowShape, r: MetricsRange, since: Date, until: Date) =>
  join(entityFilters(flow, r.only ?? {}, since, until), ' AND ')

/**
 * Stage-to-stage latency (from the entity's previous reached stage to this one), by the bucket in
 * which the stage was reached, and over the whole range (`bucket` 0) from the same pass.
 */
export async function stageLatencies(store: Store, flow: FlowShape, r: MetricsRange): Promise<LatencyRow[]> {
  const tallied = await fromTallies(store, flow, r)
  if (tallied) return talliedLatencies(store, flow, tallied.range, tallied.pending)
  return store.query<LatencyRow>(sql`
    SELECT intDiv(intDiv(cur_ms, 1000), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket, stage_index,
      quantiles(0.5, 0.95, 0.99)(greatest(0, cur_ms - prev_ms)) AS q,
      q[1] AS p50, q[2] AS p95, q[3] AS p99, count() AS entities
    FROM (
      -- The time of the last stage reached before each stage: zeros (not reached) take the one before.
      SELECT ts, arrayConcat([0], arrayPopBack(arrayFill(x -> x > 0, ts))) AS prevs
      FROM (${await flowEntities(store, flow, r.lookbackFrom, r.to, r.snapshot)})
      WHERE ${onlyFilter(flow, r, r.lookbackFrom, r.to)}
    )
    ARRAY JOIN arrayEnumerate(ts) AS stage_index, ts AS cur_ms, prevs AS prev_ms
    WHERE cur_ms >= ${r.from.getTime()} AND cur_ms < ${r.to.getTime()} AND prev_ms > 0
    GROUP BY GROUPING SETS ((bucket, stage_index), (stage_index))
    ORDER BY bucket, stage_index`)
}

/**
 * In one pass over the entities: the funnel of those that entered the flow in the range (how far each
 * got), the backlog now, and throughput (when each reached the first stage, by channel). Reads run one
 * at a time on the embedded engine, so one pass with two grouping sets costs what the funnel alone did.
 */
export async function progress(
  store: Store,
  flow: FlowShape,
  r: MetricsRange,
  now: { readonly since: Date; readonly until: Date },
): Promise<ProgressAndThroughput> {
  const tallied = await fromTallies(store, flow, r)
  if (tallied) return talliedProgress(store, flow, tallied.range, now.since, tallied.pending)
  const n = flow.stageEvents.length
  const since = new Date(Math.min(r.lookbackFrom.getTime(), now.since.getTime()))
  const until = new Date(Math.max(r.to.getTime(), now.until.getTime()))
  const rows = await store.query<ProgressRow & ThroughputRow & { per_bucket: number }>(sql`
    SELECT intDiv(intDiv(ts[1], 1000), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket, channel,
      -- 0 on the rows of the (bucket, channel) set, 1 on the total row (the standard's meaning).
      grouping(bucket) = 0 AS per_bucket,
      countIf(in_range) AS started, started AS entities,
      sumForEach(arrayMap(t -> toUInt64(in_range AND t > 0), ts)) AS reached,
      -- Completed: the last stage reached and no stage before it left unconfirmed.
      countIf(in_range AND ts[${n}] > 0 AND awaited = 0) AS completed, countIf(in_range AND ended) AS terminated,
      sumForEach(arrayMap(i -> toUInt64(open AND i = awaited_after), range(1, ${n + 1}))) AS waiting
    FROM (
      -- Names differ from the outer aliases: ClickHouse lets an alias shadow a column.
      SELECT ts, channel, terminated AS ended, awaited, awaited_after,
        ts[1] >= ${r.from.getTime()} AND ts[1] < ${r.to.getTime()} AS in_range,
        ended = 0 AND awaited > 0 AND ts[awaited_after] >= ${now.since.getTime()} AS open
      FROM (${withAwaitedStage(flow, await flowEntities(store, flow, since, until, r.snapshot))})
      WHERE ${onlyFilter(flow, r, since, until)}
    )
    GROUP BY GROUPING SETS ((), (bucket, channel))
    ORDER BY bucket, channel`)
  return {
    progress: rows.find((row) => !row.per_bucket),
    // The pass reads every entity active now; a bucket row counts only those that entered in the range.
    throughput: rows
      .filter((row) => row.per_bucket && Number(row.started) > 0)
      .map(({ bucket, channel, entities }) => ({ bucket, channel, entities })),
  }
}

export interface FailureRow {
  readonly bucket: string
  readonly connector: string
  readonly system: string
  readonly spans: string
  readonly errors: string
}

/**
 * Spans and failed spans of the flow per bucket, connector and system, from the per-minute rollup:
 * totals by connector and system, and a failure rate over time, both come from these rows.
 */
export function failures(store: Store, flow: FlowShape, r: MetricsRange): Promise<FailureRow[]> {
  return store.query<FailureRow>(sql`
    SELECT intDiv(toUnixTimestamp(minute), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket, connector, system,
      sum(spans) AS spans, sum(errors) AS errors
    FROM ${table(TABLES.flowMinutes)}
    WHERE flow = ${flow.name} AND minute >= ${r.from} AND minute < ${r.to}
    GROUP BY bucket, connector, system
    ORDER BY bucket, connector, system`)
}

export interface EntityAtStage {
  readonly entity_id: string
  readonly at_ms: string
  readonly last_stage: string
  readonly terminated: number
  /** The stage it awaits (1-based; 0: none, it is through), as the stuck list has it. */
  readonly awaited: string
  readonly channel: string
  /** When it reached the stage before (0 where there is none, or it was skipped). */
  readonly prev_ms: string
}

/**
 * The entities behind a point of a flow chart: those that reached a stage in [from, to) (a bar of
 * throughput, a point of stage latency, a step of the funnel), or, with `waiting`, those waiting
 * after it now (a bar of the backlog: the stage they await counts from it, as in `progress`). Newest first.
 */
export async function entitiesAtStage(
  store: Store,
  q: {
    readonly flow: FlowShape
    /** 1-based. */
    readonly stage: number
    readonly from: Date
    readonly to: Date
    /** Where the read starts: early enough to see the stages before. */
    readonly since: Date
    readonly waiting: boolean
    readonly channels?: readonly string[]
    readonly systems?: readonly string[]
    readonly limit: number
    /** Newest first, or slowest first: the longest wait from the stage before (a latency point's drill). */
    readonly order?: 'newest' | 'slowest'
  },
): Promise<EntityAtStage[]> {
  const filters = entityFilters(q.flow, q, q.since, q.to)
  // The stage before, 1-based; the first stage has none (its delay reads as 0).
  const prev = Math.max(q.stage - 1, 1)
  const delay = sql`if(${q.stage} > 1 AND ts[${prev}] > 0, ts[${q.stage}] - ts[${prev}], 0)`
  const at = q.waiting
    ? sql`awaited > 0 AND awaited_after = ${q.stage} AND terminated = 0 AND ts[${q.stage}] >= ${q.since.getTime()}`
    : sql`ts[${q.stage}] >= ${q.from.getTime()} AND ts[${q.stage}] < ${q.to.getTime()}`
  return store.query<EntityAtStage>(sql`
    SELECT entity_id, ts[${q.stage}] AS at_ms, last_stage, terminated, awaited, channel,
      if(${q.stage} > 1, ts[${prev}], 0) AS prev_ms
    FROM (${withAwaitedStage(q.flow, await flowEntities(store, q.flow, q.since, q.to))})
    WHERE ${at} AND ${join(filters, ' AND ')}
    ORDER BY ${q.order === 'slowest' ? sql`${delay} DESC, at_ms DESC` : sql`at_ms DESC`}
    LIMIT ${q.limit}`)
}
