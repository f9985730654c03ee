import { createHash } from 'node:crypto'
import type { Store } from '../client.ts'
import { join, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface ExceptionReport {
  readonly connector: string
  readonly flow: string
  readonly step: string
  readonly stage: string
  readonly entity: { readonly type: string; readonly id: string }
  readonly payload: unknown
  readonly error: { readonly class: string; readonly message: string }
  readonly attempts: number
  readonly traceId: string
  readonly spanId: string
}

export interface ExceptionRow {
  readonly id: string
  readonly version: string
  readonly connector: string
  readonly flow: string
  readonly step: string
  readonly stage: string
  readonly entity_type: string
  readonly entity_id: string
  readonly error_class: string
  readonly error_message: string
  readonly payload: string
  readonly attempts: number
  readonly occurrences: number
  readonly status: string
  readonly first_seen: string
  readonly last_seen: string
  readonly trace_id: string
  readonly span_id: string
  readonly status_by: string
  readonly status_reason: string
  readonly replay_count: number
}

export const EXCEPTION_STATUSES = ['open', 'replaying', 'resolved', 'failed-again', 'ignored'] as const
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number]

/** The same failure (connector, step, entity, error class) is one exception, however often reported. */
export function exceptionId(r: Pick<ExceptionReport, 'connector' | 'step' | 'entity' | 'error'>): string {
  return createHash('sha256')
    .update([r.connector, r.step, r.entity.type, r.entity.id, r.error.class].join('\u0000'))
    .digest('hex')
    .slice(0, 24)
}

const COLUMNS = sql`id, toString(version) AS version, connector, flow, step, stage, entity_type, entity_id, error_class, error_message, payload,
  attempts, occurrences, status, toString(first_seen) AS first_seen, toString(last_seen) AS last_seen, trace_id, span_id,
  status_by, status_reason, replay_count`

export async function getException(store: Store, id: string): Promise<ExceptionRow | undefined> {
  const [row] = await store.query<ExceptionRow>(
    sql`SELECT ${COLUMNS} FROM ${table(TABLES.exceptions)} FINAL WHERE id = ${id}`,
  )
  return row
}

/**
 * Records a report as a new version of its exception: a repeat raises the count and keeps the first
 * sighting; the latest payload, error and trace win (they are what a replay needs). A failure after
 * the exception was resolved or ignored opens it again; one during a replay leaves the replay's
 * outcome to decide.
 */
export async function recordException(
  store: Store,
  r: ExceptionReport,
  now = new Date(),
): Promise<ExceptionRow> {
  const id = exceptionId(r)
  const current = await getException(store, id)
  const occurrences = (current ? Number(current.occurrences) : 0) + 1
  const reopened = !current || current.status === 'resolved' || current.status === 'ignored'
  await store.command(sql`
    INSERT INTO ${table(TABLES.exceptions)} (id, version, connector, flow, step, stage, entity_type, entity_id,
      error_class, error_message, payload, attempts, occurrences, status, first_seen, last_seen, trace_id, span_id,
      status_by, status_reason, replay_count)
    VALUES (${id}, ${nextVersion(current, now)}, ${r.connector}, ${r.flow}, ${r.step}, ${r.stage},
      ${r.entity.type}, ${r.entity.id}, ${r.error.class}, ${r.error.message}, ${JSON.stringify(r.payload ?? null)},
      ${r.attempts}, ${occurrences}, ${reopened ? 'open' : current.status},
      ${current ? new Date(`${current.first_seen.replace(' ', 'T')}Z`) : now}, ${now}, ${r.traceId}, ${r.spanId},
      ${reopened ? r.connector : current.status_by}, ${reopened ? (current ? 'failed again' : 'reported') : current.status_reason},
      ${current ? Number(current.replay_count) : 0})`)
  return (await getException(store, id)) as ExceptionRow
}

/** Versions only grow, even for two writes in one millisecond. */
function nextVersion(current: { version?: string } | undefined, now: Date): bigint {
  const at = BigInt(now.getTime()) * 1000n
  const after = current?.version ? BigInt(current.version) + 1n : 0n
  return at > after ? at : after
}

/**
 * A new version of an exception with another status, who set it and why; `replayed` counts a replay
 * towards the loop guard. Copies the row inside the engine, so nothing else about it can change.
 */
