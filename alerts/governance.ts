import { type Catalog, integrationForLabels, integrationOf } from '../core/catalog.ts'
import type { Change } from '../store/queries/changes.ts'

/**
 * What the catalog adds to alerts: the owner's `team` and the `tier` as labels (so a route can say
 * "tier 1 pages" or "team pricing gets pricing"), and the change that came just before an alert.
 */

/** The labels of the integration an alert's labels point at (its connector, else its flow's). */
export function ownerLabels(
  catalog: Catalog,
  labels: Readonly<Record<string, string>>,
): Record<string, string> {
  const i = integrationForLabels(catalog, labels)
  return i ? { integration: i.id, team: i.owner.team, tier: String(i.tier) } : {}
}

/** The integrations (catalog ids, or names telemetry gives) an alert is about. */
export function relatedIntegrations(
  catalog: Catalog,
  labels: Readonly<Record<string, string>>,
  dependsOn: readonly string[] = [],
): Set<string> {
  const related = new Set<string>()
  if (labels.integration) related.add(labels.integration)
  for (const connector of [labels.connector, ...dependsOn])
    if (connector) related.add(integrationOf(catalog, 'connector', connector)?.id ?? connector)
  if (labels.service) related.add(integrationOf(catalog, 'service', labels.service)?.id ?? labels.service)
  return related
}

const clock = (ms: number) => `${new Date(ms).toISOString().slice(11, 16)} UTC`

/**
 * The reason with the changes to the alert's integrations made within `windowMs` before `firedAtMs`
 * named after it: "… ; return-to-refund deployed 1.8.0 at 14:02 UTC". The newest change first.
 */
export function reasonWithChanges(
  reason: string,
  changes: readonly Change[],
  related: ReadonlySet<string>,
  firedAtMs: number,
  windowMs: number,
): string {
  const recent = changes
    .filter((c) => related.has(c.integration) && c.atMs <= firedAtMs && c.atMs >= firedAtMs - windowMs)
    .sort((a, b) => b.atMs - a.atMs)
    .slice(0, 3)
  if (recent.length === 0) return reason
  const named = recent.map((c) => `${c.integration} deployed ${c.version} at ${clock(c.atMs)}`)
  return `${reason}; ${named.join('; ')}`
}
