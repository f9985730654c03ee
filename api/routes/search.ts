import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { scopeOf } from '../../auth/middleware.ts'
import { type Scope, within } from '../../auth/scope.ts'
import type { Config } from '../../core/config.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import type { Redactor } from '../../core/privacy.ts'
import { ENTITY_TYPES } from '../../core/vocabulary.ts'
import type { Store } from '../../store/client.ts'
import { searchCustomer, searchEntities } from '../../store/queries/search.ts'
import { traceWindow } from '../../store/queries/traces.ts'
import { isoFromNanos, lookback, query, wholeNumber } from '../params.ts'

const TRACE_ID = /^[0-9a-f]{32}$/i
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/

/** One box for an order, return, shipment, SKU or trace id. */
export function searchRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
  privacy: Redactor,
) {
  /** An entity kind is found when one of its flows is within the caller's scope (kinds without a flow always). */
  const kindInScope = (kind: string, scope: Scope) => {
    const own = [...flows.values()].filter((f) => f.entity === kind)
    return own.length === 0 || own.some((f) => within(scope.flows, f.name))
  }
  /** The built-in entity types and those the configured flows follow. */
  const entityTypes = [...new Set([...ENTITY_TYPES, ...[...flows.values()].map((f) => f.entity)])]
  const schema = z.object({
    q: z.string().trim().min(2, 'type at least 2 characters').max(256).describe('An id, or its beginning'),
    limit: wholeNumber(1, 100).default(20),
  })
  const describe = describeRoute({
    tags: ['search'],
    summary: "One box for orders, returns, shipments, SKUs, traces and a customer's e-mail",
    description:
      "Ids that start with `q`, exact matches first; a 32-hex-digit `q` also finds the trace; an e-mail finds the customer's orders and returns by its keyed hash.",
    responses: { 200: { description: 'Matches, best first' } },
  })
  return new Hono().get('/search', describe, query(schema), async (c) => {
    const { q, limit } = c.req.valid('query')
    const results: Array<{ kind: string; id: string; lastSeen: string; items?: number }> = []
    if (TRACE_ID.test(q)) {
      const window = await traceWindow(store, q.toLowerCase())
      if (window)
        results.push({
          kind: 'trace',
          id: q.toLowerCase(),
          lastSeen: isoFromNanos(window.end),
          items: window.spanCount,
        })
    }
    const since = lookback(config).from
    // An e-mail is looked up by its keyed hash: Signalbox never stored the address itself.
    const matches = EMAIL.test(q)
      ? await searchCustomer(store, privacy.hash(q), since, limit)
      : await searchEntities(store, entityTypes, q, since, limit)
    for (const m of matches) {
      results.push({
        kind: m.entity_type,
        id: m.entity_id,
        lastSeen: new Date(Number(m.last_ms)).toISOString(),
        items: Number(m.items),
      })
    }
    const scope = scopeOf(c.req.raw)
    const found = results.filter((r) => r.kind === 'trace' || kindInScope(r.kind, scope))
    return c.json({ q, results: found.slice(0, limit) })
  })
}
