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
}

/** The same failure (connector, step, entity, error class) is one exception, however often reported. */
export function exceptionId(r: Pick<ExceptionReport, 'connector' | 'step' | 'entity' | 'error'>): string {
  return createHash('sha256')
    .update([r.connector, r.step, r.entity.type, r.entity.id, r.error.class].join('\u0000'))
    .digest('hex')
    .slice(0, 24)
}

const COLUMNS = sql`id, connector, flow, step, stage, entity_type, entity_id, error_class, error_message, payload,
  attempts, occurrences, status, toString(first_seen) AS first_seen, toString(last_seen) AS last_seen, trace_id, span_id`

export async function getException(store: Store, id: string): Promise<ExceptionRow | undefined> {
  const [row] = await store.query<ExceptionRow>(
    sql`SELECT ${COLUMNS} FROM ${table(TABLES.exceptions)} FINAL WHERE id = ${id}`,
  )
  return row
}

/**
 * Records a report as a new version of its exception: a repeat raises the count and keeps the first
 * sighting; the latest payload, error and trace win (they are what a replay needs).
 */
export async function recordException(
  store: Store,
  r: ExceptionReport,
  now = new Date(),
): Promise<ExceptionRow> {
  const id = exceptionId(r)
  const current = await getException(store, id)
  const occurrences = (current ? Number(current.occurrences) : 0) + 1
  await store.command(sql`
    INSERT INTO ${table(TABLES.exceptions)} (id, version, connector, flow, step, stage, entity_type, entity_id,
      error_class, error_message, payload, attempts, occurrences, status, first_seen, last_seen, trace_id, span_id)
    VALUES (${id}, ${now.getTime() * 1000 + (occurrences % 1000)}, ${r.connector}, ${r.flow}, ${r.step}, ${r.stage},
      ${r.entity.type}, ${r.entity.id}, ${r.error.class}, ${r.error.message}, ${JSON.stringify(r.payload ?? null)},
      ${r.attempts}, ${occurrences}, 'open', ${current ? new Date(`${current.first_seen.replace(' ', 'T')}Z`) : now}, ${now},
      ${r.traceId}, ${r.spanId})`)
  return (await getException(store, id)) as ExceptionRow
}

export async function listExceptions(
  store: Store,
  filter: { status?: string; connector?: string; entity?: { type: string; id: string }; limit: number },
): Promise<ExceptionRow[]> {
  const conditions = [sql`1`]
  if (filter.status) conditions.push(sql`status = ${filter.status}`)
  if (filter.connector) conditions.push(sql`connector = ${filter.connector}`)
  if (filter.entity)
    conditions.push(sql`entity_type = ${filter.entity.type} AND entity_id = ${filter.entity.id}`)
  return store.query<ExceptionRow>(sql`
    SELECT ${COLUMNS} FROM ${table(TABLES.exceptions)} FINAL
    WHERE ${join(conditions, ' AND ')}
    ORDER BY last_seen DESC
    LIMIT ${filter.limit}`)
}
