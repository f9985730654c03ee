import type { Store } from '../client.ts'
import { boundChunks, boundStringBytes, nanos, sql, table, typed } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface SpanRow {
  /** Nanoseconds since the epoch. */
  readonly start_ns: string
  readonly trace_id: string
  readonly span_id: string
  readonly parent_span_id: string
  readonly trace_state: string
  readonly name: string
  readonly kind: string
  readonly service_name: string
  readonly scope_name: string
  readonly scope_version: string
  readonly duration_ns: string
  readonly status_code: string
  readonly status_message: string
  readonly connector: string
  readonly flow: string
  readonly system: string
  readonly stage: string
  readonly location: string
  readonly entities: Array<[string, string]>
  readonly resource_attributes: Record<string, string>
  readonly attributes: Record<string, string>
  readonly events: Array<[string, string, Record<string, string>]>
  readonly links: Array<[string, string, string, Record<string, string>]>
}

export interface TraceWindow {
  /** Nanoseconds since the epoch, as decimal strings (beyond 2^53). */
  readonly start: string
  readonly end: string
  readonly spanCount: number
}

/** The trace's time window from the narrow index, so the span read touches only those days. */
export async function traceWindow(store: Store, traceId: string): Promise<TraceWindow | undefined> {
  const [row] = await store.query<{ start: string; end: string; span_count: string; n: string }>(sql`
    SELECT toString(toUnixTimestamp64Nano(min(start))) AS start, toString(toUnixTimestamp64Nano(max(end))) AS end,
      sum(span_count) AS span_count, count() AS n
    FROM ${table(TABLES.traceIndex)} WHERE trace_id = ${traceId}`)
  if (!row || Number(row.n) === 0) return undefined
  return { start: row.start, end: row.end, spanCount: Number(row.span_count) }
}

/**
 * Every span of one trace, oldest first, each with its resource's attributes. A span delivered twice
 * (an exporter retry) is returned once.
 */
export async function traceSpans(store: Store, traceId: string, window: TraceWindow): Promise<SpanRow[]> {
  const rows = await store.query<SpanRow & { resource_id: string }>(sql`
    SELECT toString(toUnixTimestamp64Nano(timestamp)) AS start_ns, trace_id, span_id, parent_span_id, trace_state, name, kind,
      service_name, scope_name, scope_version, duration_ns, status_code, status_message, connector, flow, system,
      stage, location, entities, resource_attributes, toString(resource_id) AS resource_id, attributes,
      arrayMap(e -> (toString(toUnixTimestamp64Nano(e.1)), e.2, e.3), events) AS events, links
    FROM ${table(TABLES.spans)}
    WHERE trace_id = ${traceId}
      AND timestamp BETWEEN fromUnixTimestamp64Nano(${typed(window.start, 'Int64')})
        AND fromUnixTimestamp64Nano(${typed(window.end, 'Int64')})
    ORDER BY timestamp, span_id
    LIMIT 1 BY span_id
    LIMIT 10000`)
  const resources = await resourceAttributes(store, rows)
  return rows.map(({ resource_id, ...row }) =>
    resource_id === '0' ? row : { ...row, resource_attributes: resources.get(resource_id) ?? {} },
  )
}

/**
 * The attributes of the resources some spans name (store/migrations/0026_span_resources.ts). Spans
 * stored before resources had ids (id 0) carry their resource's attributes themselves.
 */
async function resourceAttributes(
  store: Store,
  spans: ReadonlyArray<{ resource_id: string }>,
): Promise<Map<string, Record<string, string>>> {
  const ids = [...new Set(spans.map((s) => s.resource_id))].filter((id) => id !== '0')
  if (ids.length === 0) return new Map()
  const rows = await store.query<{ id: string; attributes: Record<string, string> }>(sql`
    SELECT toString(resource_id) AS id, argMax(attributes, seen) AS attributes
    FROM ${table(TABLES.spanResources)}
    WHERE resource_id IN ${typed(ids.map(BigInt), 'Array(UInt64)')}
    GROUP BY resource_id`)
  return new Map(rows.map((r) => [r.id, r.attributes]))
}

/** What a scope judges a trace by: the systems, services and flows its spans name, and their entities. */
export interface TraceFacts {
  readonly systems: readonly string[]
  readonly services: readonly string[]
  readonly flows: readonly string[]
  readonly entities: ReadonlyArray<readonly [string, string]>
}

