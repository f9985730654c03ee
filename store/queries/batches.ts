import { type BatchConfig, missedRun } from '../../core/batches.ts'
import { DAY_MS } from '../../core/duration.ts'
import { BATCH_EVENTS } from '../../core/vocabulary.ts'
import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

const BATCH_TYPES = Object.values(BATCH_EVENTS)

/** One batch run, from its started, completed and failed events (grouped by job and run id). */
export interface BatchRunRow {
  readonly job: string
  readonly run_id: string
  readonly business_day: string
  /** When it started: its started event, or its first event when that never came. */
  readonly started_ms: string
  /** Its completed or failed event; null while it runs (or when that event never came). */
  readonly ended_ms: string | null
  /** `retail.batch.completed`, `retail.batch.failed`, or '' while it runs. */
  readonly outcome: string
  readonly rows: number
  readonly rejected: number
  readonly error: string
  readonly trace_id: string
}

/** The batch runs heard from in [from, to), newest first; one job's only when `job` is given. */
export async function batchRuns(
  store: Store,
  q: { from: Date; to: Date; job?: string; limit: number },
): Promise<BatchRunRow[]> {
  const ended = sql`type != ${BATCH_EVENTS.started}`
  return store.query<BatchRunRow>(sql`
    SELECT job, run_id,
      argMax(business_day, time) AS business_day,
      toString(toUnixTimestamp64Milli(if(countIf(type = ${BATCH_EVENTS.started}) > 0,
        minIf(time, type = ${BATCH_EVENTS.started}), min(time)))) AS started_ms,
      if(countIf(${ended}) > 0, toString(toUnixTimestamp64Milli(maxIf(time, ${ended}))), NULL) AS ended_ms,
      argMaxIf(type, time, ${ended}) AS outcome,
      argMaxIf(rows, time, ${ended}) AS rows,
      argMaxIf(rejected, time, ${ended}) AS rejected,
      argMaxIf(error, time, ${ended}) AS error,
      argMax(trace_id, time) AS trace_id
    FROM (
      SELECT type, time, subject AS run_id, trace_id,
        JSONExtractString(data, 'job') AS job,
        JSONExtractString(data, 'businessDay') AS business_day,
        JSONExtractUInt(data, 'rows') AS rows,
        JSONExtractUInt(data, 'rejected') AS rejected,
        JSONExtractString(data, 'error') AS error
      FROM ${table(TABLES.events)} FINAL
      WHERE type IN ${BATCH_TYPES} AND time >= ${q.from} AND time < ${q.to}
    )
    WHERE job != '' ${q.job === undefined ? sql`` : sql`AND job = ${q.job}`}
    GROUP BY job, run_id
    ORDER BY min(time) DESC
    LIMIT ${q.limit}`)
}

/** Per job, when a run last started in [from, to): what a missed run is decided on. */
async function lastRunStarts(
  store: Store,
  from: Date,
  to: Date,
): Promise<Array<{ job: string; started_ms: string }>> {
  return store.query(sql`
    SELECT JSONExtractString(data, 'job') AS job,
      toString(toUnixTimestamp64Milli(if(countIf(type = ${BATCH_EVENTS.started}) > 0,
        maxIf(time, type = ${BATCH_EVENTS.started}), max(time)))) AS started_ms
    FROM ${table(TABLES.events)}
    WHERE type IN ${BATCH_TYPES} AND time >= ${from} AND time < ${to}
    GROUP BY job
    LIMIT 10000`)
}

/** How far back a job's last run is looked for: a monthly job's last run is still found. */
const LAST_RUN_LOOKBACK_MS = 40 * DAY_MS

/** A declared job with no run since its last scheduled time plus its grace. */
export interface MissedBatchRun {
  readonly job: string
  readonly system: string
  /** The scheduled time no run answered. */
  readonly due: number
  readonly lastStarted: number | null
}

/**
 * Every declared job's missed run now, if it has one: what GET /api/batches shows and the
 * batch_missed alert rule counts, from the same read.
 */
export async function missedBatchRuns(
  store: Store,
  batches: BatchConfig,
  nowMs: number,
): Promise<{ missed: MissedBatchRun[]; lastStarted: ReadonlyMap<string, number> }> {
  const rows = await lastRunStarts(store, new Date(nowMs - LAST_RUN_LOOKBACK_MS), new Date(nowMs + DAY_MS))
  const lastStarted = new Map(rows.map((r) => [r.job, Number(r.started_ms)]))
  const missed: MissedBatchRun[] = []
  for (const job of batches.jobs.values()) {
    const last = lastStarted.get(job.name) ?? null
    const m = missedRun(job, batches.timezone, last, nowMs)
    if (m) missed.push({ job: job.name, system: job.system, due: m.due, lastStarted: last })
  }
  return { missed, lastStarted }
}