export async function setExceptionStatus(
  store: Store,
  id: string,
  change: { status: ExceptionStatus; by: string; reason: string; replayed?: boolean },
  now = new Date(),
): Promise<ExceptionRow | undefined> {
  const current = await getException(store, id)
  if (!current) return undefined
  await store.command(sql`
    INSERT INTO ${table(TABLES.exceptions)} (id, version, connector, flow, step, stage, entity_type, entity_id,
      error_class, error_message, payload, attempts, occurrences, status, first_seen, last_seen, trace_id, span_id,
      status_by, status_reason, replay_count)
    SELECT id, ${nextVersion(current, now)}, connector, flow, step, stage, entity_type, entity_id, error_class,
      error_message, payload, attempts, occurrences, ${change.status}, first_seen, last_seen, trace_id, span_id,
      ${change.by}, ${change.reason}, replay_count + ${change.replayed ? 1 : 0}
    FROM ${table(TABLES.exceptions)} FINAL WHERE id = ${id}`)
  return getException(store, id)
}

export interface ExceptionFilter {
  readonly status?: string
  readonly statuses?: readonly string[]
  readonly connector?: string
  readonly flow?: string
  readonly stage?: string
  readonly step?: string
  readonly errorClass?: string
  /** `last_seen` in [from, to). */
  readonly from?: Date
  readonly to?: Date
}

export async function listExceptions(
  store: Store,
  filter: ExceptionFilter & { entity?: { type: string; id: string }; limit: number },
): Promise<ExceptionRow[]> {
  const conditions = [sql`1`]
  if (filter.status) conditions.push(sql`status = ${filter.status}`)
  if (filter.statuses?.length) conditions.push(sql`status IN ${[...filter.statuses]}`)
  if (filter.connector) conditions.push(sql`connector = ${filter.connector}`)
  if (filter.flow) conditions.push(sql`flow = ${filter.flow}`)
  if (filter.stage) conditions.push(sql`stage = ${filter.stage}`)
  if (filter.step) conditions.push(sql`step = ${filter.step}`)
  if (filter.errorClass) conditions.push(sql`error_class = ${filter.errorClass}`)
  if (filter.from) conditions.push(sql`last_seen >= ${filter.from}`)
  if (filter.to) conditions.push(sql`last_seen < ${filter.to}`)
  if (filter.entity)
    conditions.push(sql`entity_type = ${filter.entity.type} AND entity_id = ${filter.entity.id}`)
  return store.query<ExceptionRow>(sql`
    SELECT ${COLUMNS} FROM (
      SELECT * FROM ${table(TABLES.exceptions)} FINAL
      WHERE ${join(conditions, ' AND ')}
      ORDER BY last_seen DESC
      LIMIT ${filter.limit}
    )
    ORDER BY last_seen DESC`)
}

/**
 * An exception resolves itself when a later run of the same step for the same entity succeeded (a
 * retry by the source, a manual fix): open and failed-again exceptions are matched with successful
 * sync spans of the same connector, step and entity after their last failure.
 */
export async function resolveSuperseded(
  store: Store,
  since = new Date(Date.now() - 7 * 86_400_000),
): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.exceptions)} (id, version, connector, flow, step, stage, entity_type, entity_id,
      error_class, error_message, payload, attempts, occurrences, status, first_seen, last_seen, trace_id, span_id,
      status_by, status_reason, replay_count)
    SELECT e.id, greatest(toUInt64(toUnixTimestamp64Milli(now64(3))) * 1000, e.version + 1), e.connector, e.flow,
      e.step, e.stage, e.entity_type, e.entity_id, e.error_class, e.error_message, e.payload, e.attempts,
      e.occurrences, 'resolved', e.first_seen, e.last_seen, e.trace_id, e.span_id, 'signalbox',
      concat('a later run of ', e.step, ' succeeded (trace ', s.ok_trace, ')'), e.replay_count
    FROM (
      SELECT *, concat('sync ', flow, '.', step) AS sync_name FROM ${table(TABLES.exceptions)} FINAL
      WHERE status IN ('open', 'failed-again')
    ) AS e
    INNER JOIN (
      SELECT connector AS ok_connector, name AS ok_name, ent.1 AS ok_type, ent.2 AS ok_id,
        max(timestamp) AS ok_at, argMax(trace_id, timestamp) AS ok_trace
      FROM ${table(TABLES.spans)} ARRAY JOIN entities AS ent
      WHERE timestamp >= ${since} AND kind = 'consumer' AND status_code != 'error' AND startsWith(name, 'sync ')
      GROUP BY ok_connector, ok_name, ok_type, ok_id
    ) AS s ON s.ok_connector = e.connector AND s.ok_name = e.sync_name AND s.ok_type = e.entity_type AND s.ok_id = e.entity_id
    WHERE s.ok_at > e.last_seen`)
}
