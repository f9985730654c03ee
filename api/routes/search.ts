import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import type { Redactor } from '../../core/privacy.ts'
import { ENTITY_TYPES } from '../../core/vocabulary.ts'
import type { Store } from '../../store/client.ts'
import { searchCustomer, searchEntities, searchEntitiesByNumber } from '../../store/queries/search.ts'
import { traceWindow } from '../../store/queries/traces.ts'
import { isoFromNanos, lookback, query, wholeNumber } from '../params.ts'
import { type ApiEnv, policy, scoped } from '../policy.ts'

const TRACE_ID = /^[0-9a-f]{32}$/i
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/

/** One box for an order, return, shipment, SKU or trace id. */
export function searchRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
  privacy: Redactor,
) {
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
      "Ids that start with `q`, exact matches first (in capitals when `q` as typed finds none); a bare number finds the ids ending in it (`1042`: SO-1042); a 32-hex-digit `q` also finds the trace; an e-mail finds the customer's orders and returns by its keyed hash.",
    responses: { 200: { description: 'Matches, best first' } },
  })
  /**
   * Ids as typed; else in capitals (ids are upper case, people type "so-1042"); else, for a bare
   * number, the ids that end in it ("1042" for SO-1042).
   */
  const searchIds = async (q: string, since: Date, limit: number) => {
    const asTyped = await searchEntities(store, entityTypes, q, since, limit)
    if (asTyped.length > 0) return asTyped
    const upper = q.toUpperCase()
    const capitals = upper === q ? [] : await searchEntities(store, entityTypes, upper, since, limit)
    if (capitals.length > 0 || !/^[0-9]+$/.test(q)) return capitals
    return searchEntitiesByNumber(store, entityTypes, q, since, limit)
  }
  // Entities and the trace found are narrowed to what the caller's scope sees.
  const declared = policy({ role: 'support', scope: 'narrowed' })
  return new Hono<ApiEnv>().get('/search', describe, declared, query(schema), async (c) => {
    const { q, limit } = c.req.valid('query')
    const visible = scoped(c)
    const results: Array<{ kind: string; id: string; lastSeen: string; items?: number }> = []
    if (TRACE_ID.test(q)) {
      const window = await traceWindow(store, q.toLowerCase())
      if (window && (await visible.traceIds([q.toLowerCase()])).size === 1)
        results.push({
          kind: 'trace',
          id: q.toLowerCase(),
          lastSeen: isoFromNanos(window.end),
          items: window.spanCount,
        })
    }
    const since = lookback(config).from
    // A scoped search looks further to fill its page with what the scope sees.
    const read = visible.readRows(limit, 500)
    // An e-mail is looked up by its keyed hash: Signalbox never stored the address itself.
    const found = EMAIL.test(q)
      ? await searchCustomer(store, privacy.hash(q), since, read)
      : await searchIds(q, since, read)
    const matches = await visible.keepEntities(found, (m) => [{ type: m.entity_type, id: m.entity_id }])
    for (const m of matches) {
      results.push({
        kind: m.entity_type,
        id: m.entity_id,
        lastSeen: new Date(Number(m.last_ms)).toISOString(),
        items: Number(m.items),
      })
    }
    return c.json({ q, results: results.slice(0, limit) })
  })
}
