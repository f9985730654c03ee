import { type Catalog, integrationOf, isOwned, type TelemetryKind } from '../../core/catalog.ts'
import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/**
 * Reads of `integration_sightings` (migration 22): what telemetry shows of each integration. The
 * table is small (a row per name, version and hour), so these read it whole for the window asked.
 */

export interface Sighting {
  /** `service`, `source` or `deploy`. */
  readonly kind: string
  readonly name: string
  readonly connector: string
  readonly n: number
  readonly lastSeenMs: number
}

/** Every service, event source and deployment seen since `since`, with its count and last sighting. */
export async function sightingsSince(store: Store, since: Date): Promise<Sighting[]> {
  const rows = await store.query<{
    kind: string
    name: string
    connector: string
    n: string
    last: string
  }>(sql`
    SELECT kind, name, connector, sum(n) AS n, toUnixTimestamp64Milli(max(last_seen)) AS last
    FROM ${table(TABLES.integrationSightings)}
    WHERE hour >= toStartOfHour(${since}) AND last_seen >= ${since}
    GROUP BY kind, name, connector
    ORDER BY kind, name, connector`)
  return rows.map((r) => ({ ...r, n: Number(r.n), lastSeenMs: Number(r.last) }))
}

export interface UnownedIntegration {
  /** How telemetry names it: a `service`, a `connector` or an event `source`. */
  readonly seenAs: 'service' | 'connector' | 'source'
  readonly name: string
  readonly count: number
  readonly lastSeen: string
}

/**
 * Services, connectors and event sources seen since `since` that the catalog does not name: neither
 * an integration's telemetry nor a known system's service. A connector that registered counts too.
 */
export async function unownedIntegrations(
  store: Store,
  catalog: Catalog,
  since: Date,
): Promise<UnownedIntegration[]> {
  const [seen, registered] = await Promise.all([
    sightingsSince(store, since),
    store.query<{ id: string; last: string }>(sql`
      SELECT id, toUnixTimestamp64Milli(max(last_seen)) AS last FROM ${table(TABLES.connectors)}
      WHERE last_seen >= ${since} GROUP BY id`),
  ])
  const found = new Map<
    string,
    { seenAs: UnownedIntegration['seenAs']; name: string; count: number; last: number }
  >()
  const add = (seenAs: UnownedIntegration['seenAs'], name: string, count: number, last: number) => {
    const kind: TelemetryKind = seenAs
    if (!name || isOwned(catalog, kind, name)) return
    const key = `${seenAs}\u0000${name}`
    const entry = found.get(key) ?? { seenAs, name, count: 0, last: 0 }
    entry.count += count
    entry.last = Math.max(entry.last, last)
    found.set(key, entry)
  }
  for (const s of seen) {
    if (s.kind === 'deploy') continue
    // A service that is an owned connector's is owned, whatever its service name.
    if (s.kind === 'service' && s.connector && integrationOf(catalog, 'connector', s.connector)) continue
    add(s.kind === 'source' ? 'source' : 'service', s.name, s.n, s.lastSeenMs)
    if (s.connector && s.kind === 'service') add('connector', s.connector, s.n, s.lastSeenMs)
  }
  for (const r of registered) add('connector', r.id, 0, Number(r.last))
  return [...found.values()]
    .sort((a, b) => a.seenAs.localeCompare(b.seenAs) || a.name.localeCompare(b.name))
    .map((e) => ({
      seenAs: e.seenAs,
      name: e.name,
      count: e.count,
      lastSeen: new Date(e.last).toISOString(),
    }))
}

/** Sync runs per connector since `since` (from the SLI rollup), with the minute of the last one. */
export async function connectorActivity(store: Store, since: Date) {
  const rows = await store.query<{ key: string; runs: string; ok: string; last: string }>(sql`
    SELECT key, sum(total) AS runs, sum(good) AS ok, toUnixTimestamp(max(minute)) * 1000 AS last
    FROM ${table(TABLES.sliMinutes)}
    WHERE scope = 'connector' AND minute >= toStartOfMinute(${since})
    GROUP BY key`)
  return new Map(rows.map((r) => [r.key, { runs: Number(r.runs), ok: Number(r.ok), lastMs: Number(r.last) }]))
}
