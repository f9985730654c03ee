import { Hono } from 'hono'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { inventoryEvents } from '../../store/queries/inventory.ts'
import { inventoryView } from '../inventory.ts'
import { lookback, params, query } from '../params.ts'

/** `GET /inventory/:sku?location=`: stock at the source of truth and as each channel was told it. */
export function inventoryRoutes(store: Store, config: Pick<Config, 'query'>) {
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
    const now = Date.now()
    const { from, to } = lookback(config, now)
    const rows = await inventoryEvents(store, id, location, from, to)
    if (rows.length === 0)
      throw new NotFoundError(`no stock events for SKU ${id}${location ? ` at ${location}` : ''}`)
    const locations = [...new Set(rows.map((r) => r.location))].sort()
    return c.json({ sku: id, locations: locations.map((l) => inventoryView(l, rows, now)) })
  })
}
