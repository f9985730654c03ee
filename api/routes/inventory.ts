import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import { scopeOf } from '../../auth/middleware.ts'
import { OutOfScopeError, within } from '../../auth/scope.ts'
import type { Config } from '../../core/config.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { FlowDefinition } from '../../core/flows.ts'
import type { Store } from '../../store/client.ts'
import { inventoryEvents } from '../../store/queries/inventory.ts'
import { inventoryView } from '../inventory.ts'
import { lookback, params, query } from '../params.ts'

/** `GET /inventory/:sku?location=`: stock at the source of truth and as each channel was told it. */
export function inventoryRoutes(
  store: Store,
  flows: ReadonlyMap<string, FlowDefinition>,
  config: Pick<Config, 'query'>,
) {
  const skuFlows = [...flows.values()].filter((f) => f.entity === 'sku').map((f) => f.name)
  const schema = z.object({ location: z.string().min(1).max(200).optional().describe('One location only') })
  const skuParams = z.object({ sku: z.string().min(1).max(200) })
  const describe = describeRoute({
    tags: ['inventory'],
    summary: 'Stock at the source of truth and as each channel was told it',
    description:
      'Per location: stock changes, reservations, what each channel was last told and when, the publication lag of the latest change, drift per channel and oversell risk.',
    responses: { 200: { description: 'The SKU per location' }, 404: { description: 'No stock events' } },
  })
  return new Hono().get('/inventory/:sku', describe, params(skuParams), query(schema), async (c) => {
    const { location } = c.req.valid('query')
    const id = c.req.valid('param').sku
    const scope = scopeOf(c.req.raw)
    if (scope.flows && !skuFlows.some((f) => within(scope.flows, f)))
      throw new OutOfScopeError(`no flow of SKUs (${skuFlows.join(', ')}) is within this token's scope`)
    const now = Date.now()
    const { from, to } = lookback(config, now)
    const rows = await inventoryEvents(store, id, location, from, to)
    if (rows.length === 0)
      throw new NotFoundError(`no stock events for SKU ${id}${location ? ` at ${location}` : ''}`)
    const locations = [...new Set(rows.map((r) => r.location))].sort()
    // A token scoped to channels sees what those channels were told, and the source of truth.
    const views = locations.map((l) => inventoryView(l, rows, now))
    return c.json({
      sku: id,
      locations: views.map((v) => ({
        ...v,
        channels: v.channels.filter((ch) => within(scope.channels, ch.channel)),
      })),
    })
  })
}
