import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

export interface ConnectorRegistration {
  readonly id: string
  readonly system: string
  readonly flows: readonly string[]
  readonly callbackUrl: string
  readonly steps?: readonly ConnectorStep[]
}

export interface ConnectorStep {
  readonly name: string
  readonly flow: string
  readonly stage: string
  readonly schema: Record<string, unknown> | null
  readonly resync: boolean
}

export interface ConnectorRow {
  readonly id: string
  readonly system: string
  readonly flows: string[]
  readonly callback_url: string
  readonly registered_at: string
  readonly last_seen: string
  readonly runs: string
  readonly failures: string
  readonly last_run: string | null
}

export async function registerConnector(
  store: Store,
  c: ConnectorRegistration,
  now = new Date(),
): Promise<void> {
  const [existing] = await store.query<{ registered_at: string }>(
    sql`SELECT toString(registered_at) AS registered_at FROM ${table(TABLES.connectors)} FINAL
      WHERE id = ${c.id} AND removed = 0`,
  )
  const registeredAt = existing ? new Date(`${existing.registered_at.replace(' ', 'T')}Z`) : now
  await store.command(sql`
    INSERT INTO ${table(TABLES.connectors)} (id, system, flows, callback_url, registered_at, last_seen, steps, removed)
    VALUES (${c.id}, ${c.system}, ${[...c.flows]}, ${c.callbackUrl}, ${registeredAt}, ${now}, ${JSON.stringify(c.steps ?? [])}, 0)`)
}

/**
 * Takes a connector out of the registry: a version of its row marked removed, one millisecond after
 * its last sighting so it wins without moving that sighting. A registration after it brings the
 * connector back. Nothing happens to an id not registered.
 */
export async function removeConnector(store: Store, id: string): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.connectors)} (id, system, flows, callback_url, registered_at, last_seen, steps, removed)
    SELECT id, system, flows, callback_url, registered_at, last_seen + toIntervalMillisecond(1), steps, 1
    FROM ${table(TABLES.connectors)} FINAL
    WHERE id = ${id} AND removed = 0`)
}

/** The registry with health from the connectors' own sync spans over the last day. */
export async function listConnectors(store: Store, since: Date): Promise<ConnectorRow[]> {
  return store.query<ConnectorRow>(sql`
    SELECT c.id AS id, c.system AS system, c.flows AS flows, c.callback_url AS callback_url,
      toString(c.registered_at) AS registered_at, toString(c.last_seen) AS last_seen,
      ifNull(r.runs, 0) AS runs, ifNull(r.failures, 0) AS failures, r.last_run AS last_run
    FROM (SELECT * FROM ${table(TABLES.connectors)} FINAL WHERE removed = 0) AS c
    LEFT JOIN (
      SELECT connector, count() AS runs, countIf(status_code = 'error') AS failures, toString(max(timestamp)) AS last_run
      FROM ${table(TABLES.spans)}
      WHERE timestamp >= ${since} AND kind = 'consumer' AND startsWith(name, 'sync ')
      GROUP BY connector
    ) AS r ON r.connector = c.id
    ORDER BY id
    SETTINGS join_use_nulls = 1`)
}

export interface RegisteredConnector {
  readonly id: string
  readonly system: string
  readonly flows: readonly string[]
  readonly callbackUrl: string
  readonly steps: readonly ConnectorStep[]
}

/** One connector as registered, or undefined. */
export async function registeredConnector(
  store: Store,
  id: string,
): Promise<RegisteredConnector | undefined> {
  return (await registeredConnectors(store, id))[0]
}

/** The registry alone (no health): where to call a connector back and what its steps take. */
export async function registeredConnectors(store: Store, id?: string): Promise<RegisteredConnector[]> {
  const rows = await store.query<{
    id: string
    system: string
    flows: string[]
    callback_url: string
    steps: string
  }>(
    id === undefined
      ? sql`SELECT id, system, flows, callback_url, steps FROM ${table(TABLES.connectors)} FINAL
          WHERE removed = 0 ORDER BY id`
      : sql`SELECT id, system, flows, callback_url, steps FROM ${table(TABLES.connectors)} FINAL
          WHERE id = ${id} AND removed = 0`,
  )
  return rows.map((r) => ({
    id: r.id,
    system: r.system,
    flows: r.flows,
    callbackUrl: r.callback_url,
    steps: JSON.parse(r.steps || '[]') as ConnectorStep[],
  }))
}

/** A probe of a connector's callback: did it answer Signalbox's signed request, and how. */
export interface CallbackProbe {
  readonly id: string
  readonly callbackUrl: string
  readonly answered: boolean
  readonly atMs: number
  /** 0 when the callback could not be reached. */
  readonly httpStatus: number
  readonly error: string
}

export async function recordProbe(store: Store, p: CallbackProbe): Promise<void> {
  await store.command(sql`
    INSERT INTO ${table(TABLES.connectorProbes)} (id, callback_url, answered, probed_at, http_status, error)
    VALUES (${p.id}, ${p.callbackUrl}, ${p.answered}, ${new Date(p.atMs)}, ${p.httpStatus}, ${p.error})`)
}

/** The latest answered and the latest unanswered probe of each connector's callbacks. */
export async function latestProbes(store: Store, id?: string): Promise<CallbackProbe[]> {
  // Only the callbacks registered now (of one connector, when given): the probes of every URL ever
  // registered (restarts on new ports, load runs) stay in the table and would be read for nothing.
  const registered =
    id === undefined
      ? sql`SELECT id, callback_url FROM ${table(TABLES.connectors)} FINAL WHERE removed = 0`
      : sql`SELECT id, callback_url FROM ${table(TABLES.connectors)} FINAL WHERE id = ${id} AND removed = 0`
  const rows = await store.query<{
    id: string
    callback_url: string
    answered: boolean
    at_ms: string
    http_status: number
    error: string
  }>(sql`
    SELECT id, callback_url, answered, toString(toUnixTimestamp64Milli(probed_at)) AS at_ms, http_status, error
    FROM ${table(TABLES.connectorProbes)} FINAL
    WHERE (id, callback_url) IN (${registered})`)
  return rows.map((r) => ({
    id: r.id,
    callbackUrl: r.callback_url,
    answered: Boolean(r.answered),
    atMs: Number(r.at_ms),
    httpStatus: Number(r.http_status),
    error: r.error,
  }))
}
