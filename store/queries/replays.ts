import type { Store } from '../client.ts'
import { join, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export type ReplayStatus = 'running' | 'succeeded' | 'failed' | 'error' | 'skipped'

/** One row of the append-only replay trail: a request, or how it ended. */
export interface ReplayRecord {
  readonly atMs: number
  readonly id: string
  readonly kind: 'replay' | 'resync'
  readonly exceptionId: string
  readonly jobId: string
  readonly connector: string
  readonly step: string
  readonly entity: { readonly type: string; readonly id: string }
  readonly status: ReplayStatus
  readonly requestedBy: string
  readonly reason: string
  /** RFC 6902 operations from the stored payload to the one sent; `[]` when not edited. */
  readonly payloadDiff: string
  readonly approvedBy: string
  readonly httpStatus: number
  readonly error: string
  readonly originalTraceId: string
  readonly traceId: string
}

export async function appendReplay(store: Store, r: ReplayRecord): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.replays)} (at, id, kind, exception_id, job_id, connector, step, entity_type, entity_id,
      status, requested_by, reason, payload_diff, approved_by, http_status, error, original_trace_id, trace_id)
    VALUES (${new Date(r.atMs)}, ${r.id}, ${r.kind}, ${r.exceptionId}, ${r.jobId}, ${r.connector}, ${r.step},
      ${r.entity.type}, ${r.entity.id}, ${r.status}, ${r.requestedBy}, ${r.reason}, ${r.payloadDiff}, ${r.approvedBy},
      ${r.httpStatus}, ${r.error}, ${r.originalTraceId}, ${r.traceId})`)
}

export interface ReplayRow {
  readonly id: string
  readonly kind: string
  readonly exception_id: string
  readonly job_id: string
  readonly connector: string
  readonly step: string
  readonly entity_type: string
  readonly entity_id: string
  readonly status: ReplayStatus
  readonly requested_by: string
  readonly reason: string
  readonly payload_diff: string
  readonly approved_by: string
  readonly http_status: number
  readonly error: string
  readonly original_trace_id: string
  readonly trace_id: string
  readonly requested_ms: string
  readonly finished_ms: string | null
}

/** Each replay as it stands: its request and its latest state, newest first. */
export async function listReplays(
  store: Store,
  filter: {
    exceptionId?: string
    jobId?: string
    entity?: { type: string; id: string }
    since: Date
    limit: number
  },
): Promise<ReplayRow[]> {
  const conditions = [sql`at >= ${filter.since}`]
  if (filter.exceptionId) conditions.push(sql`exception_id = ${filter.exceptionId}`)
  if (filter.jobId) conditions.push(sql`job_id = ${filter.jobId}`)
  if (filter.entity)
    conditions.push(sql`entity_type = ${filter.entity.type} AND entity_id = ${filter.entity.id}`)
  // The trail's columns are renamed inside, so no aggregate's alias shadows the column it reads.
  return store.query<ReplayRow>(sql`
    SELECT r_id AS id, any(r_kind) AS kind, any(r_exception) AS exception_id, any(r_job) AS job_id,
      any(r_connector) AS connector, any(r_step) AS step, any(r_type) AS entity_type, any(r_entity) AS entity_id,
      argMax(r_status, r_at) AS status, argMin(r_by, r_at) AS requested_by, argMin(r_reason, r_at) AS reason,
      argMin(r_diff, r_at) AS payload_diff, argMin(r_approved, r_at) AS approved_by,
      argMax(r_http, r_at) AS http_status, argMax(r_error, r_at) AS error,
      any(r_original) AS original_trace_id, argMax(r_trace, r_at) AS trace_id,
      toString(toUnixTimestamp64Milli(min(r_at))) AS requested_ms,
      if(argMax(r_status, r_at) = 'running', NULL, toString(toUnixTimestamp64Milli(max(r_at)))) AS finished_ms
    FROM (
      SELECT at AS r_at, id AS r_id, kind AS r_kind, exception_id AS r_exception, job_id AS r_job,
        connector AS r_connector, step AS r_step, entity_type AS r_type, entity_id AS r_entity, status AS r_status,
        requested_by AS r_by, reason AS r_reason, payload_diff AS r_diff, approved_by AS r_approved,
        http_status AS r_http, error AS r_error, original_trace_id AS r_original, trace_id AS r_trace
      FROM ${table(TABLES.replays)}
      WHERE ${join(conditions, ' AND ')}
    )
    GROUP BY r_id
    ORDER BY min(r_at) DESC
    LIMIT ${filter.limit}`)
}

export type JobStatus = 'running' | 'paused' | 'cancelled' | 'done'

export interface ReplayJob {
  readonly id: string
  readonly filter: string
  readonly exceptionIds: readonly string[]
  readonly status: JobStatus
  readonly perMinute: number
  readonly requestedBy: string
  readonly reason: string
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

/** Orders two saves of one job within a millisecond. */
let seq = 0

export async function saveJob(store: Store, job: ReplayJob): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.replayJobs)} (id, version, filter, exception_ids, status, per_minute, requested_by,
      reason, created_at, updated_at)
    VALUES (${job.id}, ${BigInt(job.updatedAtMs) * 1000n + BigInt(seq++ % 1000)}, ${job.filter},
      ${[...job.exceptionIds]}, ${job.status}, ${job.perMinute}, ${job.requestedBy}, ${job.reason},
      ${new Date(job.createdAtMs)}, ${new Date(job.updatedAtMs)})`)
}

export async function listJobs(store: Store, filter: { id?: string; statuses?: readonly JobStatus[] } = {}) {
  const conditions = [sql`1`]
  if (filter.id) conditions.push(sql`id = ${filter.id}`)
  if (filter.statuses?.length) conditions.push(sql`status IN ${[...filter.statuses]}`)
  const rows = await store.query<{
    id: string
    filter: string
    exception_ids: string[]
    status: JobStatus
    per_minute: number
    requested_by: string
    reason: string
    created_ms: string
    updated_ms: string
  }>(sql`
    SELECT id, filter, exception_ids, status, per_minute, requested_by, reason,
      toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms
    FROM ${table(TABLES.replayJobs)} FINAL
    WHERE ${join(conditions, ' AND ')}
    ORDER BY created_at DESC
    LIMIT 200`)
  return rows.map(
    (r): ReplayJob => ({
      id: r.id,
      filter: r.filter,
      exceptionIds: r.exception_ids,
      status: r.status,
      perMinute: r.per_minute,
      requestedBy: r.requested_by,
      reason: r.reason,
      createdAtMs: Number(r.created_ms),
      updatedAtMs: Number(r.updated_ms),
    }),
  )
}

/** The latest state of each of a job's replays, by exception. */
export async function jobReplayStates(store: Store, jobId: string): Promise<Map<string, ReplayStatus>> {
  const rows = await store.query<{ exception_id: string; status: ReplayStatus }>(sql`
    SELECT exception_id, argMax(status, at) AS status FROM ${table(TABLES.replays)}
    WHERE job_id = ${jobId} GROUP BY exception_id`)
  return new Map(rows.map((r) => [r.exception_id, r.status]))
}
