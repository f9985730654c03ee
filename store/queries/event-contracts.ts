import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/** An event contract registered through the api (store/migrations/0020_event_contracts.ts). */
export interface RegisteredContractRow {
  readonly type: string
  readonly version: string
  readonly schema: string
  readonly policy: string
  readonly registered_at_ms: string
  readonly registered_by: string
}

/**
 * Every registered contract, one row per type and version (its first registration), in the order
 * they were registered: a type's policy is its latest registration's.
 */
export async function registeredContracts(store: Store): Promise<RegisteredContractRow[]> {
  return store.query<RegisteredContractRow>(sql`
    SELECT * FROM (
      SELECT type, version, schema, policy, toUnixTimestamp64Milli(registered_at) AS registered_at_ms, registered_by
      FROM ${table(TABLES.eventTypes)}
      ORDER BY type, version, registered_at
      LIMIT 1 BY type, version)
    ORDER BY registered_at_ms`)
}

export async function registerContract(
  store: Store,
  c: { type: string; version: string; schema: string; policy: string; by: string },
): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.eventTypes)} (type, version, schema, policy, registered_at, registered_by)
    VALUES (${c.type}, ${c.version}, ${c.schema}, ${c.policy}, ${new Date()}, ${c.by})`)
}

/** One event that broke its contract, as recorded. */
export interface ViolationRecord {
  readonly atMs: number
  readonly type: string
  readonly version: string
  readonly source: string
  readonly eventId: string
  readonly policy: string
  readonly path: string
  readonly message: string
  /** The event's data after redaction (core/privacy.ts), cut short; empty for a refused event. */
  readonly example: string
}

const VIOLATION_COLUMNS = [
  'time',
  'type',
  'version',
  'source',
  'event_id',
  'policy',
  'path',
  'message',
  'example',
]

export async function recordViolations(store: Store, rows: readonly ViolationRecord[]): Promise<void> {
  if (rows.length === 0) return
  const text = rows
    .map((r) =>
      JSON.stringify([
        (r.atMs / 1000).toFixed(3),
        r.type,
        r.version,
        r.source,
        r.eventId,
        r.policy,
        r.path,
        r.message,
        r.example,
      ]),
    )
    .join('\n')
  await store.insertRows(TABLES.contractViolations, VIOLATION_COLUMNS, [`${text}\n`])
}

/** Violations grouped by what broke: type, version, source and path, with since when and an example. */
export interface ViolationGroupRow {
  readonly type: string
  readonly version: string
  readonly source: string
  readonly path: string
  readonly policy: string
  readonly message: string
  readonly count: string
  readonly first_ms: string
  readonly last_ms: string
  readonly example_id: string
  readonly example_data: string
}

export async function violationGroups(
  store: Store,
  range: { from: Date; to: Date; type?: string; source?: string; limit: number },
): Promise<ViolationGroupRow[]> {
  const type = range.type ? sql`AND type = ${range.type}` : sql``
  const source = range.source ? sql`AND source = ${range.source}` : sql``
  return store.query<ViolationGroupRow>(sql`
    SELECT type, version, source, path,
      argMax(policy, time) AS policy, argMax(message, time) AS message, count() AS count,
      toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms,
      argMax(event_id, (v.example != '', time)) AS example_id, argMax(v.example, (v.example != '', time)) AS example_data
    FROM ${table(TABLES.contractViolations)} AS v
    WHERE time >= ${range.from} AND time <= ${range.to} ${type} ${source}
    GROUP BY type, version, source, path
    ORDER BY last_ms DESC
    LIMIT ${range.limit}`)
}