/**
 * The facts of some traces (those found), in one read: the span read is bounded by the traces'
 * windows from the narrow index.
 */
export async function traceFacts(
  store: Store,
  traceIds: readonly string[],
): Promise<Map<string, TraceFacts>> {
  if (traceIds.length === 0) return new Map()
  const ids = [...traceIds]
  const rows = await store.query<TraceFacts & { trace_id: string }>(sql`
    SELECT trace_id, groupUniqArray(system) AS systems, groupUniqArray(service_name) AS services,
      groupUniqArray(flow) AS flows, groupUniqArrayArray(entities) AS entities
    FROM ${table(TABLES.spans)}
    WHERE trace_id IN ${ids}
      AND timestamp BETWEEN (SELECT min(start) FROM ${table(TABLES.traceIndex)} WHERE trace_id IN ${ids})
        AND (SELECT max(end) FROM ${table(TABLES.traceIndex)} WHERE trace_id IN ${ids})
    GROUP BY trace_id`)
  return new Map(rows.map(({ trace_id, ...facts }) => [trace_id, facts]))
}

/**
 * The keys (trace id + span id + service) of these traces' spans stored on the days from `fromNs` to
 * `toNs`: exactly-once's question before a write. The trace index keeps each trace's span keys in a
 * row a trace and day (store/migrations/0027_span_keys_in_trace_index.ts), ordered by trace and
 * partitioned by day, so this is one primary-key read of those days. A row's day is its spans' in the
 * engine's time zone when written, and the days asked are taken in the zone it reads in: the same
 * unless the engine's zone is changed in between.
 */
export async function storedSpanKeys(
  store: Store,
  traceIds: readonly string[],
  fromNs: bigint,
  toNs: bigint,
): Promise<Set<string>> {
  const keys = new Set<string>()
  // Many traces (a large batch of short ones) go in several queries, each within a server's URL limit.
  for (const chunk of boundChunks(traceIds, boundStringBytes)) {
    const rows = await store.query<{ k: string }>(
      sql`SELECT concat(trace_id, key) AS k FROM ${table(TABLES.traceIndex)} ARRAY JOIN span_keys AS key
          WHERE toDate(start) >= toDate(${nanos(fromNs)}) AND toDate(start) <= toDate(${nanos(toNs)})
            AND trace_id IN ${chunk}`,
    )
    for (const r of rows) keys.add(r.k)
  }
  return keys
}

/**
 * Where a load of the trace ids already stored begins: the start of yesterday, and that day, in the
 * engine's time zone (the zone its partitions are cut in); and how long until the next midnight there.
 */
export async function storedTracesHorizon(
  store: Store,
): Promise<{ fromNs: bigint; day: string; msToMidnight: number }> {
  const [row] = await store.query<{ from_s: string; day: string; to_midnight_s: string }>(
    sql`SELECT toUnixTimestamp(toStartOfDay(now() - INTERVAL 1 DAY)) AS from_s,
          toString(toDate(now() - INTERVAL 1 DAY)) AS day,
          toUnixTimestamp(toStartOfDay(now() + INTERVAL 1 DAY)) - toUnixTimestamp(now()) AS to_midnight_s`,
  )
  if (!row) throw new Error('the engine did not say what day it is')
  return {
    fromNs: BigInt(row.from_s) * 1_000_000_000n,
    day: row.day,
    msToMidnight: Number(row.to_midnight_s) * 1000,
  }
}

/**
 * The trace ids stored on `day` and after, from `low` (inclusive) up to `high` (exclusive, or the end
 * when undefined): one slice of the trace index at a time, so a load never holds them all at once.
 */
export async function storedTraceIds(
  store: Store,
  slice: { day: string; low: string; high: string | undefined; timeoutSeconds: number },
): Promise<string[]> {
  const { day, low, high, timeoutSeconds } = slice
  const rows = await store.query<{ trace_id: string }>(
    sql`SELECT DISTINCT trace_id FROM ${table(TABLES.traceIndex)}
        WHERE toDate(start) >= ${typed(day, 'Date')} AND trace_id >= ${low}
          ${high === undefined ? sql`` : sql`AND trace_id < ${high}`}`,
    { timeoutSeconds },
  )
  return rows.map((r) => r.trace_id)
}
