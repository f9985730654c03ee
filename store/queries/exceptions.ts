import { createHash } from 'node:crypto'
import { DAY_MS } from '../../core/duration.ts'
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

const EXCEPTION_STATUSES = ['open', 'replaying', 'resolved', 'failed-again', 'ignored'] as const
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
export function recordException(store: Store, r: ExceptionReport, now = new Date()): Promise<ExceptionRow> {
  const id = exceptionId(r)
  return oneAtATime(store, id, () => writeReport(store, id, r, now))
}

async function writeReport(store: Store, id: string, r: ExceptionReport, now: Date): Promise<ExceptionRow> {
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

/**
 * A report and a status change each read an exception's latest version and write the next: two at
 * once for one id would build on the same version, and the later would undo the other (twelve reports
 * of one failure at once were counted eleven). In this process they run one after another per id.
 * The background passes that resolve or find exceptions copy rows inside the engine.
 */
const writing = new WeakMap<Store, Map<string, Promise<unknown>>>()

function oneAtATime<T>(store: Store, id: string, write: () => Promise<T>): Promise<T> {
  const byId = writing.get(store) ?? new Map<string, Promise<unknown>>()
  writing.set(store, byId)
  const next = (byId.get(id) ?? Promise.resolve()).catch(() => {}).then(write)
  byId.set(id, next)
  const done = () => {
    if (byId.get(id) === next) byId.delete(id)
  }
  next.then(done, done)
  return next
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
export function setExceptionStatus(
  store: Store,
  id: string,
  change: { status: ExceptionStatus; by: string; reason: string; replayed?: boolean },
  now = new Date(),
): Promise<ExceptionRow | undefined> {
  return oneAtATime(store, id, () => writeStatus(store, id, change, now))
}

async function writeStatus(
  store: Store,
  id: string,
  change: { status: ExceptionStatus; by: string; reason: string; replayed?: boolean },
  now: Date,
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
  /** Within these flows and connectors only (a token's scope). */
  readonly flows?: readonly string[]
  readonly connectors?: readonly string[]
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
  if (filter.flows) conditions.push(filter.flows.length ? sql`flow IN ${[...filter.flows]}` : sql`0`)
  if (filter.connectors)
    conditions.push(filter.connectors.length ? sql`connector IN ${[...filter.connectors]}` : sql`0`)
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
  horizon = new Date(Date.now() - 7 * DAY_MS),
): Promise<void> {
  // Runs every few seconds: with nothing open it costs one small read, and spans are only scanned
  // from the oldest open failure on.
  const [open] = await store.query<{ n: string; oldest_ms: string }>(sql`
    SELECT count() AS n, toString(toUnixTimestamp64Milli(min(last_seen))) AS oldest_ms
    FROM ${table(TABLES.exceptions)} FINAL WHERE status IN ('open', 'failed-again')`)
  if (!open || Number(open.n) === 0) return
  const since = new Date(Math.max(horizon.getTime(), Number(open.oldest_ms)))
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

/**
 * Exceptions from spans, for connectors that send only OpenTelemetry: a failed sync run (a CONSUMER
 * span named `sync <flow>.<step>` with error status) that no later run of the same step for the same
 * entity superseded, and that its connector did not report itself. The id is the one a report would
 * get (same hash), so a report that arrives later updates it instead of adding one. There is no
 * payload: such an exception is fixed by a re-sync or an edited replay.
 */
export async function exceptionsFromSpans(store: Store, since: Date, until: Date): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.exceptions)} (id, version, connector, flow, step, stage, entity_type, entity_id,
      error_class, error_message, payload, attempts, occurrences, status, first_seen, last_seen, trace_id, span_id,
      status_by, status_reason, replay_count)
    SELECT x_id, toUInt64(toUnixTimestamp64Milli(now64(3))) * 1000, x_connector, x_flow, x_step, x_stage, x_type,
      x_entity, x_class, x_message, 'null', 1, x_count, 'open', x_first, x_last, x_trace, x_span, 'signalbox',
      'found in failed sync spans; the connector did not report it', 0
    FROM (
      SELECT connector AS x_connector, flow AS x_flow, substring(name, position(name, '.') + 1) AS x_step,
        any(stage) AS x_stage, entities[1].1 AS x_type, entities[1].2 AS x_entity,
        if(attributes['error.type'] != '', attributes['error.type'], 'span.error') AS x_class,
        substring(lower(hex(SHA256(concat(x_connector, '\\0', x_step, '\\0', x_type, '\\0', x_entity, '\\0', x_class)))), 1, 24) AS x_id,
        argMax(status_message, timestamp) AS x_message, count() AS x_count, min(timestamp) AS x_first,
        max(timestamp) AS x_last, argMax(trace_id, timestamp) AS x_trace, argMax(span_id, timestamp) AS x_span
      FROM ${table(TABLES.spans)}
      WHERE timestamp >= ${since} AND timestamp < ${until} AND kind = 'consumer' AND startsWith(name, 'sync ')
        AND status_code = 'error' AND notEmpty(entities)
      GROUP BY x_connector, x_flow, x_step, x_type, x_entity, x_class
    ) AS f
    LEFT JOIN (
      SELECT connector AS ok_connector, substring(name, position(name, '.') + 1) AS ok_step, entities[1].1 AS ok_type,
        entities[1].2 AS ok_entity, max(timestamp) AS ok_at
      FROM ${table(TABLES.spans)}
      WHERE timestamp >= ${since} AND kind = 'consumer' AND startsWith(name, 'sync ') AND status_code != 'error'
        AND notEmpty(entities)
      GROUP BY ok_connector, ok_step, ok_type, ok_entity
    ) AS ok ON ok.ok_connector = f.x_connector AND ok.ok_step = f.x_step AND ok.ok_type = f.x_type
      AND ok.ok_entity = f.x_entity
    WHERE ok.ok_at < f.x_last AND f.x_id NOT IN (SELECT id FROM ${table(TABLES.exceptions)})`)
}

/**
 * Rewrites stored payloads (key rotation re-encrypts them): each row whose payload holds encrypted
 * values is given to `rewrite`, and the ones it changes get a new version, copied inside the engine
 * so nothing else about them changes. Returns how many rows were rewritten.
 */
export async function rewriteExceptionPayloads(
  store: Store,
  rewrite: (payload: unknown, id: string) => { payload: unknown; changed: boolean },
  batchSize = 1000,
): Promise<number> {
  const rows = await store.query<{ id: string; payload: string }>(sql`
    SELECT id, payload FROM ${table(TABLES.exceptions)} FINAL WHERE position(payload, '"$encrypted"') > 0`)
  const changed = rows.flatMap((r) => {
    const next = rewrite(JSON.parse(r.payload), r.id)
    return next.changed ? [{ id: r.id, payload: JSON.stringify(next.payload) }] : []
  })
  for (let i = 0; i < changed.length; i += batchSize) {
    const batch = changed.slice(i, i + batchSize)
    const ids = batch.map((r) => r.id)
    await store.command(sql`
      INSERT INTO ${table(TABLES.exceptions)} (id, version, connector, flow, step, stage, entity_type, entity_id,
        error_class, error_message, payload, attempts, occurrences, status, first_seen, last_seen, trace_id, span_id,
        status_by, status_reason, replay_count)
      SELECT id, greatest(toUInt64(toUnixTimestamp64Milli(now64(3))) * 1000, version + 1), connector, flow, step,
        stage, entity_type, entity_id, error_class, error_message,
        transform(id, ${ids}, ${batch.map((r) => r.payload)}, payload), attempts, occurrences, status, first_seen,
        last_seen, trace_id, span_id, status_by, status_reason, replay_count
      FROM ${table(TABLES.exceptions)} FINAL WHERE id IN ${ids}`)
  }
  return changed.length
}
