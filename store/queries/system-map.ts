import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface EdgeRow {
  readonly source: string
  readonly target: string
  readonly calls: string
  readonly errors: string
  readonly p50_ns: number
  readonly p95_ns: number
  readonly p99_ns: number
}

/** Calls between services in the range, from the per-minute edge rollup. */
export function systemEdges(store: Store, from: Date, to: Date): Promise<EdgeRow[]> {
  return store.query<EdgeRow>(sql`
    SELECT source, target, sum(calls) AS calls, sum(errors) AS errors,
      quantilesMerge(0.5, 0.95, 0.99)(duration_ns) AS q, q[1] AS p50_ns, q[2] AS p95_ns, q[3] AS p99_ns
    FROM ${table(TABLES.systemEdges)} FINAL
    WHERE minute >= ${from} AND minute < ${to}
    GROUP BY source, target
    ORDER BY calls DESC
    LIMIT 1000`)
}

export interface ServiceRow {
  readonly service: string
  readonly spans: string
  readonly errors: string
}

/** Every service that sent spans in the range, with its span and error counts. */
export function services(store: Store, from: Date, to: Date): Promise<ServiceRow[]> {
  return store.query<ServiceRow>(sql`
    SELECT service_name AS service, sum(spans) AS spans, sum(errors) AS errors
    FROM ${table(TABLES.flowMinutes)}
    WHERE minute >= ${from} AND minute < ${to}
    GROUP BY service
    ORDER BY spans DESC
    LIMIT 1000`)
}

export interface FailingCallRow {
  readonly trace_id: string
  readonly span_id: string
  readonly time_ns: string
  readonly name: string
  readonly duration_ns: string
  readonly status_message: string
}

/** The newest failed calls from one service to another: what clicking an edge lists. */
export function failingCalls(
  store: Store,
  edge: { source: string; target: string },
  from: Date,
  to: Date,
  limit: number,
): Promise<FailingCallRow[]> {
  return store.query<FailingCallRow>(sql`
    SELECT c.trace_id AS trace_id, c.span_id AS span_id, toString(toUnixTimestamp64Nano(c.timestamp)) AS time_ns,
      c.name AS name, c.duration_ns AS duration_ns, c.status_message AS status_message
    FROM ${table(TABLES.spans)} AS c
    INNER JOIN (
      SELECT trace_id, span_id FROM ${table(TABLES.spans)}
      WHERE service_name = ${edge.source} AND timestamp >= ${from} AND timestamp < ${to}
    ) AS p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
    WHERE c.service_name = ${edge.target} AND c.status_code = 'error' AND c.timestamp >= ${from} AND c.timestamp < ${to}
    ORDER BY c.timestamp DESC
    LIMIT ${limit}`)
}
