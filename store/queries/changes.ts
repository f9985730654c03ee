import { type Catalog, integrationOf } from '../../core/catalog.ts'
import type { Store } from '../client.ts'
import { sql, table } from '../sql.ts'
import { TABLES } from '../tables.ts'

/**
 * Changes: a new version of an integration or system, seen as a new `service.version` on its
 * telemetry's resource or announced by a deploy pipeline (`retail.integration.deployed`).
 */
export interface Change {
  /** The catalog entry's id, or the name telemetry gives when the catalog has none. */
  readonly integration: string
  readonly version: string
  /** The version before it; null for the first one seen (only a deployment says that is a change). */
  readonly previous: string | null
  readonly atMs: number
  /** `deploy`: a pipeline announced it; `telemetry`: a service's resource first showed it. */
  readonly source: 'deploy' | 'telemetry'
  /** Whether the catalog names the integration. */
  readonly catalogued: boolean
}

interface VersionRow {
  readonly kind: string
  readonly name: string
  readonly connector: string
  readonly version: string
  readonly first: string
}

/** Which integration a row is about: a deployment names it; a service by its connector or its name. */
function integrationKey(catalog: Catalog, r: VersionRow): { key: string; catalogued: boolean } {
  const entry =
    r.kind === 'deploy'
      ? (catalog.integrations.find((i) => i.id === r.name) ??
        integrationOf(catalog, 'connector', r.name) ??
        integrationOf(catalog, 'service', r.name))
      : ((r.connector ? integrationOf(catalog, 'connector', r.connector) : undefined) ??
        integrationOf(catalog, 'service', r.name))
  return entry ? { key: entry.id, catalogued: true } : { key: r.name, catalogued: false }
}

/**
 * Every change, oldest first. A version is a change when it follows another version of the same
 * integration, or when a deploy pipeline announced it; the first version telemetry ever showed is
 * where the history starts, not a change. Versions are compared by when each was first seen.
 */
export async function listChanges(store: Store, catalog: Catalog): Promise<Change[]> {
  const rows = await store.query<VersionRow>(sql`
    SELECT kind, name, connector, version, toUnixTimestamp64Milli(min(first_seen)) AS first
    FROM ${table(TABLES.integrationSightings)}
    WHERE kind IN ('service', 'deploy') AND version != ''
    GROUP BY kind, name, connector, version`)
  const byIntegration = new Map<
    string,
    Map<string, { atMs: number; deployed: boolean; catalogued: boolean }>
  >()
  for (const r of rows) {
    const { key, catalogued } = integrationKey(catalog, r)
    const versions = byIntegration.get(key) ?? new Map()
    const at = Number(r.first)
    const seen = versions.get(r.version)
    versions.set(r.version, {
      atMs: seen ? Math.min(seen.atMs, at) : at,
      deployed: (seen?.deployed ?? false) || r.kind === 'deploy',
      catalogued,
    })
    byIntegration.set(key, versions)
  }
  const changes: Change[] = []
  for (const [integration, versions] of byIntegration) {
    const ordered = [...versions.entries()].sort((a, b) => a[1].atMs - b[1].atMs)
    ordered.forEach(([version, v], i) => {
      const previous = i > 0 ? (ordered[i - 1]?.[0] ?? null) : null
      if (previous === null && !v.deployed) return
      changes.push({
        integration,
        version,
        previous,
        atMs: v.atMs,
        source: v.deployed ? 'deploy' : 'telemetry',
        catalogued: v.catalogued,
      })
    })
  }
  return changes.sort((a, b) => a.atMs - b.atMs || a.integration.localeCompare(b.integration))
}
