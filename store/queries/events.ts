import type { Store } from '../client.ts'
import { boundChunks, boundStringBytes, join, sql, table } from '../sql.ts'
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
 * Which of these events (a source and an id each) are stored: exactly-once's question before an event
 * write. The pairs go to the engine as one set it hashes, matched on the key table's primary key; an
 * id list bound as an array would be scanned for every row (20 s for a 60,000-event batch). A long
 * list goes in several queries, each within a server's URL limit.
 */
export async function storedEventIds(
  store: Store,
  events: ReadonlyArray<{ source: string; id: string }>,
): Promise<Array<{ source: string; id: string }>> {
  const stored: Array<{ source: string; id: string }> = []
  for (const chunk of boundChunks(events, (e) => boundStringBytes(e.source) + boundStringBytes(e.id))) {
    const sources = chunk.map((e) => e.source)
    const ids = chunk.map((e) => e.id)
    stored.push(
      ...(await store.query<{ source: string; id: string }>(
        sql`SELECT source, id FROM ${table(TABLES.eventKeys)}
            WHERE (source, id) IN (SELECT p.1, p.2 FROM (SELECT arrayJoin(arrayZip(${sources}, ${ids})) AS p))`,
      )),
    )
  }
  return stored
}
