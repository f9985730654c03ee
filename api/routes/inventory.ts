import { Hono } from 'hono'
import { z } from 'zod'
import type { Config } from '../../core/config.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Store } from '../../store/client.ts'
import { inventoryEvents } from '../../store/queries/inventory.ts'
import { inventoryView } from '../inventory.ts'
import { lookback, parseQuery } from '../params.ts'

/** `GET /inventory/:sku?location=`: stock at the source of truth and as each channel was told it. */
export function inventoryRoutes(store: Store, config: Pick<Config, 'query'>) {
  const schema = z.object({ location: z.string().min(1).max(200).optional() })
  const sku = z.string().min(1).max(200)
  return new Hono().get('/inventory/:sku', async (c) => {
    const { location } = parseQuery(schema, c.req.query())
    const id = parseQuery(z.object({ sku }), { sku: c.req.param('sku') }).sku
    const now = Date.now()
    const { from, to } = lookback(config, now)
    const rows = await inventoryEvents(store, id, location, from, to)
    if (rows.length === 0)
      throw new NotFoundError(`no stock events for SKU ${id}${location ? ` at ${location}` : ''}`)
    const locations = [...new Set(rows.map((r) => r.location))].sort()
    return c.json({ sku: id, locations: locations.map((l) => inventoryView(l, rows, now)) })
  })
}
