import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'
import { type FlowShape, stageTimes } from './flow-stages.ts'

export interface MetricsRange {
  readonly from: Date
  readonly to: Date
  readonly stepSeconds: number
  /** How far back an entity's earlier stages may lie (the flow's longest stage delay). */
  readonly lookbackFrom: Date
}

export interface ThroughputRow {
  readonly bucket: string
  readonly channel: string
  readonly entities: string
}

/**
 * Entities entering the flow per bucket, by channel: the first stage's events, the channel taken from
 * the event (`data.channel`, a `channel` extension) or else the system that reported it.
 */
export function throughput(store: Store, flow: FlowShape, r: MetricsRange): Promise<ThroughputRow[]> {
  return store.query<ThroughputRow>(sql`
    SELECT intDiv(toUnixTimestamp(time), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket,
      coalesce(nullIf(JSONExtractString(data, 'channel'), ''), nullIf(extensions['channel'], ''),
        nullIf(system, ''), 'unknown') AS channel,
      uniq(subject) AS entities
    FROM ${table(TABLES.events)}
    WHERE type IN ${[...(flow.stageEvents[0] ?? [])]} AND time >= ${r.from} AND time < ${r.to}
    GROUP BY bucket, channel
    ORDER BY bucket, channel`)
}

export interface LatencyRow {
  /** 0 for the whole range. */
  readonly bucket: string
  readonly stage_index: string
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly entities: string
}

/**
 * Stage-to-stage latency (from the entity's previous reached stage to this one), by the bucket in
 * which the stage was reached, and over the whole range (`bucket` 0).
 */
export function stageLatencies(store: Store, flow: FlowShape, r: MetricsRange): Promise<LatencyRow[]> {
  // Grouping sets give each bucket and the whole range in one pass; the whole range has bucket 0.
  return store.query<LatencyRow>(sql`
    SELECT intDiv(toUnixTimestamp(cur.2), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket, cur.1 AS stage_index,
      quantilesTDigest(0.5, 0.95, 0.99)(greatest(0, dateDiff('millisecond', prev.2, cur.2))) AS q,
      q[1] AS p50, q[2] AS p95, q[3] AS p99, count() AS entities
    FROM (
      SELECT arraySort(x -> x.1, groupArray((stage_index, reached_at))) AS path
      FROM (${stageTimes(flow, r.lookbackFrom, r.to)})
      WHERE stage_index > 0
      GROUP BY entity_id
    )
    ARRAY JOIN arrayPopFront(path) AS cur, arrayPopBack(path) AS prev
    WHERE cur.2 >= ${r.from}
    GROUP BY GROUPING SETS ((bucket, stage_index), (stage_index))
    ORDER BY bucket, stage_index`)
}

export interface CohortRow {
  /** Entities that entered the flow in the range. */
  readonly started: string
  /** Per stage, how many of them reached it. */
  readonly reached: string[]
  readonly completed: string
  readonly terminated: string
}

/** The funnel of the entities that entered the flow in the range: how far each got. */
export async function cohort(store: Store, flow: FlowShape, r: MetricsRange): Promise<CohortRow | undefined> {
  const n = flow.stageEvents.length
  const [row] = await store.query<CohortRow>(sql`
    SELECT count() AS started,
      sumForEach(arrayMap(i -> toUInt64(has(stages, i)), range(1, ${n + 1}))) AS reached,
      countIf(has(stages, ${n})) AS completed, countIf(terminated) AS terminated
    FROM (
      SELECT entity_id, groupArrayIf(stage_index, stage_index > 0) AS stages, max(terminal) AS terminated,
        minIf(reached_at, stage_index = 1) AS started_at
      FROM (${stageTimes(flow, r.from, r.to)})
      GROUP BY entity_id
      HAVING has(stages, 1) AND started_at >= ${r.from}
    )`)
  return row
}

export interface BacklogRow {
  readonly stage_index: string
  readonly entities: string
}

/** Entities now waiting after each stage: neither finished nor ended by a terminal stage. */
export function backlog(store: Store, flow: FlowShape, since: Date, now: Date): Promise<BacklogRow[]> {
  return store.query<BacklogRow>(sql`
    SELECT last_stage AS stage_index, count() AS entities
    FROM (
      SELECT entity_id, max(stage_index) AS last_stage, max(terminal) AS terminated
      FROM (${stageTimes(flow, since, now)})
      GROUP BY entity_id
    )
    WHERE terminated = 0 AND last_stage > 0 AND last_stage < ${flow.stageEvents.length}
    GROUP BY last_stage
    ORDER BY last_stage`)
}

export interface FailureRow {
  readonly connector: string
  readonly system: string
  readonly spans: string
  readonly errors: string
}

/** Spans and failed spans of the flow by connector and system, from the per-minute rollup. */
export function failures(store: Store, flow: FlowShape, r: MetricsRange): Promise<FailureRow[]> {
  return store.query<FailureRow>(sql`
    SELECT connector, system, sum(spans) AS spans, sum(errors) AS errors
    FROM ${table(TABLES.flowMinutes)}
    WHERE flow = ${flow.name} AND minute >= ${r.from} AND minute < ${r.to}
    GROUP BY connector, system
    ORDER BY errors DESC, spans DESC`)
}

export interface FailureSeriesRow {
  readonly bucket: string
  readonly connector: string
  readonly spans: string
  readonly errors: string
}

/** The same per bucket and connector: a failure rate over time. */
export function failureSeries(store: Store, flow: FlowShape, r: MetricsRange): Promise<FailureSeriesRow[]> {
  return store.query<FailureSeriesRow>(sql`
    SELECT intDiv(toUnixTimestamp(minute), ${r.stepSeconds}) * ${r.stepSeconds} AS bucket, connector,
      sum(spans) AS spans, sum(errors) AS errors
    FROM ${table(TABLES.flowMinutes)}
    WHERE flow = ${flow.name} AND minute >= ${r.from} AND minute < ${r.to}
    GROUP BY bucket, connector
    ORDER BY bucket, connector`)
}
