import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { relatedIntegrations } from '../../alerts/governance.ts'
import { type SloDefinition, sloLabels } from '../../alerts/spec.ts'
import { type Catalog, type Integration, integrationOf } from '../../core/catalog.ts'
import type { Config } from '../../core/config.ts'
import { DAY_MS } from '../../core/duration.ts'
import { BadRequestError, NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { unownedIntegrations } from '../../store/queries/catalog.ts'
import { listChanges } from '../../store/queries/changes.ts'
import { catalogEntries, changeView } from '../catalog-view.ts'
import { params, query, requestedRange, timeRange } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'
import type { Visibility } from '../visibility.ts'

/** How far back telemetry is looked at for integrations missing from the catalog. */
const UNOWNED_LOOKBACK_MS = DAY_MS

const changesQuery = timeRange.extend({
  integration: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('One integration (catalog id, or the name telemetry gives)'),
  flow: z.string().min(1).max(100).optional().describe('The integrations carrying this flow (catalog.yaml)'),
  slo: z.string().min(1).max(100).optional().describe('The integrations this SLO belongs to or depends on'),
})

/**
 * An integration a scoped caller sees: one of its flows in scope (when flows are limited) and its
 * connectors among the scoped systems' (when systems are limited).
 */
async function visibleTo(v: Visibility, i: Integration): Promise<boolean> {
  if (!v.limited) return true
  if (v.scope.flows && !i.flows.some((f) => v.flow(f))) return false
  const ids = await v.connectorIds()
  return ids === undefined || i.telemetry.connectors.some((c) => ids.includes(c))
}

/**
 * The integration catalog (catalog.yaml) with each integration's live state, the integrations
 * telemetry shows that it does not name (unowned), and the changes of version.
 */
export function catalogRoutes(
  store: Store,
  catalog: Catalog,
  slos: readonly SloDefinition[],
  config: Pick<Config, 'query'>,
) {
  /** The integrations a changes query narrows to (catalog ids or telemetry names); undefined: all. */
  const askedIntegrations = (q: { integration?: string; flow?: string; slo?: string }) => {
    let wanted: Set<string> | undefined
    const narrow = (ids: Set<string>) => {
      wanted = wanted ? new Set([...wanted].filter((id) => ids.has(id))) : ids
    }
    // Asked by a telemetry name of a catalogued integration: its catalog id.
    if (q.integration)
      narrow(new Set([integrationOf(catalog, 'connector', q.integration)?.id ?? q.integration]))
    if (q.flow)
      narrow(new Set(catalog.integrations.filter((i) => i.flows.includes(q.flow as string)).map((i) => i.id)))
    if (q.slo) {
      const slo = slos.find((s) => s.id === q.slo)
      if (!slo) throw new BadRequestError('invalid_parameter', `slo: no SLO '${q.slo.slice(0, 100)}'`)
      narrow(relatedIntegrations(catalog, sloLabels(slo), slo.dependsOn))
    }
    return wanted
  }
  const visibleList = async (v: Visibility) =>
    (await Promise.all(catalog.integrations.map(async (i) => ((await visibleTo(v, i)) ? [i] : [])))).flat()
  return new Hono<ApiEnv>()
    .get(
      '/catalog',
      describeRoute({
        tags: ['catalog'],
        summary: 'Every integration with owner, tier and live state; and the unowned ones telemetry shows',
        description:
          'Integrations from catalog.yaml with health, SLO states, open exceptions, last run, the last hour’s volume against the expected and the last change; the tiers and what each means; services, connectors and event sources seen in the last day that the catalog does not name (only for callers without a scope).',
        responses: { 200: { description: 'The catalog' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      async (c) => {
        const visible = scoped(c)
        const list = await visibleList(visible)
        const changes = await listChanges(store, catalog)
        const now = Date.now()
        const [integrations, unowned] = await Promise.all([
          // Each entry's SLOs as the caller may see them.
          catalogEntries(
            store,
            catalog,
            slos.filter((s) => visible.slo(s)),
            changes,
            list,
            now,
          ),
          // What no entry names spans every scope: only unlimited callers see it.
          visible.limited ? [] : unownedIntegrations(store, catalog, new Date(now - UNOWNED_LOOKBACK_MS)),
        ])
        return c.json({
          tiers: catalog.tiers.map((t) => ({
            tier: t.tier,
            meaning: t.meaning,
            sloObjective: t.slo.objective ?? null,
          })),
          integrations,
          unowned,
          systems: visible.limited ? [] : catalog.systems,
        })
      },
    )
    .get(
      '/catalog/:id',
      describeRoute({
        tags: ['catalog'],
        summary: 'One integration with its live state and its changes, newest first',
        responses: { 200: { description: 'The integration' }, 404: { description: 'Not in the catalog' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      params(z.object({ id: z.string().min(1).max(200) })),
      async (c) => {
        const { id } = c.req.valid('param')
        const entry = catalog.integrations.find((i) => i.id === id)
        // Out of scope answers as not found: whether it exists is not the caller's to know.
        const visible = scoped(c)
        if (!entry || !(await visibleTo(visible, entry)))
          throw new NotFoundError(`no integration '${id.slice(0, 100)}' in the catalog`)
        const changes = await listChanges(store, catalog)
        const [integration] = await catalogEntries(
          store,
          catalog,
          slos.filter((s) => visible.slo(s)),
          changes,
          [entry],
        )
        return c.json({
          integration,
          changes: changes
            .filter((ch) => ch.integration === id)
            .reverse()
            .map(changeView),
        })
      },
    )
    .get(
      '/changes',
      describeRoute({
        tags: ['catalog'],
        summary: 'Changes of version in a time range, oldest first: chart markers and the catalog',
        description:
          'A change is a new `service.version` on an integration’s telemetry after an earlier one, or a `retail.integration.deployed` event. Default range: the last 24 hours.',
        responses: { 200: { description: 'Changes' } },
      }),
      policy({ role: 'viewer', scope: 'narrowed' }),
      query(changesQuery),
      async (c) => {
        const q = c.req.valid('query')
        const { from, to } = requestedRange(q, config, { toMs: Date.now(), spanMs: DAY_MS })
        const visible = scoped(c)
        const ids = new Set((await visibleList(visible)).map((i) => i.id))
        const wanted = askedIntegrations(q)
        const changes = (await listChanges(store, catalog)).filter(
          (ch) =>
            ch.atMs >= from.getTime() &&
            ch.atMs < to.getTime() &&
            (!wanted || wanted.has(ch.integration)) &&
            (!visible.limited || ids.has(ch.integration)),
        )
        return c.json({ from: from.toISOString(), to: to.toISOString(), changes: changes.map(changeView) })
      },
    )
}
