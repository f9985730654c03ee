import type { Store } from '../client.ts'
import { join, sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface EventRow {
  /** Nanoseconds since the epoch. */
  readonly time_ns: string
  /** Milliseconds since the epoch. */
  readonly received_at_ms: string
  readonly type: string
  readonly subject: string
  readonly source: string
  readonly id: string
  readonly datacontenttype: string
  readonly dataschema: string
  readonly data: string
  readonly extensions: Record<string, string>
  readonly trace_id: string
  readonly span_id: string
  readonly connector: string
  readonly flow: string
  readonly system: string
  readonly location: string
  readonly entities: Array<[string, string]>
}

export interface EventFilter {
  readonly type?: string
  readonly subject?: string
  readonly from: Date
  readonly to: Date
  readonly limit: number
}

/** Business events, newest first. FINAL collapses any duplicate that raced past the collector's key check. */
export async function listEvents(store: Store, f: EventFilter): Promise<EventRow[]> {
  const conditions = [sql`time >= ${f.from}`, sql`time < ${f.to}`]
  if (f.type)
    conditions.push(
      f.type.endsWith('*') ? sql`startsWith(type, ${f.type.slice(0, -1)})` : sql`type = ${f.type}`,
    )
  if (f.subject) conditions.push(sql`subject = ${f.subject}`)
  return store.query<EventRow>(sql`
    SELECT toString(toUnixTimestamp64Nano(time)) AS time_ns, toUnixTimestamp64Milli(received_at) AS received_at_ms, type, subject, source, id,
      datacontenttype, dataschema, data, extensions, trace_id, span_id, connector, flow, system, location, entities
    FROM ${table(TABLES.events)} FINAL
    WHERE ${join(conditions, ' AND ')}
    ORDER BY time DESC, source, id
    LIMIT ${f.limit}`)
}

/**
 * Which events of these sources and ids are stored: exactly-once's question before an event write
 * (an event is its source and id). The key table's primary key narrows by both lists; the caller
 * matches the pairs it asked about among the rows.
 */
export function storedEventIds(
  store: Store,
  sources: readonly string[],
  ids: readonly string[],
): Promise<Array<{ source: string; id: string }>> {
  return store.query<{ source: string; id: string }>(
    sql`SELECT source, id FROM ${table(TABLES.eventKeys)} WHERE source IN ${sources} AND id IN ${ids}`,
  )
}
